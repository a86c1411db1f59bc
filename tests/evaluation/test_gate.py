"""The deploy gate: which side of zero, bounds, champion, and judge() end to end on arrays."""

import numpy as np

from layerwise.evaluation import judge
from layerwise.evaluation.gate import bound, champion, decide, favours


def test_favours_reads_the_direction_of_each_metric():
    assert favours("mae", [-3.0, -1.0]) == "model"       # lower is better: all below zero
    assert favours("mae", [1.0, 3.0]) == "baseline"
    assert favours("mae", [-1.0, 3.0]) == "neither"
    assert favours("accuracy", [0.01, 0.2]) == "model"   # higher is better
    assert favours("accuracy", [float("nan"), 0.2]) == "neither"


def test_bounds_and_decision():
    checks = [bound("accuracy", 0.93, 0.9, "min"), bound("mae", 120.0, 100.0, "max")]
    decision = decide(checks)
    assert decision.verdict == "DO NOT DEPLOY"
    assert decision.reasons == ["test mae 120 is not at most 100"]
    assert decide(checks[:1]).verdict == "DEPLOY"
    assert not bound("roc_auc", None, 0.8, "min").passed
    assert champion("mae", 9.0, 10.0, [-2.0, 0.1], "champ").passed
    assert not champion("accuracy", 0.8, 0.9, [-0.2, 0.0], "champ").passed


def test_judge_needs_the_interval_not_just_the_point_estimate():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    noise = rng.normal(size=400)
    # the same errors in another order, 1% larger: better on average, not on every row
    slightly = judge("regression", y, y + noise, y + noise[::-1] * 1.01, samples=300)
    assert slightly["test"]["mae"] < slightly["baseline"]["mae"]     # better on the point estimate,
    assert slightly["verdict"] == "DO NOT DEPLOY"                     # not shown by the interval
    assert "includes zero" in slightly["reasons"][0]
    clearly = judge("regression", y, y + noise * 0.5, y + noise, samples=300, maximum={"mae": 10.0})
    assert clearly["verdict"] == "DEPLOY"
    assert [c["gate"] for c in clearly["checks"]] == ["beat_baseline", "max.mae"]
    assert clearly["headline"].startswith("DEPLOY: beats the training mean")
    assert set(clearly["ci"]) >= {"level", "samples", "model", "baseline", "difference", "method"}


def test_judge_with_a_champion_on_the_same_rows():
    y = np.arange(50, dtype=float)
    out = judge("regression", y, y + 1.0, y + 5.0, samples=100, champion={"path": "old", "out": y + 0.5})
    assert out["champion"]["test"]["mae"] == 0.5
    assert out["verdict"] == "DO NOT DEPLOY"
    assert any(r.startswith("worse than the champion old") for r in out["reasons"])


def test_compare_to_a_champion_bundle_in_a_run(tmp_path):
    from sklearn.datasets import load_diabetes

    import layerwise

    frame = load_diabetes(as_frame=True).frame
    base = {"data": {"target": "target"}, "model": {"hidden": [16]}, "evaluate": {"bootstrap": 100}}
    champ = layerwise.Experiment({**base, "train": {"epochs": 60, "lr": 0.01}}, data=frame).run(out=tmp_path / "champ")
    weak = {**base, "train": {"epochs": 1, "lr": 0.0001},
            "evaluate": {"bootstrap": 100, "gates": {"beat_baseline": False, "compare_to": str(champ.bundle_path)}}}
    m = layerwise.Experiment(weak, data=frame).run().metrics
    assert m["champion"]["test"]["mae"] == champ.metrics["test"]["mae"]  # same rows, same numbers
    assert m["verdict"] == "DO NOT DEPLOY"
    assert m["reasons"][0].startswith(f"worse than the champion {champ.bundle_path}")
