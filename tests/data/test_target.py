"""TargetEncoder: class codes and standardized values, decoded back; unknown labels; JSON state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from layerwise.data import TargetEncoder, split
from layerwise.errors import DataError


def test_classification_codes_round_trip():
    y = load_iris(as_frame=True).frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    enc = TargetEncoder("classification").fit(y)
    assert enc.classes == ["setosa", "versicolor", "virginica"]
    codes = enc.encode(y)
    assert codes.dtype == np.int64 and enc.decode(codes).tolist() == y.tolist()


def test_integer_labels_are_plain_python_values():
    enc = TargetEncoder("classification").fit(pd.Series(np.array([2, 0, 1, 2])))
    assert enc.classes == [0, 1, 2] and all(type(c) is int for c in enc.classes)
    assert json.dumps(enc.to_dict())


def test_unknown_label_is_named():
    enc = TargetEncoder("classification").fit(pd.Series(["cat", "dog"]))
    with pytest.raises(DataError, match="data row 2 holds the label 'cow'.*"):
        enc.encode(pd.Series(["cat", "cow"]))


def test_regression_is_standardized_and_decoded():
    y = load_diabetes(as_frame=True).frame["target"]
    enc = TargetEncoder("regression").fit(y)
    z = enc.encode(y)
    assert z.dtype == np.float32 and abs(z.mean()) < 1e-5 and z.std() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(enc.decode(z), y, rtol=1e-6)
    raw = TargetEncoder("regression", normalize=False).fit(y)
    np.testing.assert_allclose(raw.encode(y), y)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_json_round_trip_and_fit_ignores_held_out_rows(task):
    y = load_diabetes(as_frame=True).frame["target"]
    if task == "classification":
        y = (y > 140).map({True: "high", False: "low"})
    parts = split(len(y), seed=3)
    enc = TargetEncoder(task).fit(y.iloc[parts.train])
    again = TargetEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(again.encode(y), enc.encode(y))
    changed = y.copy()
    changed.iloc[parts.test] = "low" if task == "classification" else 1e9
    assert TargetEncoder(task).fit(changed.iloc[parts.train]).to_dict() == enc.to_dict()
