"""A bundle written before issue 17's table preprocessing (a date column's four scaled parts, ordinal
codes for a many-valued category, standard scaling) loads and predicts exactly as it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import layerwise

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_bundle_from_before_the_table_recipe_predicts_as_it_did():
    before = pd.read_csv(FIXTURES / "bundle-before-issue-17-predictions.csv")
    model = layerwise.load(FIXTURES / "bundle-before-issue-17")
    assert model.features.columns["d"]["kind"] == "datetime" and "cycles" not in model.features.columns["d"]
    now = model.predict(before[["x", "c", "d"]])
    assert np.array_equal(now["prediction"].to_numpy(), before["prediction"].to_numpy())
