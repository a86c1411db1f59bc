"""DataCurveDisplay: the validation score against the training-set size, with the fitted trend."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from ..evaluation.data_curve import DataCurve, fit_trend
from .figure import new_axes


class DataCurveDisplay:
    def __init__(self, curve: DataCurve):
        self.curve = curve

    @classmethod
    def from_curve(cls, curve: DataCurve | dict[str, Any], *, ax: Axes | None = None) -> DataCurveDisplay:
        if isinstance(curve, dict):
            curve = fit_trend(curve["sizes"], curve["scores"], metric=curve["metric"], fractions=curve.get("fractions"))
        return cls(curve).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> DataCurveDisplay:
        ax = new_axes(ax)
        c = self.curve
        ax.plot(c.sizes, c.scores, "o", color="#1f77b4", label="validation score")
        if np.isfinite(c.slope):
            grid = np.geomspace(min(c.sizes), max(c.sizes) * 2, 50)
            ax.plot(grid, c.trend(grid), "--", color="#555555", label=f"trend: {c.slope:+.3g} per doubling")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training rows")
        ax.set_ylabel(f"validation {c.metric}")
        ax.set_title("Score against training-set size")
        ax.legend(loc="best", fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self
