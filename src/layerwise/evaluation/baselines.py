"""Naive baselines, fitted on the training split and scored on the same test rows as the model.

A network earns its keep only by beating these: a constant fitted on the training split
(regression: the median when the deciding metric is MAE or MAPE, the mean otherwise), the
majority class (classification), and persistence, "tomorrow = today", or, for a series with a
known season, seasonal naive, "next Monday = last Monday" (forecasting).
"""

from __future__ import annotations

import numpy as np

# Each metric beside the constant that is best for it: absolute errors are smallest at the
# median, squared errors (RMSE, and R², which is 1 - MSE / variance) at the mean. Judged on
# MAE beside the mean, a network beats a constant nobody would pick: on a skewed target the
# mean is the easier one to beat. (MAPE's own best constant is a median weighted by 1/|y|;
# the plain median is the usual, simpler stand-in and much closer to it than the mean.)
MEDIAN_METRICS = frozenset({"mae", "mape"})


def constant_kind(metric: str) -> str:
    """'median' or 'mean': the regression baseline for the deciding `metric`."""
    return "median" if metric in MEDIAN_METRICS else "mean"


def mean_baseline(y_train: np.ndarray, n: int) -> np.ndarray:
    """Predict the training mean of each output for `n` rows: (n, outputs)."""
    y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    return constant(y_train.mean(axis=0), n)


def median_baseline(y_train: np.ndarray, n: int) -> np.ndarray:
    """Predict the training median of each output for `n` rows: (n, outputs)."""
    y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    return constant(np.median(y_train, axis=0), n)


def constant(values: np.ndarray | list[float], n: int) -> np.ndarray:
    """`values` (one per output, as a baseline_fit holds them) repeated for `n` rows: (n, outputs)."""
    return np.repeat(np.asarray(values, dtype=np.float64).reshape(1, -1), n, axis=0)


def majority_baseline(y_train: np.ndarray, n_classes: int, n: int) -> np.ndarray:
    """Class probabilities (n, k) equal to the training class shares.

    The arg-max is the majority class, so accuracy is the majority rule's; the
    probabilities are the priors, so log loss is the best a model without inputs can do.
    """
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes).astype(np.float64)
    return np.repeat((counts / counts.sum())[None, :], n, axis=0)


def persistence(last: np.ndarray, horizon: int) -> np.ndarray:
    """Forecast the last observed value for every step ahead: (n, horizon)."""
    return np.repeat(np.asarray(last, dtype=np.float64)[:, None], horizon, axis=1)


def seasonal_naive(recent: np.ndarray, horizon: int) -> np.ndarray:
    """Forecast each step ahead by the value one season before it: (n, horizon).

    `recent` (n, season) holds each window's last `season` observed values, oldest first. Step
    k (1..horizon) repeats recent[:, (k - 1) % season]: with daily rows and season 7, next
    Monday is last Monday, and a horizon longer than the season repeats the last season again.
    """
    recent = np.asarray(recent, dtype=np.float64)
    season = recent.shape[1]
    return recent[:, np.arange(horizon) % season]


def seasonal_name(season: int) -> str:
    """The name a seasonal-naive baseline goes by in metrics.json and the summary."""
    return f"seasonal naive ('as {season} rows before')"
