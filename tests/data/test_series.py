"""SeriesTransform: the model target relative to the last value, inverses, train-only state, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.data import SeriesTransform, clean, read_table, split
from layerwise.errors import ConfigError, DataError

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"


@pytest.fixture(scope="module")
def btc():
    df, kinds, _ = clean(read_table(BTC), target="Close", task="forecast", time="Date")
    return df, ["Close", *kinds], split(len(df), method="time", gap=40)


def test_targets_follow_the_formulas():
    df = pd.DataFrame({"y": [1.0, 2.0, 4.0, 8.0, 16.0]})
    actual, last = np.array([[4.0, 8.0]]), np.array([2.0])
    expected = {"none": [4.0, 8.0], "diff": [2.0, 6.0], "log_return": [np.log(2), np.log(4)]}
    for name, values in expected.items():
        series = SeriesTransform(["y"], "y", transform=name, normalize="none").fit(df)
        np.testing.assert_allclose(series.target_to_model(actual, last), [values])
        np.testing.assert_allclose(series.target_from_model(series.target_to_model(actual, last), last), actual)


def test_inputs_are_transformed_along_time_and_start_with_no_change():
    df = pd.DataFrame({"x": [1.0, 2.0, 4.0, 7.0], "y": [1.0, 1.0, 2.0, 2.0]})
    diff = SeriesTransform(["x"], "y", transform="diff", normalize="none").fit(df)
    inputs, raw = diff.transform(df)
    assert inputs[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0] and raw.tolist() == [1, 1, 2, 2]
    logs = SeriesTransform(["x"], "y", transform="log_return", normalize="none").fit(df)
    np.testing.assert_allclose(logs.transform(df)[0][:, 0], [0, np.log(2), np.log(2), np.log(7 / 4)])


def test_missing_inputs_are_filled_within_the_part_and_counted():
    df = pd.DataFrame({"x": [np.nan, 2.0, np.nan, 4.0], "y": [1.0, 2.0, 3.0, 4.0]})
    series = SeriesTransform(["x"], "y", normalize="none").fit(df)
    assert series.transform(df)[0][:, 0].tolist() == [2.0, 2.0, 2.0, 4.0]
    assert series.last_filled == {"x": 2}


@pytest.mark.parametrize("transform", ["none", "diff", "log_return"])
def test_state_ignores_test_period_and_round_trips_json(btc, transform):
    df, columns, parts = btc
    series = SeriesTransform(columns, "Close", transform=transform, normalize="robust").fit(df.iloc[parts.train])
    changed = df.copy()
    changed.loc[np.concatenate([parts.val, parts.test]), columns] = 123.0
    refit = SeriesTransform(columns, "Close", transform=transform, normalize="robust").fit(changed.iloc[parts.train])
    assert refit.to_dict() == series.to_dict()
    again = SeriesTransform.from_dict(json.loads(json.dumps(series.to_dict())))
    test_part = df.iloc[parts.test]
    for a, b in zip(again.transform(test_part), series.transform(test_part)):
        np.testing.assert_array_equal(a, b)
    w, v = again.windows(test_part, 10, 3), series.windows(test_part, 10, 3)
    np.testing.assert_array_equal(w.y, v.y)


def test_training_inputs_are_standardized(btc):
    df, columns, parts = btc
    series = SeriesTransform(columns, "Close", transform="log_return").fit(df.iloc[parts.train])
    inputs, _ = series.transform(df.iloc[parts.train])
    np.testing.assert_allclose(inputs[1:].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(inputs[1:].std(axis=0), 1, atol=1e-9)


def test_log_return_of_a_non_positive_value_names_column_and_row():
    df = pd.DataFrame({"Date": pd.date_range("2024-01-01", periods=4), "v": [1.0, 3.0, 0.0, 2.0], "y": [1.0, 2, 3, 4]})
    with pytest.raises(
        DataError, match="(?s)column 'v' holds 0 at row 3 of this part \\(Date 2024-01-03.*data.transform: diff"
    ):
        SeriesTransform(["v"], "y", transform="log_return").fit(df)


def test_text_input_and_unknown_transform():
    df = pd.DataFrame({"v": ["1", "x"], "y": [1.0, 2.0]})
    with pytest.raises(DataError, match="forecasting input 'v' must hold numbers, but row 2 of this part holds 'x'"):
        SeriesTransform(["v"], "y").fit(df)
    with pytest.raises(ConfigError, match="did you mean 'log_return'"):
        SeriesTransform(["v"], "y", transform="logreturn")


def test_target_conversions_before_fit_name_the_method():
    transform = SeriesTransform(["x"], "y", transform="diff")
    with pytest.raises(RuntimeError, match=r"^SeriesTransform.target_to_model called before fit$"):
        transform.target_to_model(np.ones((2, 1)), np.ones(2))
    with pytest.raises(RuntimeError, match=r"^SeriesTransform.target_from_model called before fit$"):
        transform.target_from_model(np.ones((2, 1)), np.ones(2))
