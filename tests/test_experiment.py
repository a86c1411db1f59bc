"""The Python way in: Experiment(config).run() -> Result; load(bundle).predict(df)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

import layerwise
from layerwise.data import split

BTC = Path(__file__).resolve().parents[1] / "examples" / "data" / "btc-usd-daily.csv"
QUICK = {"epochs": 10, "patience": 3}


def _btc(n=400):
    return pd.read_csv(BTC).iloc[:n].reset_index(drop=True)


def _forecast_cfg(**data):
    return {
        "data": {
            "target": "Close",
            "time": "Date",
            "features": ["Close", "Volume"],
            "window": {"lookback": 7, "horizon": 2},
            "transform": "log_return",
            **data,
        },
        "task": {"type": "forecast"},
        "model": {"hidden": [8]},
        "train": QUICK,
    }


@pytest.mark.parametrize("name", ["iris", "diabetes", "btc"])
def test_bundle_round_trip_gives_identical_predictions(tmp_path, name):
    if name == "iris":
        frame, cfg = load_iris(as_frame=True).frame, {"data": {"target": "target"}, "train": QUICK}
    elif name == "diabetes":
        frame, cfg = load_diabetes(as_frame=True).frame, {"data": {"target": "target"}, "train": QUICK}
    else:
        frame, cfg = _btc(), _forecast_cfg()
    result = layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "run")
    loaded = layerwise.load(result.bundle_path)
    before, after = result.predict(frame), loaded.predict(frame)
    pd.testing.assert_frame_equal(before, after)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["task"] == result.metrics["task"]


def test_multiclass_probabilities_and_labels(tmp_path):
    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    result = layerwise.Experiment({"data": {"target": "target"}, "train": {"epochs": 60}}, data=frame).run()
    assert result.metrics["task"] == "classification"
    assert result.beats_baseline
    pred = result.predict(frame.drop(columns=["target"]))
    assert set(pred["prediction"]) <= {"setosa", "versicolor", "virginica"}
    proba = pred[["proba_setosa", "proba_versicolor", "proba_virginica"]].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_fitted_state_ignores_the_test_period(tmp_path):
    """Changing every value after the training part leaves the saved preprocessing unchanged."""
    frame = _btc()
    cfg = _forecast_cfg()
    first = layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "a")
    parts = split(len(frame), method="time", gap=7 + 2)
    changed = frame.copy()
    after_train = np.arange(parts.train[-1] + 1, len(frame))
    changed.loc[after_train, ["Close", "Volume"]] *= 3.0
    second = layerwise.Experiment(cfg, data=changed).run(out=tmp_path / "b")
    spec_a = json.loads((tmp_path / "a" / "bundle" / "spec.json").read_text())
    spec_b = json.loads((tmp_path / "b" / "bundle" / "spec.json").read_text())
    assert spec_a["preprocessing"] == spec_b["preprocessing"]
    assert first.metrics["rows"] == second.metrics["rows"]


def test_forecast_metrics_are_in_original_units_beside_persistence():
    frame = _btc()
    result = layerwise.Experiment(_forecast_cfg(), data=frame).run()
    m = result.metrics
    # prices in this slice lie in 200..700 USD: an MAE in original units is dollars, not z-scores
    assert 1 < m["baseline"]["mae"] < 100
    assert m["primary_metric"] == "mae"
    assert m["beats_baseline"] == (m["test"]["mae"] < m["baseline"]["mae"])


def test_same_seed_same_result():
    frame = load_diabetes(as_frame=True).frame
    cfg = {"data": {"target": "target"}, "model": {"dropout": 0.2}, "train": QUICK}
    a = layerwise.Experiment(cfg, data=frame).run()
    b = layerwise.Experiment(cfg, data=frame).run()
    assert a.metrics["test"] == b.metrics["test"]
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_existing_foreign_folder_is_not_replaced(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    experiment = layerwise.Experiment({"data": {"target": "target"}}, data=load_iris(as_frame=True).frame)
    for overwrite in (False, True):
        with pytest.raises(layerwise.LayerwiseError, match=r"holds files layerwise did not write \(keep.txt\)"):
            experiment.run(out=tmp_path, overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"] and (tmp_path / "keep.txt").read_text() == "mine"


def test_python_reruns_replace_a_run_folder_only_when_asked(tmp_path):
    cfg = {
        "data": {"target": "target"},
        "train": {**QUICK, "epochs": 2},
        "evaluate": {"report": False, "bootstrap": 0, "leakage": False},
    }
    frame = load_iris(as_frame=True).frame
    first = layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "run")
    with pytest.raises(layerwise.LayerwiseError, match="holds an earlier run; refusing to replace it"):
        layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "run")
    again = layerwise.Experiment(cfg, data=frame).run(out=tmp_path / "run", overwrite=True)
    assert again.out == first.out and (tmp_path / "run" / "metrics.json").is_file()


def test_a_single_row_class_falls_back_to_a_random_split_in_auto_mode():
    frame = load_iris(as_frame=True).frame
    frame.loc[0, "target"] = 7  # one row of a class of its own
    result = layerwise.Experiment({"data": {"target": "target"}, "train": QUICK}, data=frame).run()
    assert any("random split instead of stratified" in line for line in result.log)
    with pytest.raises(layerwise.DataError, match="class '7' has only 1 row"):
        layerwise.Experiment(
            {"data": {"target": "target", "split": {"method": "stratified"}}, "train": QUICK}, data=frame
        ).run()


def test_multi_step_forecast_reports_each_step_beside_persistence():
    result = layerwise.Experiment(_forecast_cfg(), data=_btc()).run()  # horizon 2
    per = result.metrics["per_step"]
    assert len(per["mae"]) == len(per["baseline_mae"]) == 2
    # persistence gets worse the further ahead it looks
    assert per["baseline_mae"][1] > per["baseline_mae"][0]
    assert np.mean(per["mae"]) == pytest.approx(result.metrics["test"]["mae"])


def test_writing_a_run_and_its_report_does_not_load_captum(tmp_path):
    """The report's Explanations section imports explain (and Captum) only when there is one."""
    import subprocess
    import sys

    code = (
        "import sys, layerwise\n"
        "from sklearn.datasets import load_iris\n"
        f"layerwise.Experiment({{'data': {{'target': 'target'}}, 'train': {{'epochs': 2}}}},"
        f" data=load_iris(as_frame=True).frame).run(out={str(tmp_path / 'run')!r})\n"
        "print('captum' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert (tmp_path / "run" / "report.html").is_file()
