"""A verdict needs evidence: no gate passes on a handful of test rows, and the finding never
reads as a win that the gate has just refused."""

import json

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from layerwise.evaluation import judge
from layerwise.evaluation.gate import MIN_TEST_ROWS


def test_too_few_rows_is_do_not_deploy_with_a_degenerate_interval():
    y = np.arange(5, dtype=float)
    out = judge("regression", y, y + 0.01, y + 3.0, samples=200)  # far better on every row
    assert out["verdict"] == "DO NOT DEPLOY"
    assert out["checks"][0]["gate"] == "test_rows" and not out["checks"][0]["passed"]
    assert out["reasons"][0].startswith(f"only 5 test rows: at least {MIN_TEST_ROWS} are needed")
    assert out["ci"]["degenerate"] is True
    assert "not shown to be more than chance" in out["finding"] and "beats" not in out["finding"]
    enough = judge("regression", np.arange(40.0), np.arange(40.0) + 0.01, np.arange(40.0) + 3.0, samples=200)
    assert enough["verdict"] == "DEPLOY" and enough["ci"]["degenerate"] is False


def test_no_gate_configured_still_flags_the_interval_but_decides_nothing():
    y = np.arange(3, dtype=float)
    out = judge("regression", y, y, y + 1.0, samples=50, beat_baseline=False)
    assert out["ci"]["degenerate"] is True and out["checks"] == []
    assert any("degenerate" in n for n in out["notes"])


def test_the_finding_agrees_with_a_gate_that_finds_no_evidence():
    rng = np.random.default_rng(0)
    y, noise = rng.normal(size=400), rng.normal(size=400)
    out = judge("regression", y, y + noise, y + noise[::-1] * 1.01, samples=300)
    assert out["beats_baseline"] and out["verdict"] == "DO NOT DEPLOY"  # better on the point estimate only
    assert out["finding"].startswith("The network scores better than the training median on this test split")
    assert "not shown to be more than chance" in out["finding"]


def test_evaluate_on_one_row_with_the_gate_exits_4(cli, tmp_path):
    frame = load_breast_cancer(as_frame=True).frame
    data = tmp_path / "cancer.csv"
    frame.to_csv(data, index=False)
    config = tmp_path / "cancer.yaml"
    assert cli("init", data, "--target", "target", "-o", config)[0] == 0
    code, _, err = cli("run", config, "--out", tmp_path / "run", "--quiet", "--set", "train.epochs=5")
    assert code == 0, err
    one = tmp_path / "one_row.csv"
    pd.read_csv(data).head(1).to_csv(one, index=False)
    code, stdout, err = cli("evaluate", tmp_path / "run" / "bundle", one, "--gate", "--out", tmp_path / "eval")
    assert code == 4, err
    assert "\nDO NOT DEPLOY: only 1 test row: at least 20 are needed" in stdout, stdout
    assert "The network beats" not in stdout  # nothing printed reads as a win
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["verdict"] == "DO NOT DEPLOY" and metrics["ci"]["degenerate"] is True
