"""Leakage audit: a leaked copy of the target, shared rows, time order; and silence on clean data."""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

import layerwise
from layerwise.evaluation import audit

FAST = {"epochs": 5}


def test_a_leaked_copy_of_the_target_is_flagged_in_the_run():
    frame = load_diabetes(as_frame=True).frame
    rng = np.random.default_rng(0)
    frame["charge"] = frame["target"] * 3.0 + rng.normal(scale=1.0, size=len(frame))  # a disguised copy
    m = (
        layerwise.Experiment({"data": {"target": "target"}, "train": FAST, "evaluate": {"bootstrap": 50}}, data=frame)
        .run()
        .metrics
    )
    flagged = [w for w in m["leakage"] if w["check"] == "near_copy"]
    assert [w["column"] for w in flagged] == ["charge"]
    assert "near-copy of the target" in flagged[0]["detail"]


def test_a_label_column_in_disguise_is_flagged_by_its_one_feature_rule():
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis_code"] = frame["target"].map({0: "M", 1: "B"})
    m = (
        layerwise.Experiment({"data": {"target": "target"}, "train": FAST, "evaluate": {"bootstrap": 50}}, data=frame)
        .run()
        .metrics
    )
    assert any(
        w["column"] == "diagnosis_code" and "alone predicts the test target perfectly" in w["detail"]
        for w in m["leakage"]
    )


def test_clean_data_gives_no_warning():
    frame = load_breast_cancer(as_frame=True).frame
    m = (
        layerwise.Experiment({"data": {"target": "target"}, "train": FAST, "evaluate": {"bootstrap": 50}}, data=frame)
        .run()
        .metrics
    )
    assert m["leakage"] == []


def test_shared_rows_and_time_order():
    train = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "y": [0.0, 1.0, 2.0], "t": [1, 2, 3]})
    test = pd.DataFrame({"a": [2, 9], "b": ["y", "q"], "y": [5.0, 6.0], "t": [3, 4]})
    warnings = audit(train, test, target="y", kinds={"a": "numeric", "b": "categorical"}, task="regression", time="t")
    checks = {w["check"]: w for w in warnings}
    assert checks["duplicates"]["count"] == 1
    assert checks["time_order"]["count"] == 1 and checks["time_order"]["column"] == "t"
