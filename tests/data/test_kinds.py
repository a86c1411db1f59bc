"""infer_kinds and target_kind on hand-made columns and on real data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from layerwise.data import infer_kinds, read_table, target_kind

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
        "measure": "numeric", "row": "id", "customer_id": "id", "code": "id", "review": "text",
        "same": "constant", "flag": "boolean", "yes_no": "boolean", "when": "datetime",
        "price_text": "numeric", "color": "categorical", "month": "categorical", "count": "numeric",
        "empty": "constant",
    }


def test_target_and_time_columns_get_usable_kinds():
    df = frame()
    kinds = infer_kinds(df, target="row", time="when")
    assert kinds["row"] == "numeric" and kinds["when"] == "datetime"
    assert infer_kinds(df, target="code")["code"] == "categorical"


def test_mostly_numeric_text_is_numeric_but_not_below_ninety_percent():
    ok = pd.Series(["1"] * 19 + ["n/a"])  # 95% parse
    bad = pd.Series(["1"] * 17 + ["n/a"] * 3)  # 85% parse
    kinds = infer_kinds(pd.DataFrame({"ok": ok, "bad": bad}))
    assert kinds == {"ok": "numeric", "bad": "categorical"}


def test_btc_columns():
    kinds = infer_kinds(read_table(BTC), target="Close", time="Date")
    assert kinds == {"Date": "datetime", **{c: "numeric" for c in ["Open", "High", "Low", "Close", "Adj Close", "Volume"]}}


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
    assert target_kind(pd.Series(np.arange(30))) == "multiclass"  # few whole numbers: classes
    assert target_kind(pd.Series(np.arange(30) + 0.5)) == "continuous"
    assert target_kind(pd.Series(np.arange(60))) == "continuous"
    assert target_kind(pd.Series([str(v) for v in np.arange(60) + 0.5])) == "continuous"
