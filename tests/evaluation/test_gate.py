"""The deploy gate: which side of zero, bounds, champion, and judge() end to end on arrays."""

import numpy as np

from layerwise.evaluation import judge
from layerwise.evaluation.gate import beat_baseline, bound, champion, decide, favours


def test_favours_reads_the_direction_of_each_metric():
    assert favours("mae", [-3.0, -1.0]) == "model"  # lower is better: all below zero
    assert favours("mae", [1.0, 3.0]) == "baseline"
    assert favours("mae", [-1.0, 3.0]) == "neither"
    assert favours("accuracy", [0.01, 0.2]) == "model"  # higher is better
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
    assert slightly["test"]["mae"] < slightly["baseline"]["mae"]  # better on the point estimate,
    assert slightly["verdict"] == "DO NOT DEPLOY"  # not shown by the interval
    assert "includes zero" in slightly["reasons"][0]
    clearly = judge("regression", y, y + noise * 0.5, y + noise, samples=300, maximum={"mae": 10.0})
    assert clearly["verdict"] == "DEPLOY"
    assert [c["gate"] for c in clearly["checks"]] == ["beat_baseline", "max.mae"]
    assert clearly["headline"].startswith("DEPLOY: beats the training median")
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
    weak = {
        **base,
        "train": {"epochs": 1, "lr": 0.0001},
        "evaluate": {"bootstrap": 100, "gates": {"beat_baseline": False, "compare_to": str(champ.bundle_path)}},
    }
    m = layerwise.Experiment(weak, data=frame).run().metrics
    assert m["champion"]["test"]["mae"] == champ.metrics["test"]["mae"]  # same rows, same numbers
    assert m["verdict"] == "DO NOT DEPLOY"
    assert m["reasons"][0].startswith(f"worse than the champion {champ.bundle_path}")


def test_without_bootstrap_the_gate_judges_the_point_estimates_and_says_so():
    y = np.arange(60, dtype=float)
    better = judge("regression", y, y + 1.0, y + 5.0, samples=0, minimum={"r2": 0.5})
    assert better["verdict"] == "DEPLOY"
    reason = better["reasons"][0]
    assert reason.startswith("beats the training median: test mae 1 vs 5; difference -4; ")
    assert reason.endswith("no interval (evaluate.bootstrap: 0): judged on the point estimates only")
    assert "zero" not in reason and "not available" not in reason
    assert better["reasons"][1] == "test r2 0.9967 is at least 0.5"  # no interval to show for the bound either
    worse = judge("regression", y, y + 5.0, y + 1.0, samples=0)
    assert worse["verdict"] == "DO NOT DEPLOY"
    assert worse["reasons"][0].startswith(
        "does not beat the training median: test mae 5 vs 1; difference +4; no interval"
    )


def test_an_interval_the_bootstrap_could_not_compute_fails_without_claiming_it_includes_zero():
    check = beat_baseline("roc_auc", 0.9, 0.5, [float("nan")] * 2, "the majority class")
    assert not check.passed
    assert "interval not available" in check.detail and "includes zero" not in check.detail
    assert "roc_auc undefined on most resamples" in check.detail


def test_signs_only_on_differences_never_on_an_interval_of_a_value():
    value = bound("accuracy", 0.9647, 0.9, "min", [0.9291, 0.9885])
    assert value.detail == "test accuracy 0.9647 ([0.9291, 0.9885]) is at least 0.9"
    difference = beat_baseline("accuracy", 0.9647, 0.6294, [0.2824, 0.3882], "the majority class")
    assert difference.detail == (
        "beats the majority class: test accuracy 0.9647 vs 0.6294; difference +0.3353, "
        "95% interval [+0.2824, +0.3882], which excludes zero"
    )
    assert "interval [-0.1, +0.05]" in champion("mae", 9.0, 10.0, [-0.1, 0.05], "champ").detail


def test_a_run_with_bootstrap_0_gets_a_true_verdict(tmp_path):
    from sklearn.datasets import load_breast_cancer

    import layerwise

    frame = load_breast_cancer(as_frame=True).frame
    cfg = {
        "data": {"target": "target"},
        "model": {"hidden": [16]},
        "train": {"epochs": 20, "lr": 0.01, "seed": 0},
        "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
    }
    m = layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "run").metrics
    assert m["test"]["accuracy"] > m["baseline"]["accuracy"] + 0.2
    assert m["verdict"] == "DEPLOY"
    assert m["headline"].startswith("DEPLOY: beats the majority class: test accuracy ")
    assert m["headline"].endswith("no interval (evaluate.bootstrap: 0): judged on the point estimates only.")
