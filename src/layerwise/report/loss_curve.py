"""LossCurveDisplay: training and validation loss per epoch, the learning rate, the best epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .figure import new_axes


class LossCurveDisplay:
    """Plot the loss curves of a training run (the Trainer's `history`)."""

    def __init__(
        self,
        epochs: Sequence[int],
        train_loss: Sequence[float],
        val_loss: Sequence[float] | None = None,
        lr: Sequence[float] | None = None,
        best_epoch: int | None = None,
    ):
        self.epochs = np.asarray(epochs)
        self.train_loss = np.asarray(train_loss, dtype=np.float64)
        self.val_loss = None if val_loss is None else np.asarray(val_loss, dtype=np.float64)
        self.lr = None if lr is None else np.asarray(lr, dtype=np.float64)
        self.best_epoch = best_epoch

    @classmethod
    def from_history(
        cls, history: Sequence[dict[str, Any]], *, best_epoch: int | None = None, ax: Axes | None = None
    ) -> LossCurveDisplay:
        def values(key: str) -> list[float]:
            return [np.nan if r.get(key) is None else float(r[key]) for r in history]

        def column(key: str) -> list[float] | None:
            found = values(key)
            return None if all(np.isnan(found)) else found

        # every epoch has a training loss (NaN where it diverged); validation and lr may be absent
        return cls(
            [r["epoch"] for r in history], values("train_loss"), column("val_loss"), column("lr"), best_epoch
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> LossCurveDisplay:
        ax = new_axes(ax)
        ax.plot(self.epochs, self.train_loss, color="#1f77b4", label="training loss")
        if self.val_loss is not None:
            ax.plot(self.epochs, self.val_loss, color="#d62728", label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="#555555", linestyle=":", label=f"best epoch {self.best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if np.nanmin(self.train_loss) > 0 and np.nanmax(self.train_loss) / np.nanmin(self.train_loss) > 20:
            ax.set_yscale("log")  # a loss falling by decades would flatten the end of a linear plot
        handles, labels = ax.get_legend_handles_labels()
        if self.lr is not None and np.nanmax(self.lr) > np.nanmin(self.lr):  # a constant rate is said in words
            lr_ax = ax.twinx()
            lr_ax.plot(self.epochs, self.lr, color="#7f7f7f", linestyle="--", linewidth=1)
            lr_ax.set_ylabel("learning rate", color="#7f7f7f")
            lr_ax.tick_params(axis="y", colors="#7f7f7f")
            handles.append(lr_ax.lines[0])
            labels.append("learning rate (right)")
            self.lr_ax_ = lr_ax
        ax.legend(handles, labels, loc="upper right", fontsize="small")
        ax.set_title("Loss per epoch")
        self.ax_, self.figure_ = ax, ax.figure
        return self
