"""DifferenceDisplay: the model and the baseline on one metric with their intervals, and the
paired interval of the difference against zero."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..evaluation.metrics import HIGHER_IS_BETTER
from .figure import SIZE


class DifferenceDisplay:
    def __init__(
        self,
        metric: str,
        model: float,
        baseline: float,
        model_ci: list[float],
        baseline_ci: list[float],
        difference_ci: list[float],
        *,
        baseline_name: str = "baseline",
        level: float = 0.95,
    ):
        self.metric, self.model, self.baseline = metric, model, baseline
        self.model_ci, self.baseline_ci, self.difference_ci = model_ci, baseline_ci, difference_ci
        self.baseline_name, self.level = baseline_name, level

    @classmethod
    def from_metrics(
        cls, metrics: dict[str, Any], metric: str | None = None, *, axes: Sequence[Axes] | None = None
    ) -> DifferenceDisplay:
        """From metrics.json's `test`, `baseline` and `ci`; the primary metric by default."""
        metric = metric or metrics["primary_metric"]
        ci, nan = metrics["ci"], [np.nan, np.nan]
        return cls(
            metric,
            metrics["test"][metric],
            metrics["baseline"][metric],
            ci["model"].get(metric, nan),
            ci["baseline"].get(metric, nan),
            ci["difference"].get(metric, nan),
            baseline_name=metrics.get("baseline_name", "baseline"),
            level=ci.get("level", 0.95),
        ).plot(axes)

    def plot(self, axes: Sequence[Axes] | None = None) -> DifferenceDisplay:
        """Two panels: the scores with their intervals, and the difference beside zero."""
        if axes is None:
            figure = Figure(figsize=(SIZE[0], 2.2), layout="constrained")
            axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        scores, diff_ax = axes
        _bar(scores, 1, self.model, self.model_ci, "#1f77b4")
        _bar(scores, 0, self.baseline, self.baseline_ci, "#999999")
        scores.set_yticks([1, 0], ["network", _short(self.baseline_name)])
        scores.set_ylim(-0.6, 1.6)
        scores.set_xlabel(f"test {self.metric}, {self.level:.0%} interval")
        diff = self.model - self.baseline
        _bar(diff_ax, 0, diff, self.difference_ci, "#2ca02c")
        diff_ax.axvline(0, color="black", linewidth=0.8)
        finite = [abs(v) for v in (*self.difference_ci, diff) if np.isfinite(v)]
        span = max(finite) if finite and max(finite) > 0 else 1.0
        diff_ax.set_xlim(-1.3 * span, 1.3 * span)
        diff_ax.set_yticks([])
        diff_ax.set_ylim(-0.6, 0.6)
        better = "right" if HIGHER_IS_BETTER[self.metric] else "left"
        diff_ax.set_xlabel(f"network - baseline\n(better: {better} of 0)")
        for ax in axes:
            ax.grid(axis="x", alpha=0.3)
        self.ax_, self.diff_ax_, self.figure_ = scores, diff_ax, scores.figure
        return self


def _bar(ax: Axes, y: float, value: float, ci: list[float], color: str) -> None:
    lo, hi = ci
    if np.isfinite(lo) and np.isfinite(hi):
        ax.hlines(y, lo, hi, color=color, linewidth=3, alpha=0.6)
    ax.plot([value], [y], "o", color=color, markersize=7)


def _short(name: str) -> str:
    return name.split(" (")[0]
