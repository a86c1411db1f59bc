"""Predictions as JSON: one object per record, NaN as null, NumPy scalars as plain numbers."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..predictor import Predictor


def answers(predictor: Predictor, predicted: pd.DataFrame) -> list[dict[str, Any]]:
    """[{"prediction": ..., "probabilities": {...}?}] in the order of the request's records."""
    task = predictor.task
    if task.type == "classification":
        labels = [_plain(v) for v in predicted["prediction"].tolist()]
        columns = [f"proba_{c}" for c in predictor.target.classes]
        proba = predicted[columns].to_numpy(dtype=float)
        keys = [str(c) for c in predictor.target.classes]
        return [{"prediction": label, "probabilities": dict(zip(keys, map(float, row)))}
                for label, row in zip(labels, proba)]
    columns = [c for c in predicted.columns if c == "prediction" or c.startswith("prediction_")]
    values = predicted[columns].to_numpy(dtype=float)
    if values.shape[1] == 1:
        return [{"prediction": _finite(v)} for v in values[:, 0]]
    return [{"prediction": [_finite(v) for v in row]} for row in values]


def _finite(value: float) -> float | None:
    # a forecast row without `lookback` rows of history has no prediction: null, not NaN
    return float(value) if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
