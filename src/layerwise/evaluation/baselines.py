"""Naive baselines, fitted on the training split and scored on the same test rows as the model.

A network earns its keep only by beating these: the training mean (regression), the
majority class (classification), and persistence, "tomorrow = today" (forecasting).
"""

from __future__ import annotations

import numpy as np


def mean_baseline(y_train: np.ndarray, n: int) -> np.ndarray:
    """Predict the training mean of each output for `n` rows: (n, outputs)."""
    y_train = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    return np.repeat(y_train.mean(axis=0, keepdims=True), n, axis=0)


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
