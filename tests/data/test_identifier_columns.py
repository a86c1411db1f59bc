"""Near-unique category columns are identifiers: dropped by clean() with the share distinct logged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from layerwise.data import clean
from layerwise.data.kinds import column_kind


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = [f"ORD-{i:05d}" for i in rng.permutation(n)]
    codes[5] = codes[6]  # 199 distinct of 200: nearly, not exactly, unique
    return pd.DataFrame(
        {
            "order": codes,
            "store": rng.choice([f"s{i}" for i in range(60)], n),  # many, but repeated: a category
            "note": [f"the parcel was left at door {i} by the courier today" for i in range(n)],  # prose
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )


def test_a_nearly_unique_category_column_is_dropped_with_its_share_distinct():
    df = frame()
    kept, kinds, log = clean(df, target="y", task="regression")
    assert "order" not in kinds and kinds["store"] == "categorical"
    [entry] = [e for e in log.entries if e["column"] == "order"]
    assert entry["rule"] == "drop_id"
    assert entry["detail"] == "dropped: an identifier (199 distinct values in 200 rows: 99.5% distinct)"


def test_text_is_still_text_and_an_exactly_unique_column_keeps_its_words():
    df = frame()
    assert column_kind(df["note"]) == "text"  # prose stays text, whatever its share distinct
    df["order"] = [f"ORD-{i}" for i in range(len(df))]
    _, _, log = clean(df, target="y", task="regression")
    [entry] = [e for e in log.entries if e["column"] == "order"]
    assert entry["detail"] == "dropped: an identifier (a different value on every row)"
    half = df.assign(order=[f"ORD-{i // 2}" for i in range(len(df))])  # 50% distinct: a category
    assert clean(half, target="y", task="regression")[1]["order"] == "categorical"
