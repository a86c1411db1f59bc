"""Preprocessor for networks: normalize auto, missing-value indicators, embedded categories,
cyclic date parts; fitted on train only, JSON round trips, and states of older bundles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import QuantileTransformer, RobustScaler

from layerwise.data import Preprocessor, split
from layerwise.data.transforms import column_width
from layerwise.errors import DataError


def table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "income": rng.lognormal(3, 1.5, n),  # skewed: quantile
            "age": rng.normal(40, 10, n),  # symmetric: robust, clipped
            "rooms": rng.integers(1, 6, n).astype(float),  # few values: never quantile
            "color": rng.choice(["red", "green", "blue"], n),  # one-hot
            "city": [f"city{i}" for i in rng.integers(0, 40, n)],  # beyond max_onehot: embedded
            "flag": rng.choice([True, False], n),
            "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
        }
    )
    df.loc[[2, 7], "income"] = np.nan
    df.loc[[4], "city"] = None
    df.loc[[9], "when"] = pd.NaT
    return df


KINDS = {
    "income": "numeric",
    "age": "numeric",
    "rooms": "numeric",
    "color": "categorical",
    "city": "categorical",
    "flag": "boolean",
    "when": "datetime",
}


def fitted(df: pd.DataFrame | None = None, **options) -> Preprocessor:
    options = {"normalize": "auto", "embed": True, "missing_indicators": True, "max_onehot": 5, **options}
    return Preprocessor(KINDS, **options).fit(table() if df is None else df)


def test_a_skewed_column_is_quantile_transformed_and_a_symmetric_one_robustly_scaled():
    x = load_breast_cancer(as_frame=True).data[["area error", "mean texture"]]  # skewness 5.4 and 0.65
    pre = Preprocessor({c: "numeric" for c in x.columns}, normalize="auto").fit(x)
    assert pre.columns["area error"]["method"] == "quantile"
    assert pre.columns["mean texture"]["method"] == "robust_clip"
    out = pre.transform(x).astype(np.float64)
    # oracles: scikit-learn's quantile transform (equal inside the training range, where its
    # extreme-value convention does not reach) and its robust scaler
    normal = QuantileTransformer(n_quantiles=256, output_distribution="normal").fit_transform(x[["area error"]])[:, 0]
    inside = np.abs(normal) < 2.5
    np.testing.assert_allclose(out[inside, 0], normal[inside], atol=0.02)
    z = RobustScaler().fit_transform(x[["mean texture"]])[:, 0] * 1.349
    np.testing.assert_allclose(out[:, 1], z / np.sqrt(1 + (z / 3) ** 2), rtol=1e-6, atol=1e-6)
    assert np.abs(out).max() <= 5


def test_few_distinct_values_are_never_quantile_transformed_and_ties_share_one_output():
    rng = np.random.default_rng(1)
    few = pd.DataFrame({"x": rng.choice([0.0, 1.0, 2.0, 50.0], 300, p=[0.7, 0.2, 0.09, 0.01])})
    assert abs(pd.Series(few["x"]).skew()) > 2
    assert Preprocessor({"x": "numeric"}, normalize="auto").fit(few).columns["x"]["method"] == "robust_clip"
    # skewed, with 60% zeros: the zeros are tied quantiles and must all map to one value
    tied = pd.DataFrame({"x": np.where(rng.random(500) < 0.6, 0.0, rng.lognormal(0, 1.5, 500))})
    pre = Preprocessor({"x": "numeric"}, normalize="auto").fit(tied)
    state = pre.columns["x"]
    assert state["method"] == "quantile" and np.all(np.diff(state["quantiles"]) > 0)
    out = pre.transform(tied)[:, 0]
    assert len(set(out[tied["x"].to_numpy() == 0])) == 1
    order = np.argsort(tied["x"].to_numpy(), kind="stable")
    assert np.all(np.diff(out[order]) >= 0)  # the transform keeps the order


def test_bounded_methods_take_huge_values_and_impute_inf():
    pre = fitted()
    row = table().head(3).copy()
    row["income"] = [1e300, -1e300, np.inf]
    row["age"] = [1e300, -np.inf, 40.0]
    out = pre.transform(row)
    names = pre.feature_names
    income, age = out[:, names.index("income")], out[:, names.index("age")]
    assert np.isfinite(out).all() and np.abs(income).max() <= 5 and np.abs(age).max() <= 3
    assert income[0] > income[2] > income[1]  # 1e300 beyond the top, inf imputed at the median
    assert out[:, names.index("income.missing")].tolist() == [0, 0, 1]  # inf counts as missing
    assert age[1] == pytest.approx(pre.transform(table().head(3).assign(age=np.nan))[1, names.index("age")])
    # a linear scaling still refuses a value that overflows float32 once scaled
    linear = fitted(normalize="standard")
    with pytest.raises(DataError, match="data row 1, column 'income': 1e\\+300 is too large"):
        linear.transform(row)


def test_missing_indicators_only_for_columns_missing_in_training():
    df = table()
    pre = fitted(df)
    names = pre.feature_names
    assert [n for n in names if n.endswith(".missing")] == ["income.missing", "when.missing"]
    out = pre.transform(df)
    np.testing.assert_array_equal(out[:, names.index("income.missing")], df["income"].isna().to_numpy())
    np.testing.assert_array_equal(out[:, names.index("when.missing")], df["when"].isna().to_numpy())
    # a value missing at prediction in a column without an indicator is imputed, nothing added
    new = df.head(2).assign(age=[np.nan, 30.0])
    assert pre.transform(new).shape == (2, len(names))
    assert pre.transform(new)[0, names.index("age")] == pytest.approx(
        pre.transform(df.head(1).assign(age=pre.columns["age"]["fill"]))[0, names.index("age")]
    )
    assert not any(n.endswith(".missing") for n in fitted(df, missing_indicators=False).feature_names)


def test_an_all_missing_column_is_filled_and_flagged():
    df = table().assign(income=np.nan, city=None)
    pre = fitted(df, encode="embed")
    out = pre.transform(df)
    names = pre.feature_names
    assert np.isfinite(out).all()
    assert set(out[:, names.index("income")]) == {0.0} and set(out[:, names.index("income.missing")]) == {1.0}
    assert set(out[:, names.index("city")]) == {0.0}  # embedded: missing is code 0
    assert pre.table_layout["categories"][1] == {"name": "city", "cardinality": 1}  # the fill, __missing__


def test_embedded_categories_follow_the_dense_columns_with_codes_from_one():
    df = table()
    pre = fitted(df)
    layout = pre.table_layout
    city = pre.columns["city"]
    assert city["encoding"] == "embed" and pre.columns["color"]["encoding"] == "onehot"
    assert layout["categories"] == [{"name": "city", "cardinality": len(city["categories"])}]
    names = pre.feature_names
    assert names[-1] == "city" and len(names) == layout["dense"] + 1
    assert [names[i] for i in layout["numeric"]] == ["income", "age", "rooms"]
    out = pre.transform(df)
    codes = out[:, -1]
    expected = [0.0 if pd.isna(v) else city["categories"].index(v) + 1.0 for v in df["city"]]
    assert codes.tolist() == expected  # sorted training categories 1..K, a missing value 0
    assert out.shape[1] == sum(column_width(state) for state in pre.columns.values())
    assert pre.positions["city"] == [layout["dense"]]
    assert pre.layout["dense"] == out.shape[1]  # a text model's dense part: everything before the texts
    assert pre.input_schema() == Preprocessor(KINDS, max_onehot=5).fit(df).input_schema()  # unchanged
    # encode embed embeds every category column, embed implied
    every = Preprocessor(KINDS, encode="embed", max_onehot=5).fit(df)
    assert [c["name"] for c in every.table_layout["categories"]] == ["color", "city"]
    assert every.feature_names[-2:] == ["color", "city"]


def test_unseen_embedded_categories_are_code_zero_and_counted():
    df = table()
    pre = fitted(df)
    new = df.head(3).assign(city=["atlantis", "city1", "nowhere"], color=["purple", "red", "red"])
    out = pre.transform(new)
    known = pre.columns["city"]["categories"].index("city1") + 1
    assert out[:, -1].tolist() == [0.0, known, 0.0]
    assert pre.last_unknown == {"city": 2, "color": 1}
    pre.unseen = "error"
    with pytest.raises(DataError, match="column 'city': 2 value\\(s\\) not seen in training: 'atlantis'"):
        pre.transform(new)
    pre.unseen = "warn"
    x, counts = pre.transform(new, count_unseen=True)
    assert counts.tolist() == [2, 0, 1] and pre.unseen_total == {"color": 1, "city": 2}


def test_one_row_records_path_gives_the_same_numbers_as_transform():
    df = table().drop(columns="when")
    kinds = {k: v for k, v in KINDS.items() if k != "when"}
    pre = Preprocessor(kinds, normalize="auto", embed=True, missing_indicators=True, max_onehot=5).fit(df)
    assert {s.get("method") for s in pre.columns.values() if s["kind"] == "numeric"} == {"quantile", "robust_clip"}
    records = [
        {"income": 12.5, "age": 41.0, "rooms": 2.0, "color": "red", "city": "city3", "flag": True},
        {"income": None, "age": 1e300, "rooms": None, "color": None, "city": None, "flag": None},
        {"income": 1e5, "age": -3.0, "rooms": 9.0, "color": "purple", "city": "atlantis", "flag": False},
    ]
    pre.unseen = "warn"
    plain, counts = pre.transform_records(records, count_unseen=True)
    frame = pd.DataFrame.from_records(records, columns=list(kinds))
    general, general_counts = pre.transform(frame, count_unseen=True)
    np.testing.assert_array_equal(plain, general)
    np.testing.assert_array_equal(counts, general_counts)


def test_dates_become_year_and_cycles_with_december_beside_january():
    days = pd.DataFrame({"d": pd.to_datetime(["2020-12-31", "2021-01-01", "2021-06-15", "2021-03-02"])})
    pre = Preprocessor({"d": "datetime"}, normalize="auto").fit(days)
    names = pre.feature_names
    assert names == ["d.year"] + [f"d.{c}_{f}" for c in ("month", "dayofweek", "day") for f in ("sin", "cos")]
    out = pre.transform(days).astype(np.float64)
    month_and_day = out[:, [1, 2, 5, 6]]  # December 31 and January 1 are one step apart in both
    near = np.linalg.norm(month_and_day[0] - month_and_day[1])
    assert near < 0.6 and near < np.linalg.norm(month_and_day[0] - month_and_day[2]) / 3
    assert np.allclose(out[:, 1] ** 2 + out[:, 2] ** 2, 1)  # each cycle on the unit circle
    # a time of day in the training values adds the hour
    timed = pd.DataFrame({"d": pd.to_datetime(["2021-01-01 23:30", "2021-01-02 00:15", "2021-01-02 12:00"])})
    hourly = Preprocessor({"d": "datetime"}).fit(timed)
    assert hourly.feature_names[-2:] == ["d.hour_sin", "d.hour_cos"]
    hours = hourly.transform(timed)[:, -2:].astype(np.float64)
    assert np.linalg.norm(hours[0] - hours[1]) < np.linalg.norm(hours[0] - hours[2]) / 4


def test_every_rule_is_fitted_on_the_training_rows_only():
    df = table(200)
    parts = split(len(df), seed=2)
    held_out = np.concatenate([parts.val, parts.test])
    changed = df.copy()
    changed.loc[held_out, "income"] = np.nan  # would flag an indicator on other columns...
    changed.loc[held_out, "age"] = 1e6  # ...skew the symmetric column...
    changed.loc[held_out, "city"] = "never-seen"  # ...add a category...
    changed.loc[held_out, "when"] = pd.Timestamp("2031-05-05 13:45")  # ...a time of day and a year
    changed.loc[held_out, "rooms"] = np.nan  # ...and an indicator for a column with none
    train = df.iloc[parts.train]
    assert not train["rooms"].isna().any()
    a = fitted(train).to_dict()
    b = fitted(changed.iloc[parts.train]).to_dict()
    assert json.dumps(a) == json.dumps(b)


def test_state_is_json_and_round_trips_bit_identically():
    df = table()
    pre = fitted(df)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(df), pre.transform(df))
    assert again.feature_names == pre.feature_names and again.table_layout == pre.table_layout
    assert again.to_dict() == pre.to_dict()
    assert again.fill_row().shape == (pre.transform(df).shape[1],)


# Written by the Preprocessor before normalize auto, indicators, embeddings and cyclic dates
# (max_onehot 2), with what it transformed the frame below into.
OLD_STATE = {
    "kinds": {"num": "numeric", "color": "categorical", "flag": "boolean", "day": "datetime"},
    "normalize": "standard",
    "encode": "auto",
    "max_onehot": 2,
    "impute_numeric": "median",
    "impute_categorical": "most_frequent",
    "decimal": ".",
    "text": {},
    "columns": {
        "num": {"kind": "numeric", "fill": 3.25, "center": 4.5, "scale": 3.29772648956823},
        "color": {"kind": "categorical", "fill": "red", "categories": ["blue", "green", "red"], "encoding": "ordinal"},
        "flag": {"kind": "boolean", "fill": 1.0},
        "day": {
            "kind": "datetime",
            "parts": {
                "year": {"fill": 2021.0, "center": 2021.0, "scale": 0.7071067811865476},
                "month": {"fill": 5.0, "center": 5.75, "scale": 4.205650960315181},
                "day": {"fill": 9.5, "center": 12.75, "scale": 11.755317945508747},
                "dayofweek": {"fill": 3.5, "center": 3.5, "scale": 0.5},
            },
        },
    },
}
OLD_OUTPUT = [
    [-0.9097176790237427, 1.0, 1.0, 0.0, -0.6538821458816528, -0.7443439960479736, -1.0],
    [-0.37904903292655945, 0.0, 0.0, -1.4142135381698608, 1.4860957860946655, 1.5524888038635254, -1.0],
    [-0.15161961317062378, 1.0, 1.0, 0.0, -0.17833149433135986, -0.2764706313610077, 0.0],
    [1.6678156852722168, 1.0, 1.0, 1.4142135381698608, 0.2972191572189331, 0.19140273332595825, 1.0],
    [-0.6064784526824951, 0.5, 0.0, 0.0, -1.1294327974319458, -0.9995476007461548, 1.0],
]


def test_a_state_written_before_these_rules_loads_and_transforms_as_it_did():
    df = pd.DataFrame(
        {
            "num": [1.5, np.nan, 4.0, 10.0, 2.5],
            "color": ["red", "blue", None, "red", "green"],
            "flag": [True, False, True, None, False],
            "day": pd.to_datetime(["2021-03-04", "2020-12-31", None, "2022-07-15", "2021-01-01"]),
        }
    )
    pre = Preprocessor.from_dict(json.loads(json.dumps(OLD_STATE)))
    assert pre.transform(df).tolist() == OLD_OUTPUT
    assert pre.feature_names == ["num", "color", "flag", "day.year", "day.month", "day.day", "day.dayofweek"]
    assert pre.table_layout == {"dense": 7, "numeric": [0], "categories": []}
    assert pre.to_dict()["columns"] == OLD_STATE["columns"]
