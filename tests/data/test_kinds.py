"""infer_kinds and target_kind on hand-made columns and on real data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from layerwise.data import infer_kinds, read_table, target_kind
from layerwise.data.kinds import detect_decimal, parse_numbers

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"
N = 40


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "measure": rng.normal(size=N),  # unique per row, but a measurement
            "row": np.arange(N),  # a sequence: an id
            "customer_id": rng.permutation(1000)[:N],  # named like an id
            "code": [f"C{i:04d}X" for i in rng.permutation(N)],  # unique strings
            "review": [f"this product was fine number {i} of many" for i in range(N)],
            "same": ["x"] * N,
            "flag": [True, False] * (N // 2),
            "yes_no": ["yes", "no", "no", "yes"] * (N // 4),
            "when": pd.date_range("2020-01-01", periods=N).astype(str),
            "price_text": [str(v) for v in rng.integers(0, 5, N)],
            "color": ["red", "green", "blue", "red"] * (N // 4),
            "month": ["Mar", "Apr", "May", "Jun"] * (N // 4),
            "count": rng.integers(0, 5, N),
            "empty": [None] * N,
        }
    )


def test_each_kind_is_recognised():
    kinds = infer_kinds(frame())
    assert kinds == {
        "measure": "numeric",
        "row": "id",
        "customer_id": "id",
        "code": "id",
        "review": "text",
        "same": "constant",
        "flag": "boolean",
        "yes_no": "boolean",
        "when": "datetime",
        "price_text": "numeric",
        "color": "categorical",
        "month": "categorical",
        "count": "numeric",
        "empty": "constant",
    }


def test_target_and_time_columns_get_usable_kinds():
    df = frame()
    kinds = infer_kinds(df, target="row", time="when")
    assert kinds["row"] == "numeric" and kinds["when"] == "datetime"
    assert infer_kinds(df, target="code")["code"] == "categorical"


def test_mostly_numeric_text_is_numeric_but_not_below_ninety_percent():
    ok = pd.Series(["1"] * 19 + ["abc"])  # 95% parse
    bad = pd.Series(["1"] * 17 + ["abc"] * 3)  # 85% parse
    kinds = infer_kinds(pd.DataFrame({"ok": ok, "bad": bad}))
    assert kinds == {"ok": "numeric", "bad": "categorical"}


def test_words_that_mean_missing_do_not_count_against_numbers():
    # 40% of the cells say "no value": the numbers are still numbers, not 12 categories
    words = pd.Series([str(v) for v in range(12)] + ["n/a", "unknown", "-", " N/A ", "?", "missing", "--", "null"])
    assert infer_kinds(pd.DataFrame({"w": words}))["w"] == "numeric"
    assert parse_numbers(words).notna().sum() == 12


@pytest.mark.parametrize(
    "text, decimal, expected",
    [
        ("1,234", ".", 1234.0),
        ("1,103.68", ".", 1103.68),
        ("-12,345,678.5", ".", -12345678.5),
        ("1 234.5", ".", 1234.5),
        ("1'234", ".", 1234.0),
        ("1\u202f234", ".", 1234.0),
        ("12.5", ".", 12.5),
        ("1e3", ".", 1000.0),
        ("1,5", ".", np.nan),
        ("1,23,456", ".", np.nan),
        ("2228,66", ".", np.nan),
        ("2228,66", ",", 2228.66),
        ("1.234,5", ",", 1234.5),
        ("1.234", ",", 1234.0),
        ("1 234,5", ",", 1234.5),
        ("-0,5", ",", -0.5),
        ("12", ",", 12.0),
        ("1.5", ",", np.nan),
        ("1,234", ",", 1.234),
    ],
)
def test_numbers_written_as_text_are_read_by_one_rule(text, decimal, expected):
    got = parse_numbers(pd.Series([text]), decimal).iloc[0]
    assert (np.isnan(got) and np.isnan(expected)) or got == expected


def test_distinct_amounts_with_thousands_separators_are_numeric_not_an_id():
    amounts = pd.Series([f"{v:,.2f}" for v in np.linspace(1000, 90000, N)])
    assert infer_kinds(pd.DataFrame({"amount": amounts}))["amount"] == "numeric"
    assert target_kind(amounts) == "continuous"


def test_decimal_commas_are_detected_and_read():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": [f"{v:.2f}".replace(".", ",") for v in rng.uniform(100, 3000, N)],
            "n": rng.integers(0, 9, N),
            "c": ["x", "y"] * (N // 2),
        }
    )
    assert detect_decimal(df) == ","
    assert infer_kinds(df, target="a", decimal=",")["a"] == "numeric"
    assert target_kind(df["a"], decimal=",") == "continuous"
    assert detect_decimal(df.assign(a=rng.normal(size=N))) == "."


def test_btc_columns():
    kinds = infer_kinds(read_table(BTC), target="Close", time="Date")
    assert kinds == {
        "Date": "datetime",
        **{c: "numeric" for c in ["Open", "High", "Low", "Close", "Adj Close", "Volume"]},
    }


@pytest.mark.parametrize(
    ("load", "expected"),
    [(load_breast_cancer, "binary"), (load_iris, "multiclass"), (load_diabetes, "continuous")],
)
def test_target_kind_on_real_data(load, expected):
    data = load(as_frame=True).frame
    assert target_kind(data["target"]) == expected
    assert set(infer_kinds(data, target="target").values()) <= {"numeric", "boolean"}


def test_target_kind_thresholds():
    assert target_kind(pd.Series(["a", "b", "a"])) == "binary"
    assert target_kind(pd.Series(["a", "b", "c"] * 30)) == "multiclass"
    assert target_kind(pd.Series(np.arange(20))) == "multiclass"  # few whole numbers: classes
    # more whole numbers than that are amounts: Ozone's daily maximum in ppb (1 to 38)
    assert target_kind(pd.Series(np.arange(21))) == "continuous"
    assert target_kind(pd.Series(np.arange(30))) == "continuous"
    assert target_kind(pd.Series(np.arange(30) + 0.5)) == "continuous"
    assert target_kind(pd.Series(np.arange(60))) == "continuous"
    assert target_kind(pd.Series([str(v) for v in np.arange(60) + 0.5])) == "continuous"
