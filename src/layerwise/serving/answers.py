"""Predictions as JSON: one object per record, NaN as null, NumPy scalars as plain numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..predictor import Predictor


def answers(predictor: Predictor, predicted: pd.DataFrame) -> list[dict[str, Any]]:
    """[{"prediction": ..., "probabilities": {...}?}] in the order of the request's records."""
    if predictor.task.type == "classification":
        columns = [f"proba_{c}" for c in predictor.target.classes]
        return classes(predictor, predicted["prediction"].tolist(), predicted[columns].to_numpy(dtype=float))
    columns = [c for c in predicted.columns if c == "prediction" or c.startswith("prediction_")]
    return values(predicted[columns].to_numpy(dtype=float))


def predict_rows(predictor: Predictor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`answers(predictor, predictor.predict(frame))` for a classifier or regressor, without DataFrames.

    The same fitted preprocessing, network and decoding as Predictor.predict, on arrays built
    straight from the validated records: a DataFrame costs more than the arithmetic of one row.
    """
    x = predictor.features.transform_records(rows)
    raw = predictor.raw_outputs(x)
    if predictor.task.type == "classification":
        proba = predictor.probabilities(raw)
        return classes(predictor, predictor.target.decode(proba.argmax(axis=1)).tolist(), proba)
    return values(predictor.target.decode(raw).reshape(len(raw), -1))


def classes(predictor: Predictor, labels: list[Any], proba: np.ndarray) -> list[dict[str, Any]]:
    broken = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if broken.size:
        # finite inputs so far from training that the network's float32 arithmetic overflowed
        raise DataError(f"record(s) {broken.tolist()}: the model gives no finite probabilities for these values",
                        hint="the values lie far outside the range the model was trained on; check their units")
    keys = [str(c) for c in predictor.target.classes]
    return [{"prediction": _plain(label), "probabilities": dict(zip(keys, map(float, row)))}
            for label, row in zip(labels, proba)]


def values(predicted: np.ndarray) -> list[dict[str, Any]]:
    predicted = np.asarray(predicted, dtype=float)
    if predicted.shape[1] == 1:
        return [{"prediction": _finite(v)} for v in predicted[:, 0]]
    return [{"prediction": [_finite(v) for v in row]} for row in predicted]


def _finite(value: float) -> float | None:
    # a forecast row without `lookback` rows of history has no prediction: null, not NaN
    return float(value) if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
