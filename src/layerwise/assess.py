"""Step 8 inside a run: from a trained predictor and its Prepared splits to the evidence.

The evaluation package works on plain arrays; this is the glue that knows where a run keeps
them: the test outputs beside the baseline's, the test predictions table, the champion's
outputs on the same rows, what the leakage audit and the report's data section read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import BundleError
from .evaluation import majority_baseline, mean_baseline, persistence
from .predictor import Predictor
from .prepare import Prepared


def outputs(predictor: Predictor, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Model and baseline outputs on one split: (n, k) probabilities, or values in target units.

    The baseline is fitted on the training split only and predicts the same rows.
    """
    task = prepared.task
    raw = predictor.raw_outputs(prepared.x[part])
    n = len(raw)
    if task.type == "classification":
        return predictor.probabilities(raw), majority_baseline(prepared.actual["train"], task.n_classes, n)
    if task.type == "forecast":
        return predictor.decode(raw, prepared.last[part]), persistence(prepared.last[part], task.horizon)
    return predictor.decode(raw), mean_baseline(prepared.actual["train"], n)


def per_step(actual: np.ndarray, model_out: np.ndarray, baseline_out: np.ndarray) -> dict[str, list[float]]:
    """Forecast MAE and RMSE at each step ahead (1..horizon), network and baseline: errors grow with the step."""
    out: dict[str, list[float]] = {}
    for name, pred in (("", model_out), ("baseline_", baseline_out)):
        error = np.asarray(pred, dtype=np.float64) - np.asarray(actual, dtype=np.float64)   # (n, horizon)
        out[f"{name}mae"] = np.abs(error).mean(axis=0).tolist()
        out[f"{name}rmse"] = np.sqrt((error**2).mean(axis=0)).tolist()
    return out


def baseline_fit(prepared: Prepared) -> dict[str, Any]:
    """What the baseline learned from the training split, saved so a bundle can be re-judged on new data."""
    task, train = prepared.task, prepared.actual["train"]
    if task.type == "classification":
        return {"priors": majority_baseline(train, task.n_classes, 1)[0].tolist()}
    if task.type == "forecast":
        return {}  # persistence learns nothing
    return {"mean": mean_baseline(train, 1)[0].tolist()}


def predictions_frame(prepared: Prepared, df: pd.DataFrame, model_out: np.ndarray,
                      baseline_out: np.ndarray) -> pd.DataFrame:
    """The test split as a table: time (if any), actual, prediction, baseline; class probabilities.

    Forecasts are stamped with the time of their first forecast step; horizons over one get
    `_1.._h` columns.
    """
    task = prepared.task
    out = pd.DataFrame()
    if task.time is not None:
        rows = prepared.index["test"]
        if task.type == "forecast":
            rows = rows[prepared.ends["test"] + 1]
        out[task.time] = df[task.time].iloc[rows].to_numpy()
    if task.type == "classification":
        decode = prepared.target.decode
        out["actual"] = decode(prepared.actual["test"])
        out["prediction"] = decode(model_out.argmax(axis=1))
        out["baseline"] = decode(baseline_out.argmax(axis=1))
        for j, label in enumerate(task.classes):
            out[f"proba_{label}"] = model_out[:, j]
        return out
    actual = prepared.actual["test"].reshape(len(model_out), -1)
    model, base = model_out.reshape(len(model_out), -1), baseline_out.reshape(len(model_out), -1)
    width = actual.shape[1]
    for name, values in (("actual", actual), ("prediction", model), ("baseline", base)):
        for k in range(width):
            out[name if width == 1 else f"{name}_{k + 1}"] = values[:, k]
    return out


def champion_outputs(champion: Predictor, prepared: Prepared, df: pd.DataFrame, path: str) -> np.ndarray:
    """A champion bundle's outputs on the same test rows, shaped like the challenger's."""
    task = prepared.task
    if champion.task.type != task.type or champion.task.target != task.target:
        raise BundleError(f"evaluate.gates.compare_to: {path} predicts {champion.task.target!r} "
                          f"({champion.task.type}), this run {task.target!r} ({task.type})")
    if task.type == "forecast":
        if champion.task.horizon != task.horizon:
            raise BundleError(f"evaluate.gates.compare_to: {path} forecasts {champion.task.horizon} steps, "
                              f"this run {task.horizon}")
        # Forecasting from every row of the whole table: the champion reads only each window's past.
        pred = champion.predict(df, source=path)
        rows = prepared.index["test"][prepared.ends["test"]]
        cols = ["prediction"] if task.horizon == 1 else [f"prediction_{k + 1}" for k in range(task.horizon)]
        return pred[cols].iloc[rows].to_numpy(dtype=np.float64)
    pred = champion.predict(df.iloc[prepared.index["test"]], source=path)
    if task.type == "classification":
        cols = [f"proba_{label}" for label in task.classes]
        missing = [c for c in cols if c not in pred.columns]
        if missing:
            raise BundleError(f"evaluate.gates.compare_to: {path} does not know the classes of {missing}")
        return pred[cols].to_numpy(dtype=np.float64)
    cols = [c for c in pred.columns if c == "prediction" or c.startswith("prediction_")]
    return pred[cols].to_numpy(dtype=np.float64)


def data_summary(prepared: Prepared, df: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    """What the report's data section shows: feature kinds, and class balance or the target's spread."""
    task = prepared.task
    target = df[task.target]
    summary: dict[str, Any] = {"kinds": {c: k for c, k in kinds.items() if c != task.target or task.type == "forecast"}}
    parts = {name: target.iloc[idx] for name, idx in prepared.index.items()}
    if task.type == "classification":
        summary["classes"] = {name: {str(k): int(v) for k, v in part.value_counts().sort_index().items()}
                              for name, part in parts.items()}
        return summary
    values = pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64)
    edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
    summary["target"] = {name: _describe(part) for name, part in parts.items()}
    summary["histogram"] = {"edges": edges.tolist(),
                            "counts": {name: np.histogram(part.to_numpy(dtype=np.float64), edges)[0].tolist()
                                       for name, part in parts.items()}}
    return summary


def subset(prepared: Prepared, rows: np.ndarray) -> Prepared:
    """The same splits with the training split cut to `rows` (positions within it)."""
    from dataclasses import replace

    def cut(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**d, "train": d["train"][rows]} if "train" in d else d

    return replace(prepared, x=cut(prepared.x), y=cut(prepared.y), actual=cut(prepared.actual),
                   last=cut(prepared.last), rows={**prepared.rows, "train": len(rows)})


def _describe(values: pd.Series) -> dict[str, float]:
    v = pd.to_numeric(values, errors="coerce")
    return {"count": int(v.notna().sum()), "mean": float(v.mean()), "std": float(v.std()),
            "min": float(v.min()), "median": float(v.median()), "max": float(v.max())}
