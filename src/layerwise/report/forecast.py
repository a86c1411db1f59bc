"""ForecastDisplay: actual and forecast over the test period, beside persistence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from numpy.typing import ArrayLike

from .figure import new_axes


class ForecastDisplay:
    """Plot a forecast against the actual series and the persistence baseline.

    `kind="values"` draws the three series; `kind="error"` their rolling mean absolute error,
    which shows where in the test period the model gains or loses against persistence.
    """

    def __init__(
        self,
        time: Sequence | np.ndarray | pd.Series,
        actual: ArrayLike,
        prediction: ArrayLike,
        baseline: ArrayLike | None = None,
        *,
        baseline_name: str = "persistence",
    ):
        self.time = np.asarray(pd.to_datetime(pd.Series(time), errors="coerce")) if _is_time(time) else np.asarray(time)
        self.actual = np.asarray(actual, dtype=np.float64)
        self.prediction = np.asarray(prediction, dtype=np.float64)
        self.baseline = None if baseline is None else np.asarray(baseline, dtype=np.float64)
        self.baseline_name = baseline_name

    @classmethod
    def from_predictions(
        cls,
        time,
        actual,
        prediction,
        baseline=None,
        *,
        kind: str = "values",
        window: int | None = None,
        ax: Axes | None = None,
    ) -> ForecastDisplay:
        return cls(time, actual, prediction, baseline).plot(kind=kind, window=window, ax=ax)

    def plot(self, *, kind: str = "values", window: int | None = None, ax: Axes | None = None) -> ForecastDisplay:
        ax = new_axes(ax)
        if kind == "values":
            ax.plot(self.time, self.actual, color="black", linewidth=1.2, label="actual")
            if self.baseline is not None:
                ax.plot(self.time, self.baseline, color="#999999", linewidth=1, label=self.baseline_name)
            ax.plot(self.time, self.prediction, color="#1f77b4", linewidth=1, label="network")
            ax.set_ylabel("value")
            ax.set_title("Test period: actual and forecast")
        elif kind == "error":
            window = window or max(1, len(self.actual) // 20)
            err = pd.Series(np.abs(self.prediction - self.actual)).rolling(window, min_periods=1).mean()
            ax.plot(self.time, err, color="#1f77b4", label="network")
            if self.baseline is not None:
                base = pd.Series(np.abs(self.baseline - self.actual)).rolling(window, min_periods=1).mean()
                ax.plot(self.time, base, color="#999999", label=self.baseline_name)
            ax.set_ylabel(f"absolute error, rolling mean of {window}")
            ax.set_title("Test period: forecast error over time")
        else:
            raise ValueError(f"kind must be 'values' or 'error', got {kind!r}")
        ax.legend(loc="upper left", fontsize="small")
        if np.issubdtype(self.time.dtype, np.datetime64):
            locator = AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _is_time(values) -> bool:
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series):
        return False
    return bool(pd.to_datetime(series, errors="coerce").notna().all())
