"""The server's array path gives exactly what Predictor.predict gives, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import layerwise
from layerwise.serving.answers import answers, predict_rows


def _plain(frame: pd.DataFrame) -> list[dict]:
    """Records as a validated request holds them: floats, bools, str, None for missing."""
    return [
        {k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _with_gaps(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    frame = frame.astype(object)
    holes = rng.random(frame.shape) < 0.15
    return frame.mask(holes, None)


def test_classifier_rows_match_predict_one_and_many(iris_bundle, iris_data, rng):
    predictor = layerwise.load(iris_bundle)
    inputs = _with_gaps(iris_data.drop(columns=["target"]), rng)
    expected = answers(predictor, predictor.predict(inputs))
    rows = _plain(inputs)
    assert predict_rows(predictor, rows) == expected  # the whole batch
    # one at a time, against one-row frames: BLAS may round a batch of 1 differently from 150
    for i in range(40):
        assert predict_rows(predictor, [rows[i]]) == answers(predictor, predictor.predict(inputs.iloc[[i]]))
    assert predictor.features.transform_records(rows).tobytes() == predictor.features.transform(inputs).tobytes()


def test_regressor_rows_match_predict(diabetes_bundle, rng):
    predictor = layerwise.load(diabetes_bundle)
    inputs = _with_gaps(load_diabetes(as_frame=True).frame.drop(columns=["target"]).iloc[:80], rng)
    expected = answers(predictor, predictor.predict(inputs))
    assert predict_rows(predictor, _plain(inputs)) == expected


def test_a_missing_column_is_still_named(iris_bundle):
    predictor = layerwise.load(iris_bundle)
    with pytest.raises(layerwise.DataError, match="wide"):
        predictor.features.transform_records([{"size": "small"}])


def test_values_of_the_wrong_type_take_the_general_path_and_are_named(iris_bundle, iris_data):
    predictor = layerwise.load(iris_bundle)
    row = _plain(iris_data.drop(columns=["target"]).iloc[:1])[0]
    with pytest.raises(layerwise.DataError, match="sepal length"):
        predictor.features.transform_records([{**row, "sepal length (cm)": "five"}])
    with pytest.raises(layerwise.DataError, match="wide"):
        predictor.features.transform_records([{**row, "wide": "perhaps"}])
