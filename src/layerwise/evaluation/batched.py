"""The test metrics of metrics.py over many resamples at once, for the bootstrap.

Each function takes `y_true` and a prediction with a leading resample axis, (B, n, ...),
and returns (B,) scores. They agree with scikit-learn's on every resample (the tests check
it); scikit-learn itself would need one call per resample and metric, a thousand times over.
Generation's take each example's summed losses and target count instead, (B, n).
A score that is undefined on a resample (R² of a constant target, ROC AUC with one class) is NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Batched = Callable[[np.ndarray, np.ndarray], np.ndarray]


# -- regression: y_true (B, n, outputs), y_pred (B, n, outputs) --------------------------------
def mae(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.abs(y - p).mean(axis=(1, 2))


def rmse(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    # scikit-learn's RMSE over several outputs: each output's RMSE, then their mean
    return np.sqrt(((y - p) ** 2).mean(axis=1)).mean(axis=1)


def r2(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    sse = ((y - p) ** 2).sum(axis=1)  # (B, outputs)
    sst = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)  # (B, outputs)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_output = np.where(sst > 0, 1 - sse / sst, np.nan)
    return per_output.mean(axis=1)  # uniform average over outputs, as scikit-learn


def mape(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    eps = np.finfo(np.float64).eps  # scikit-learn's guard against a zero target
    return (np.abs(y - p) / np.maximum(np.abs(y), eps)).mean(axis=(1, 2))


# -- classification: y_true (B, n) codes, proba (B, n, k) ---------------------------------------
def accuracy(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    return (proba.argmax(axis=2) == y).mean(axis=1)


def balanced_accuracy(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    k = proba.shape[2]
    pred = proba.argmax(axis=2)
    truth = y[..., None] == np.arange(k)  # (B, n, k)
    hits = (truth & (pred[..., None] == np.arange(k))).sum(axis=1)  # (B, k) true positives
    support = truth.sum(axis=1)  # (B, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)  # absent classes do not count
    return np.nanmean(recall, axis=1)


def f1_macro(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    k = proba.shape[2]
    truth = y[..., None] == np.arange(k)
    guess = proba.argmax(axis=2)[..., None] == np.arange(k)
    tp = (truth & guess).sum(axis=1)
    denominator = truth.sum(axis=1) + guess.sum(axis=1)  # 2tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)  # zero_division=0
    return f1.mean(axis=1)


def log_loss(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    proba = np.clip(proba, 1e-15, 1.0)
    proba = proba / proba.sum(axis=2, keepdims=True)
    picked = np.take_along_axis(proba, y[..., None], axis=2)[..., 0]
    return -np.log(picked).mean(axis=1)


def roc_auc(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Binary ROC AUC as the Mann-Whitney statistic, ties counted half (as scikit-learn)."""
    ranks = average_ranks(proba[..., 1])
    positive = y == 1
    n_pos = positive.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    rank_sum = (ranks * positive).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def average_ranks(score: np.ndarray) -> np.ndarray:
    """Each row's ranks from 1, tied values sharing their mean rank (scipy.stats.rankdata's "average",
    whose import alone takes most of a second): (B, n) -> (B, n)."""
    order = np.argsort(score, axis=1, kind="stable")
    ordered = np.take_along_axis(score, order, axis=1)
    n = ordered.shape[1]
    position = np.broadcast_to(np.arange(n), ordered.shape)
    starts = np.ones(ordered.shape, dtype=bool)  # where a run of equal values begins
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(ordered.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


# -- generation: y_true (B, n) targets per example, losses (B, n) summed per example -------------
# The ratio of the sums over the resampled examples, as the test figure is over all of them.
def cross_entropy(counts: np.ndarray, losses: np.ndarray) -> np.ndarray:
    denominator = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, losses.sum(axis=1) / denominator, np.nan)


def perplexity(counts: np.ndarray, losses: np.ndarray) -> np.ndarray:
    return np.exp(cross_entropy(counts, losses))


def bits_per_char(counts: np.ndarray, losses: np.ndarray) -> np.ndarray:
    return cross_entropy(counts, losses) / np.log(2)


BATCHED: dict[str, Batched] = {
    "mae": mae,
    "rmse": rmse,
    "r2": r2,
    "mape": mape,
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "f1_macro": f1_macro,
    "log_loss": log_loss,
    "roc_auc": roc_auc,
    "cross_entropy": cross_entropy,
    "perplexity": perplexity,
    "bits_per_char": bits_per_char,
}
