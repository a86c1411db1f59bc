"""The classical reference in `judge`: its finding for both outcomes, and the beat_reference gate
(evaluation/gate.py) with a reference, without one, and without an interval."""

from __future__ import annotations

import numpy as np
import pytest

from layerwise.evaluation import judge
from layerwise.evaluation.classical import TABLE_REFERENCE

N = 300


def probabilities(y: np.ndarray, right: float, seed: int) -> np.ndarray:
    """Two-class probabilities that put 0.8 on the true class for a share `right` of the rows."""
    rng = np.random.default_rng(seed)
    hit = rng.random(len(y)) < right
    guess = np.where(hit, y, 1 - y)
    out = np.full((len(y), 2), 0.2)
    out[np.arange(len(y)), guess] = 0.8
    return out


@pytest.fixture
def rows() -> dict[str, np.ndarray]:
    y = np.random.default_rng(0).integers(0, 2, N)
    return {
        "y": y,
        "strong": probabilities(y, 0.95, 1),
        "weak": probabilities(y, 0.7, 2),
        "naive": np.tile([0.5, 0.5], (N, 1)),
    }


def judged(rows, model: str, reference: str, **options):
    return judge(
        "classification",
        rows["y"],
        rows[model],
        rows["naive"],
        reference={"name": TABLE_REFERENCE, "out": rows[reference]},
        **{"samples": 200, **options},
    )


def test_the_network_beating_the_trees_says_so_and_recommends_nothing(rows):
    out = judged(rows, "strong", "weak")
    ref = out["reference"]
    assert ref["name"] == TABLE_REFERENCE and ref["beats_reference"] is True
    assert ref["test"]["accuracy"] == pytest.approx(np.mean(rows["weak"].argmax(1) == rows["y"]))
    lo, hi = ref["difference"]
    assert 0 < lo <= hi
    assert ref["finding"].startswith(f"The network beats {TABLE_REFERENCE}: test accuracy ")
    assert "which excludes zero." in ref["finding"] and "Consider" not in ref["finding"]
    assert out["headline"].endswith(ref["finding"])
    assert [c["gate"] for c in out["checks"]] == ["beat_baseline"]  # reported, not gated, by default


def test_the_trees_beating_the_network_say_plainly_consider_the_simpler_model(rows):
    out = judged(rows, "weak", "strong")
    ref = out["reference"]
    assert ref["beats_reference"] is False
    lo, hi = ref["difference"]
    assert lo <= hi < 0
    assert ref["finding"].startswith(
        f"The network does NOT beat the classical reference: worse than {TABLE_REFERENCE}: test accuracy "
    )
    assert "which excludes zero on the reference's side." in ref["finding"]
    assert ref["finding"].endswith(
        f"Consider the simpler model instead: {TABLE_REFERENCE}, faster to fit and at least as good here."
    )
    # the network still beats the naive baseline: DEPLOY by the gate, and the headline says both
    assert out["verdict"] == "DEPLOY"
    assert out["headline"].startswith("DEPLOY: beats the majority class") and out["headline"].endswith(ref["finding"])


def test_a_tie_or_an_edge_chance_explains_is_not_a_win_and_the_simpler_model_is_named(rows):
    out = judged(rows, "strong", "strong")
    ref = out["reference"]
    assert ref["beats_reference"] is False and ref["difference"] == [0.0, 0.0]
    assert "which includes zero" in ref["finding"]
    assert f"Consider the simpler model instead: {TABLE_REFERENCE}" in ref["finding"]

    # two more rows wrong for the reference: the network is ahead on these rows, by no more than chance
    rows["close"] = rows["strong"].copy()
    right = np.flatnonzero(rows["strong"].argmax(1) == rows["y"])[:2]
    rows["close"][right] = rows["close"][right][:, ::-1]
    ref = judged(rows, "strong", "close")["reference"]
    assert ref["beats_reference"] is False and ref["difference"][0] <= 0 < ref["difference"][1]
    assert ref["finding"].startswith("The network is not shown to beat the classical reference: not shown to beat")
    assert ref["finding"].endswith(f"Consider the simpler model, {TABLE_REFERENCE}: the network's edge may be chance.")


def test_beat_reference_gates_on_the_same_interval(rows):
    won = judged(rows, "strong", "weak", beat_reference=True)
    check = won["checks"][-1]
    assert check["gate"] == "beat_reference" and check["passed"] is True
    assert check["detail"].startswith(f"beats {TABLE_REFERENCE}: test accuracy")
    assert won["verdict"] == "DEPLOY"

    lost = judged(rows, "weak", "strong", beat_reference=True)
    check = lost["checks"][-1]
    assert check["gate"] == "beat_reference" and check["passed"] is False
    assert lost["verdict"] == "DO NOT DEPLOY"
    assert lost["reasons"] == [check["detail"]]  # beating the baseline passed; only this failed
    assert check["detail"].startswith(f"worse than {TABLE_REFERENCE}:")
    assert check["detail"].endswith("which excludes zero on the reference's side")


def test_without_an_interval_the_reference_gate_reads_the_point_estimates(rows):
    out = judged(rows, "strong", "weak", beat_reference=True, samples=0)
    assert out["reference"]["difference"] is None
    check = out["checks"][-1]
    assert check["passed"] is True and "judged on the point estimates only" in check["detail"]


def test_beat_reference_without_a_reference_fails_and_says_why(rows):
    plain = judge("classification", rows["y"], rows["strong"], rows["naive"], samples=100, beat_reference=True)
    check = plain["checks"][-1]
    assert check == {"gate": "beat_reference", "passed": False, "detail": check["detail"]}
    assert check["detail"].startswith("no classical reference to beat: evaluate.reference is none")
    assert "forecasts, images and generation" in check["detail"]
    assert plain["verdict"] == "DO NOT DEPLOY" and "reference" not in plain

    why = "gradient-boosted trees took longer than evaluate.reference_seconds (120 s) and was left out"
    missing = judge(
        "classification",
        rows["y"],
        rows["strong"],
        rows["naive"],
        samples=100,
        beat_reference=True,
        reference_missing=why,
    )
    assert missing["checks"][-1]["detail"] == f"no classical reference to beat: {why}"
    assert f"no classical reference: {why}" in missing["notes"]

    # no gate asked for: the note only
    noted = judge("classification", rows["y"], rows["strong"], rows["naive"], samples=100, reference_missing=why)
    assert [c["gate"] for c in noted["checks"]] == ["beat_baseline"] and noted["verdict"] == "DEPLOY"
    assert f"no classical reference: {why}" in noted["notes"]
