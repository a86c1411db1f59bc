"""The gradient-boosted reference beside every table (tasks/common.py tree_reference, Rows.judged):
the columns as the trees read them, real runs on scikit-learn's bundled tables written to CSV, the
settings that leave it out (evaluate.reference: none, a budget it cannot meet, a streamed table), the
gate that asks for it, and `layerwise evaluate`'s note."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

import layerwise
from layerwise import tasks
from layerwise.config.schema import ExperimentConfig
from layerwise.evaluation.classical import TABLE_REFERENCE
from layerwise.tasks.common import reference_problems, tree_frame

FAST = {"epochs": 3, "seed": 0, "batch_size": 64, "threads": 1}


def config(data: dict, **evaluate) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": data,
            "model": {"type": "mlp", "hidden": [16]},
            "train": FAST,
            "evaluate": {"report": False, "bootstrap": 100, **evaluate},
        }
    )


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory):
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = np.where(frame["target"] == 1, "benign", "malignant")
    path = tmp_path_factory.mktemp("cancer") / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    """The diabetes table with a category, a yes/no column and a date beside its numbers."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(0)
    frame["region"] = rng.choice(["north", "south", "east"], len(frame))
    frame["smoker"] = rng.choice(["yes", "no"], len(frame))
    frame["visit"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_trees_read_numbers_by_the_runs_rule_booleans_dates_and_categories_and_never_text():
    frame = pd.DataFrame(
        {
            "price": ["1.234,5", "7", None],
            "member": ["yes", None, "no"],
            "seen": ["2024-01-31", "2023-12-25", None],
            "zip": [3, 3.0, None],
            "note": ["some words here", "more words", "and more"],
        },
        index=[10, 11, 12],
    )
    kinds = {"price": "numeric", "member": "boolean", "seen": "datetime", "zip": "categorical", "note": "text"}
    read, read_kinds = tree_frame(frame, kinds, decimal=",")
    assert list(read.columns) == ["price", "member", "seen.year", "seen.month", "seen.day", "seen.dayofweek", "zip"]
    assert read_kinds == {**{c: "numeric" for c in read.columns[:-1]}, "zip": "categorical"}
    np.testing.assert_array_equal(read["price"], [1234.5, 7.0, np.nan])
    np.testing.assert_array_equal(read["member"], [1.0, np.nan, 0.0])
    np.testing.assert_array_equal(read["seen.year"], [2024, 2023, np.nan])
    np.testing.assert_array_equal(read["seen.month"], [1, 12, np.nan])
    np.testing.assert_array_equal(read["seen.day"], [31, 25, np.nan])
    np.testing.assert_array_equal(read["seen.dayofweek"], [2, 0, np.nan])  # a Wednesday, a Monday
    assert read["zip"].iloc[:2].tolist() == ["3", "3"]  # 3 and 3.0 are one category, as the network reads them
    assert pd.isna(read["zip"].iloc[2])


def test_beat_reference_is_refused_where_there_is_no_reference_to_beat():
    def cfg(**evaluate):
        return ExperimentConfig.from_dict({"data": {"target": "y"}, "evaluate": evaluate})

    assert reference_problems(cfg(), has_reference=False) == []  # no gate asked for
    assert reference_problems(cfg(gates={"beat_reference": True}), has_reference=True) == []
    (none,) = reference_problems(cfg(reference="none", gates={"beat_reference": True}), has_reference=True)
    assert none.startswith("evaluate.gates.beat_reference: needs the classical reference, and evaluate.reference is")
    (kind,) = reference_problems(cfg(gates={"beat_reference": True}), has_reference=False, what="a forecast")
    assert kind.startswith("evaluate.gates.beat_reference: a forecast has no classical reference to beat")
    # a table with text columns has TF-IDF: the gate is refused there only with evaluate.reference none
    text = tasks.get("text")
    assert text.refused(cfg(gates={"beat_reference": True})) == []
    assert text.refused(cfg(reference="none", gates={"beat_reference": True})) == [none]


def test_a_table_stands_beside_the_trees_in_metrics_json_the_summary_and_evaluate(cli, cancer_csv, tmp_path):
    result = layerwise.Experiment(config({"path": str(cancer_csv), "target": "target"})).run(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    reference = saved["reference"]
    assert reference["name"] == TABLE_REFERENCE == "gradient-boosted trees (HistGradientBoosting)"
    assert set(reference) == {"name", "test", "difference", "beats_reference", "finding"}
    assert set(reference["test"]) == set(saved["test"])
    assert reference["test"]["accuracy"] > 0.9  # trees with defaults on breast cancer
    lo, hi = reference["difference"]
    assert lo <= hi
    assert saved["headline"].endswith(reference["finding"])
    assert all(check["gate"] != "beat_reference" for check in saved["checks"])  # reported, not gated
    assert f"classical reference: {TABLE_REFERENCE}, fitted on the same training rows: accuracy" in result.summary()

    # `layerwise evaluate` judges the bundle beside the baseline, and says the trees are not refitted
    code, _, err = cli("evaluate", tmp_path / "run" / "bundle", cancer_csv, "--out", tmp_path / "eval", "--quiet")
    assert code == 0, err
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert "reference" not in again
    assert f"the classical reference ({TABLE_REFERENCE}) was fitted on the training rows at training time" in (
        " ".join(again["notes"])
    )


def test_evaluate_reference_none_leaves_the_trees_out_of_a_mixed_table(diabetes_csv, tmp_path):
    result = layerwise.Experiment(config({"path": str(diabetes_csv), "target": "target"}, reference="none")).run()
    assert result.metrics["data"]["kinds"]["visit"] == "datetime"  # the mixed columns read as meant
    assert result.metrics["data"]["kinds"]["smoker"] == "boolean"
    assert "reference" not in result.metrics
    assert not any("reference" in note for note in result.metrics["notes"])
    assert "classical reference" not in result.summary()


def test_a_mixed_table_has_its_trees_and_a_budget_they_cannot_meet_leaves_them_out_with_a_note(diabetes_csv):
    data = {"path": str(diabetes_csv), "target": "target"}
    result = layerwise.Experiment(config(data)).run()
    assert result.metrics["reference"]["name"] == TABLE_REFERENCE
    assert result.metrics["reference"]["test"]["mae"] < result.metrics["baseline"]["mae"]  # the trees learn

    # so small a budget that even the first chunk of 20 iterations is past it
    late = layerwise.Experiment(config(data, reference_seconds=1e-9)).run()
    assert "reference" not in late.metrics
    assert f"no classical reference: {TOO_LATE}" in late.metrics["notes"]


TOO_LATE = (
    f"{TABLE_REFERENCE} took longer than evaluate.reference_seconds (1e-09 s) and was left out, stopped "
    "after 20 boosting iterations; raise evaluate.reference_seconds to have it"
)


def test_the_beat_reference_gate_judges_a_real_table_and_fails_when_the_trees_were_left_out(cancer_csv, diabetes_csv):
    gated = {"gates": {"beat_reference": True}}
    cancer = layerwise.Experiment(config({"path": str(cancer_csv), "target": "target"}, **gated)).run()
    check, reference = cancer.metrics["checks"][-1], cancer.metrics["reference"]
    assert check["gate"] == "beat_reference" and check["passed"] is reference["beats_reference"]
    assert TABLE_REFERENCE in check["detail"]

    late = layerwise.Experiment(
        config({"path": str(diabetes_csv), "target": "target"}, reference_seconds=1e-9, **gated)
    ).run()
    assert late.metrics["checks"][-1] == {
        "gate": "beat_reference",
        "passed": False,
        "detail": f"no classical reference to beat: {TOO_LATE}",
    }
    assert late.verdict == "DO NOT DEPLOY"


def test_a_streamed_table_has_no_reference_and_says_why(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=600)})
    frame["y"] = 2 * frame["a"] + rng.normal(0, 0.1, 600)
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    cfg = config({"path": str(path), "target": "y", "stream": {"enabled": True, "batch_rows": 200}})
    metrics = layerwise.Experiment(cfg).run().metrics
    assert metrics["streamed"] is True and "reference" not in metrics
    why = "a streamed table (data.stream) is read in chunks; the trees need it whole"
    assert f"no classical reference: {why}" in metrics["notes"]
