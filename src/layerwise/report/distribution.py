"""TargetDisplay: class balance or the target's distribution, per split."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from .figure import new_axes

COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}


class TargetDisplay:
    """Class shares per split (classification), or the target's histogram per split."""

    def __init__(self, summary: dict[str, Any]):
        self.summary = summary

    @classmethod
    def from_summary(cls, summary: dict[str, Any], *, ax: Axes | None = None) -> TargetDisplay:
        """From metrics.json's `data` section."""
        return cls(summary).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> TargetDisplay:
        ax = new_axes(ax)
        if "classes" in self.summary:
            self._bars(ax, self.summary["classes"])
        else:
            self._histogram(ax, self.summary["histogram"])
        ax.legend(fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _bars(self, ax: Axes, classes: dict[str, dict[str, int]]) -> None:
        labels = sorted({c for counts in classes.values() for c in counts}, key=str)
        width = 0.8 / max(1, len(classes))
        for i, (split, counts) in enumerate(classes.items()):
            total = sum(counts.values()) or 1
            shares = [counts.get(c, 0) / total for c in labels]
            ax.bar(np.arange(len(labels)) + i * width, shares, width, label=split, color=COLORS.get(split))
        ax.set_xticks(np.arange(len(labels)) + width * (len(classes) - 1) / 2, labels)
        ax.set_ylabel("share of rows")
        ax.set_title("Class balance per split")

    def _histogram(self, ax: Axes, histogram: dict[str, Any]) -> None:
        edges = np.asarray(histogram["edges"])
        for split, counts in histogram["counts"].items():
            counts = np.asarray(counts, dtype=np.float64)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            ax.stairs(density, edges, label=split, color=COLORS.get(split), linewidth=1.5)
        ax.set_ylabel("density")
        ax.set_xlabel("target")
        ax.set_title("Target distribution per split")
