"""Data requirements: nested subsets, the fitted trend and its finding, and the run's curve."""

import numpy as np
from sklearn.datasets import load_diabetes

import layerwise
from layerwise.evaluation import fit_trend, nested_subsets


def test_subsets_are_nested_and_recent_means_the_end():
    parts = nested_subsets(100, seed=0)
    assert [len(p) for p in parts] == [25, 50, 75, 100]
    assert all(set(a) <= set(b) for a, b in zip(parts, parts[1:]))
    assert nested_subsets(100, order="recent")[0].tolist() == list(range(75, 100))


def test_trend_says_whether_more_data_helps():
    rising = fit_trend([100, 200, 400, 800], [60.0, 52.0, 45.0, 39.0], metric="mae")
    assert rising.still_rising and rising.slope < 0
    assert rising.finding.startswith("still improving with more data")
    assert np.allclose(rising.trend([100, 800]), rising.intercept + rising.slope * np.log2([100, 800]))
    flat = fit_trend([100, 200, 400, 800], [0.90, 0.901, 0.899, 0.90], metric="accuracy")
    assert not flat.still_rising and flat.finding.startswith("levelled off")


def test_run_with_data_curve_retrains_on_growing_parts():
    frame = load_diabetes(as_frame=True).frame
    cfg = {
        "data": {"target": "target"},
        "model": {"hidden": [16]},
        "train": {"epochs": 20, "lr": 0.01},
        "evaluate": {"data_curve": True, "bootstrap": 50},
    }
    m = layerwise.Experiment(cfg, data=frame).run().metrics
    curve = m["data_curve"]
    n = m["rows"]["train"]
    assert curve["sizes"] == [round(f * n) for f in (0.25, 0.5, 0.75, 1.0)] and curve["metric"] == "mae"
    assert len(curve["scores"]) == 4 and all(s > 0 for s in curve["scores"])
    assert curve["finding"].startswith(("still improving", "levelled off"))
