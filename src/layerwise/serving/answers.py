"""Predictions as JSON: one object per record, NaN as null, NumPy scalars as plain numbers.

Under the `warn` policy for unseen categories each answer also says how many of its record's
values the training split never held (`unseen`), as `layerwise predict` adds an `unseen` column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..bundle.predictor import Predictor
from ..errors import DataError


def answers(predictor: Predictor, predicted: pd.DataFrame) -> list[dict[str, Any]]:
    """[{"prediction": ..., "probabilities": {...}?, "unseen": n?}] in the order of the request's records."""
    if predictor.task.classes:  # a classifier: its classes' probabilities beside each label
        columns = [f"proba_{c}" for c in _target_classes(predictor)]
        out = classes(predictor, predicted["prediction"].tolist(), predicted[columns].to_numpy(dtype=float))
    else:
        columns = [c for c in predicted.columns if c == "prediction" or c.startswith("prediction_")]
        out = values(predicted[columns].to_numpy(dtype=float))
    return counted(out, predicted["unseen"].to_numpy() if "unseen" in predicted.columns else None)


def predict_rows(predictor: Predictor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`answers(predictor, predictor.predict(frame))` for a classifier or regressor, without DataFrames.

    The same fitted preprocessing, network and decoding as Predictor.predict, on arrays built
    straight from the validated records: a DataFrame costs more than the arithmetic of one row.
    """
    # the caller sends rows here only for a bundle of rows: a fitted table preprocessor and target encoder
    assert predictor.features is not None and predictor.target is not None
    x, unseen = predictor.features.transform_records(rows, count_unseen=True)
    raw = predictor.raw_outputs(x)
    if predictor.task.classes:
        proba = predictor.probabilities(raw)
        out = classes(predictor, predictor.target.decode(proba.argmax(axis=1)).tolist(), proba)
    else:
        decoded = predictor.target.decode(raw).reshape(len(raw), -1)
        out = values(finite(decoded))
    return counted(out, unseen if predictor.unseen == "warn" else None)


def counted(out: list[dict[str, Any]], unseen: np.ndarray | None) -> list[dict[str, Any]]:
    """`out` with each answer's count of unseen category values, when there is one to give."""
    if unseen is not None:
        for answer, count in zip(out, unseen):
            answer["unseen"] = int(count)
    return out


def classes(predictor: Predictor, labels: list[Any], proba: np.ndarray) -> list[dict[str, Any]]:
    finite(proba)
    keys = [str(c) for c in _target_classes(predictor)]
    return [
        {"prediction": _plain(label), "probabilities": dict(zip(keys, map(float, row)))}
        for label, row in zip(labels, proba)
    ]


def finite(predicted: np.ndarray) -> np.ndarray:
    """`predicted`, refused where a record's prediction is not finite (a forecast's rows without
    history are not checked here: they have no prediction, and answer null)."""
    broken = np.flatnonzero(~np.isfinite(predicted.reshape(len(predicted), -1)).all(axis=1))
    if broken.size:
        # finite inputs so far from training that the network's float32 arithmetic overflowed
        raise DataError(
            f"record(s) {broken.tolist()}: the model gives no finite prediction for these values",
            hint="the values lie far outside the range the model was trained on; check their units",
        )
    return predicted


def values(predicted: np.ndarray) -> list[dict[str, Any]]:
    predicted = np.asarray(predicted, dtype=float)
    if predicted.shape[1] == 1:
        return [{"prediction": _finite(v)} for v in predicted[:, 0]]
    return [{"prediction": [_finite(v) for v in row]} for row in predicted]


def _finite(value: float) -> float | None:
    # a forecast row without `lookback` rows of history has no prediction: null, not NaN
    return float(value) if math.isfinite(value) else None


def _target_classes(predictor: Predictor) -> list[Any]:
    """The classes a classifier's target encoder was fitted on, in its output order."""
    # every classifier bundle holds a fitted target encoder: fitting sets its classes
    assert predictor.target is not None and predictor.target.classes is not None
    return predictor.target.classes


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
