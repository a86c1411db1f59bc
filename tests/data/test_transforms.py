"""Preprocessor: scaling checked against scikit-learn, encoding, unseen values, errors, JSON state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from layerwise.data import Preprocessor, split
from layerwise.errors import ConfigError, DataError, UsageError

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def mixed(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "num": rng.normal(5, 2, n),
            "color": rng.choice(["red", "green", "blue"], n),
            "city": [f"city{i}" for i in rng.integers(0, 30, n)],
            "flag": rng.choice([True, False], n),
            "day": pd.date_range("2021-01-01", periods=n, freq="37h"),
        }
    )
    df.loc[[3, 11], "num"] = np.nan
    df.loc[[5], "color"] = None
    return df


KINDS = {"num": "numeric", "color": "categorical", "city": "categorical", "flag": "boolean", "day": "datetime"}


@pytest.mark.parametrize("normalize", list(SCALERS))
def test_numeric_scaling_matches_scikit_learn(normalize):
    x = load_diabetes(as_frame=True).data
    pre = Preprocessor({c: "numeric" for c in x.columns}, normalize=normalize).fit(x)
    expected = SCALERS[normalize]().fit_transform(x)
    np.testing.assert_allclose(pre.transform(x), expected, rtol=1e-5, atol=1e-6)
    assert pre.transform(x).dtype == np.float32


def test_encoding_imputation_and_names():
    df = mixed()
    pre = Preprocessor(KINDS, max_onehot=5).fit(df)
    out = pre.transform(df)
    names = pre.feature_names
    assert names[:4] == ["num", "color=blue", "color=green", "color=red"]
    cycles = [f"day.{c}_{f}" for c in ("month", "dayofweek", "day", "hour") for f in ("sin", "cos")]
    assert names[4:] == ["city", "flag", "day.year", *cycles]  # every 37 hours: a time of day, so an hour cycle
    assert out.shape == (60, len(names))
    median = (np.nanmedian(df["num"]) - np.nanmean(df["num"])) / np.nanstd(df["num"])
    assert out[3, 0] == pytest.approx(median, rel=1e-5)  # missing -> training median, scaled
    assert out[:, 1:4].sum(axis=1).tolist() == [1.0] * 60
    assert 0 <= out[:, 4].min() and out[:, 4].max() == 1  # ordinal codes (30 > max_onehot)
    assert set(out[:, 5]) == {0.0, 1.0}


def test_unseen_categories_are_counted_and_zero_or_reserved():
    df = mixed()
    pre = Preprocessor(KINDS, max_onehot=5).fit(df)
    new = df.head(3).assign(color=["purple", "red", "purple"], city=["atlantis", "city1", "city2"])
    out = pre.transform(new)
    assert pre.last_unknown == {"color": 2, "city": 1}
    assert out[0, 1:4].tolist() == [0, 0, 0] and out[0, 4] == -1.0
    pre.transform(df)
    assert pre.last_unknown == {}


def test_missing_category_strategy_adds_a_category():
    pre = Preprocessor({"color": "categorical"}, impute_categorical="missing").fit(mixed())
    assert pre.input_schema()["color"]["categories"] == ["__missing__", "blue", "green", "red"]


def test_constant_column_does_not_divide_by_zero():
    df = pd.DataFrame({"c": [3.0] * 5})
    for normalize in SCALERS:
        assert Preprocessor({"c": "numeric"}, normalize=normalize).fit(df).transform(df).tolist() == [[0.0]] * 5


def test_state_is_json_and_round_trips_exactly():
    df = mixed()
    pre = Preprocessor(KINDS, normalize="robust", max_onehot=5).fit(df)
    state = json.loads(json.dumps(pre.to_dict()))
    again = Preprocessor.from_dict(state)
    np.testing.assert_array_equal(again.transform(df), pre.transform(df))
    assert again.feature_names == pre.feature_names and again.input_schema() == pre.input_schema()
    assert pre.input_schema()["day"] == {"kind": "datetime", "dtype": "datetime"}


def test_fit_ignores_rows_outside_the_training_split():
    df = mixed(80)
    parts = split(len(df), seed=1)
    changed = df.copy()
    held_out = np.concatenate([parts.val, parts.test])
    changed.loc[held_out, "num"] = 1e6
    changed.loc[held_out, "color"] = "never-seen"
    first = Preprocessor(KINDS).fit(df.iloc[parts.train]).to_dict()
    second = Preprocessor(KINDS).fit(changed.iloc[parts.train]).to_dict()
    assert first == second


def test_missing_column_names_it_and_the_expected_columns():
    pre = Preprocessor(KINDS).fit(mixed())
    with pytest.raises(
        DataError,
        match="(?s)new.csv: missing column 'color' \\(did you mean 'colour'\\?\\).*expects the columns: num, color",
    ):
        pre.transform(mixed().rename(columns={"color": "colour"}), source="new.csv")


def test_text_in_a_numeric_column_names_row_and_value():
    pre = Preprocessor(KINDS).fit(mixed())
    bad = mixed().astype({"num": object})
    bad.loc[4, "num"] = "12kg"
    with pytest.raises(DataError, match="new.csv: column 'num' must hold numbers, but data row 5 holds '12kg'"):
        pre.transform(bad, source="new.csv")


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="data.encode: unknown value 'one-hot' \\(did you mean 'onehot'"):
        Preprocessor({"a": "numeric"}, encode="one-hot").fit(pd.DataFrame({"a": [1.0]}))


def cities() -> Preprocessor:
    df = pd.DataFrame({"x": np.arange(30.0), "city": ["Lima", "Oslo", "Pune"] * 10})
    return Preprocessor({"x": "numeric", "city": "categorical"}).fit(df)


def test_unseen_categories_follow_the_policy():
    new = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "city": ["Paris", "oslo", "Paris", "Oslo"]})
    pre = cities()
    assert pre.unseen is None and pre.transform(new).shape == (4, 4)  # training and evaluation: counted only
    assert pre.last_unknown == {"city": 3}
    pre.unseen = "error"
    with pytest.raises(
        DataError,
        match=r"new.csv: column 'city': 3 value\(s\) not seen in training: "
        r"'Paris' \(data rows 1, 3\), 'oslo' \(data row 2; did you mean 'Oslo'\?\)",
    ):
        pre.transform(new, source="new.csv")
    pre.unseen = "warn"
    x, counts = pre.transform(new, count_unseen=True)
    assert counts.tolist() == [1, 1, 1, 0] and x[0, 1:].tolist() == [0, 0, 0]
    x, counts = pre.transform_records(new.to_dict("records"), count_unseen=True)
    assert counts.tolist() == [1, 1, 1, 0]
    assert pre.unseen_total == {"city": 6} and pre.describe_unseen() == "city: 6 ('Paris', 'oslo')"
    with pytest.raises(UsageError, match="--unseen 'ignore'"):
        pre.unseen = "ignore"


def test_numbers_as_text_are_read_with_the_training_decimal_mark():
    df = pd.DataFrame({"x": np.arange(30.0) * 100})
    pre = Preprocessor({"x": "numeric"}, decimal=",").fit(df)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert again.decimal == ","
    older = {k: v for k, v in pre.to_dict().items() if k != "decimal"}  # a bundle from before data.decimal
    assert Preprocessor.from_dict(older).decimal == "."
    text = pd.DataFrame({"x": ["1.234,5", "1234,5", "unknown", None]})
    out = again.transform(text)
    assert out[0, 0] == out[1, 0] and out[2, 0] == out[3, 0]  # the words that mean missing are filled
    with pytest.raises(DataError, match="must hold numbers with a decimal comma, but data row 1 holds '1.5'"):
        again.transform(pd.DataFrame({"x": ["1.5"]}))


def test_a_value_too_large_once_scaled_names_its_row_and_column():
    pre = cities()
    with pytest.raises(DataError, match=r"p.csv: data row 2, column 'x': 1e\+300 is too large for the model"):
        pre.transform(pd.DataFrame({"x": [1.0, 1e300], "city": ["Lima", "Oslo"]}), source="p.csv")
    with pytest.raises(DataError, match=r"request: data row 1, column 'x'"):
        pre.transform_records([{"x": 1e300, "city": "Lima"}])
