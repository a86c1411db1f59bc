"""Callbacks: code that runs around the Trainer's loop without changing it.

Four hooks, no-ops by default, each given the trainer; the built-ins (early stopping,
checkpoints, progress, the run log, TensorBoard) use nothing else. A callback with state
that must survive a resume returns it from `state_dict` (tensors allowed). Epochs are numbered from 1.
`logs` is the epoch's history row: {"epoch", "train_loss", "val_loss",
"val_metric", "lr", "seconds"}, with None for what was not measured.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .trainer import Trainer


class Callback:
    """Subclass and override the hooks you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        pass

    def on_fit_end(self, trainer: Trainer) -> None:
        """Also called when fit raises, so displays close and best weights come back."""

    def state_dict(self) -> dict:
        """What a checkpoint must keep of this callback; {} for none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when validation loss has not improved by `min_delta` for `patience` epochs,
    and restore the weights of the best epoch when fit ends."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.wait = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best_loss, self.best_state, self.wait = math.inf, None, 0

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        loss = logs.get("val_loss")
        if loss is None or not math.isfinite(loss):
            return
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.wait = loss, 0
            trainer.best_epoch = epoch
            # a CPU copy: device memory stays free for training, and later steps
            # cannot overwrite it in place
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in trainer.module.state_dict().items()
            }
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop = True

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.best_state is not None:
            trainer.module.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best_loss": self.best_loss, "wait": self.wait, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.best_loss, self.wait, self.best_state = state["best_loss"], state["wait"], state["best_state"]


class Checkpoint(Callback):
    """Save the full training state every `every` epochs (0: never at epoch ends; the
    trainer still saves on SIGTERM / SIGINT). Added by the Trainer when it has a folder."""

    def __init__(self, every: int = 1):
        self.every = every

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        last = epoch == trainer.last_epoch or trainer.stop
        if self.every and (epoch % self.every == 0 or last):
            trainer.save_checkpoint()


class ProgressBar(Callback):
    """A rich progress bar (epoch n/N, losses, ETA) on a terminal; silent otherwise."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._progress = None
        self._task = None

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.quiet or not sys.stdout.isatty():
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[losses]}"),
            TimeRemainingColumn(),
            transient=False,
            # drawn at epoch ends only: rich's default redraws 10 times a second from a thread
            # of its own, which takes the GIL from the training loop for nothing new to show
            auto_refresh=False,
        )
        self._task = self._progress.add_task("fit", total=trainer.epochs, losses="")
        self._progress.start()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self._progress is None:
            return
        losses = f"train {logs['train_loss']:.4g}"
        if logs.get("val_loss") is not None:
            losses += f"  val {logs['val_loss']:.4g}"
        self._progress.update(self._task, completed=epoch, losses=losses, refresh=True)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class EpochLog(Callback):
    """Write one line per epoch, e.g. to a run.log:
    `epoch 3/10 train_loss 0.1234 val_loss 0.2345 val_metric 0.91 lr 0.001 seconds 1.20`."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        parts = [f"epoch {epoch}/{trainer.epochs}"]
        for key in ("train_loss", "val_loss", "val_metric", "lr"):
            if logs.get(key) is not None:
                parts.append(f"{key} {logs[key]:.6g}")
        parts.append(f"seconds {logs['seconds']:.2f}")
        self.write(" ".join(parts))
