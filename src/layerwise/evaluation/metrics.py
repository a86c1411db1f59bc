"""Test-set metrics (step 8) on plain arrays, in NumPy as scikit-learn computes them (the tests compare)."""

from __future__ import annotations

import numpy as np

from .batched import BATCHED

# Which way is better for each metric; the primary metric decides "beats the baseline".
HIGHER_IS_BETTER = {
    "mae": False,
    "rmse": False,
    "r2": True,
    "mape": False,
    "accuracy": True,
    "balanced_accuracy": True,
    "f1_macro": True,
    "log_loss": False,
    "roc_auc": True,
    "cross_entropy": False,
    "perplexity": False,
    "bits_per_char": False,  # generation, per character
}
DEFAULT_PRIMARY = {"regression": "mae", "forecast": "mae", "classification": "accuracy", "generation": "cross_entropy"}
# The metrics each kind of table computes on its test split (and may decide, gate or tune on).
TASK_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"),
    "regression": ("mae", "rmse", "r2", "mape"),
    "forecast": ("mae", "rmse", "r2", "mape"),
}
# Generation's, per character of the test examples (decide and gate; no validation metric to tune on).
GENERATION_METRICS = ("cross_entropy", "perplexity", "bits_per_char")


def resolve(task: str, *choices: str) -> str:
    """The first of `choices` that is not "auto" (e.g. train.metric, then evaluate.metric),
    else the task's default deciding metric."""
    return next((c for c in choices if c != "auto"), DEFAULT_PRIMARY[task])


def why_unavailable(
    metric: str, task: str, *, classes: int | None = None, values: np.ndarray | None = None
) -> str | None:
    """Why `metric` cannot be computed for `task` on this data, or None when it can.

    `classes`: how many classes a classification target has; `values`: the target's values
    (regression, forecast), where MAPE is undefined if they take zero or change sign.
    """
    known = GENERATION_METRICS if task == "generation" else TASK_METRICS.get(task, ())
    if metric not in known:
        return f"is not a {task} metric; choose one of {list(known)}"
    if metric == "roc_auc" and classes is not None and classes != 2:
        return (
            f"needs two classes and this target has {classes}; choose accuracy, balanced_accuracy, f1_macro or log_loss"
        )
    if metric == "mape" and values is not None:
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if finite.size and finite.min() <= 0 <= finite.max():
            return (
                "is undefined: the target takes zero or changes sign, where a percentage error "
                "divides by zero; choose mae, rmse or r2"
            )
    return None


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[dict[str, float], list[str]]:
    """MAE, RMSE, R² and MAPE over every output; MAPE is skipped when the target crosses zero.

    Several outputs (a forecast's steps ahead) are averaged as scikit-learn does
    (multioutput="uniform_average"): each step's score, then their mean. For MAE and MAPE that is
    the mean over every value; RMSE is the mean of the steps' RMSEs (the mean of metrics.json's
    per_step rmse), not the root of the pooled mean squared error, which weighs the far steps'
    larger errors more. Returns the metrics and notes explaining any metric left out.
    """
    # NumPy, as scikit-learn computes them (tested against it): importing sklearn.metrics (and scipy)
    # would take a small run's second
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)  # (n, outputs)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    error = y_true - y_pred
    out = {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean(axis=0)).mean()),
        "r2": _r2(y_true, error) if len(y_true) > 1 else float("nan"),
    }
    notes = []
    if y_true.min() <= 0 <= y_true.max():
        notes.append("MAPE skipped: the target takes zero or changes sign, where a percentage error is undefined")
    else:
        out["mape"] = float((np.abs(error) / np.maximum(np.abs(y_true), np.finfo(np.float64).eps)).mean())
    return out, notes


def _r2(y_true: np.ndarray, error: np.ndarray) -> float:
    """R² per output, averaged; an output whose target is constant scores 1 when predicted exactly,
    else 0 (scikit-learn's force_finite)."""
    sse = (error**2).sum(axis=0)
    sst = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(sst > 0, 1 - sse / sst, np.where(sse == 0, 1.0, 0.0))
    return float(scores.mean())


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> tuple[dict[str, float], list[str]]:
    """Accuracy, balanced accuracy, macro F1, log loss, and ROC AUC for two classes.

    `y_true` holds class codes 0..k-1; `proba` is (n, k) class probabilities. NumPy, the bootstrap's
    metrics (batched.py) on one sample, as scikit-learn computes them (tested against it): macro F1
    over all k classes (a class neither present nor predicted scores 0), balanced accuracy over the
    classes present, ROC AUC with ties counted half.
    """
    y_true = np.asarray(y_true, dtype=np.int64)[None]  # (1, n): one "resample", the test split itself
    # Probabilities renormalised in float64: float32 softmax rows may sum to 1 ± 1e-7.
    proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1.0)
    proba = (proba / proba.sum(axis=1, keepdims=True))[None]  # (1, n, k)
    names = ("accuracy", "balanced_accuracy", "f1_macro", "log_loss")
    out = {name: float(BATCHED[name](y_true, proba)[0]) for name in names}
    notes = []
    if proba.shape[2] == 2:
        if len(np.unique(y_true)) == 2:
            out["roc_auc"] = float(BATCHED["roc_auc"](y_true, proba)[0])
        else:
            notes.append("ROC AUC skipped: the test split holds only one class")
    return out, notes


def per_char(losses: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood per predicted token (characters and the end mark), in nats."""
    count = int((np.asarray(targets) != 0).sum())
    return float(np.asarray(losses, dtype=np.float64).sum() / max(count, 1))


def generation_metrics(losses: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Cross-entropy (nats per character), perplexity and bits per character.

    `losses` holds each target token's negative log-likelihood and `targets` the token ids,
    both (n, steps), with 0 at padding (target 0) in both.
    """
    ce = per_char(losses, targets)
    return {"cross_entropy": ce, "perplexity": float(np.exp(ce)), "bits_per_char": ce / float(np.log(2))}


def better(metric: str, a: float, b: float) -> bool:
    """True when score `a` is strictly better than score `b` on `metric`."""
    if np.isnan(a):
        return False
    if np.isnan(b):
        return True
    return a > b if HIGHER_IS_BETTER[metric] else a < b
