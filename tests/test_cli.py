"""The CLI end to end on real data, as a user types it: exit codes, files written, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

FAST = ["--set", "train.epochs=15", "--set", "train.patience=5"]


def _sklearn_csv(tmp_path, loader, name):
    frame = loader(as_frame=True).frame
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def _btc_forecast_config(tmp_path, btc_slice, *, extra: str = ""):
    """A small log-return forecast of the BTC slice's close (lookback 10, an MLP of 16), as btc.yaml."""
    config = tmp_path / "btc.yaml"
    config.write_text(
        f"data: {{path: {btc_slice}, target: Close, time: Date, features: [Close, Volume],"
        " window: {lookback: 10, horizon: 1}, transform: log_return}\n"
        f"task: {{type: forecast}}\nmodel: {{hidden: [16]}}\n{extra}",
        encoding="utf-8",
    )
    return config


def test_breast_cancer_end_to_end(cli, tmp_path):
    data = _sklearn_csv(tmp_path, load_breast_cancer, "cancer")
    config = tmp_path / "cancer.yaml"
    code, _, err = cli("init", data, "--target", "target", "-o", config)
    assert code == 0, err
    text = config.read_text()
    assert "type: classification" in text and "method: stratified" in text
    out = tmp_path / "run"
    code, stdout, err = cli("run", config, "--out", out, "--quiet", *FAST)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classification"
    assert metrics["primary_metric"] == "accuracy"
    assert set(metrics["rows"]) == {"train", "val", "test"}
    assert sum(metrics["rows"].values()) == 569
    assert {"accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc"} <= set(metrics["test"])
    assert metrics["baseline"]["accuracy"] == pytest.approx(0.63, abs=0.03)  # majority class share
    assert metrics["beats_baseline"] is True
    assert metrics["test"]["roc_auc"] > 0.95
    assert "beats the majority class" in stdout
    for name in ("bundle/model.safetensors", "bundle/spec.json", "bundle/manifest.json", "history.csv", "run.log"):
        assert (out / name).is_file(), name
    history = pd.read_csv(out / "history.csv")
    assert {"epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds"} <= set(history.columns)

    predictions = tmp_path / "pred.csv"
    code, _, err = cli("predict", out / "bundle", data, "-o", predictions)
    assert code == 0, err
    pred = pd.read_csv(predictions)
    assert len(pred) == 569
    assert {"prediction", "proba_0", "proba_1"} <= set(pred.columns)
    assert np.allclose(pred["proba_0"] + pred["proba_1"], 1.0, atol=1e-6)
    assert (pred["prediction"] == pred["target"]).mean() > 0.9


def test_diabetes_regression_end_to_end(cli, tmp_path):
    data = _sklearn_csv(tmp_path, load_diabetes, "diabetes")
    config = tmp_path / "diabetes.yaml"
    assert cli("init", data, "--target", "target", "-o", config)[0] == 0
    assert "type: regression" in config.read_text()
    out = tmp_path / "run"
    code, stdout, err = cli(
        "run", config, "--out", out, "--quiet", "--set", "train.epochs=60", "--set", "train.lr=0.003"
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["primary_metric"] == "mae"
    assert {"mae", "rmse", "r2", "mape"} <= set(metrics["test"])
    assert metrics["baseline"]["r2"] < 0.05  # the training mean explains nothing
    assert metrics["beats_baseline"] is True
    assert metrics["test"]["r2"] > 0.25
    pred = tmp_path / "pred.parquet"
    assert cli("predict", out / "bundle", data, "-o", pred)[0] == 0
    frame = pd.read_parquet(pred)
    assert frame["prediction"].between(0, 400).all()


def test_bitcoin_slice_forecast_end_to_end(cli, tmp_path, btc_slice):
    config = _btc_forecast_config(tmp_path, btc_slice)
    out = tmp_path / "run"
    code, stdout, err = cli("run", config, "--out", out, "--quiet", *FAST)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "forecast"
    assert metrics["baseline_name"].startswith("persistence")
    # 500 rows, gap lookback + horizon = 11 twice; windows per part = rows - lookback - 1 (returns)
    assert metrics["rows"]["test"] < 75 and metrics["rows"]["train"] > 300
    assert metrics["verdict"] in ("DEPLOY", "DO NOT DEPLOY") and stdout.startswith(metrics["verdict"] + ":")
    assert ("beats persistence" in metrics["finding"]) != ("does NOT beat persistence" in metrics["finding"])
    assert metrics["test"]["mae"] > 0 and metrics["baseline"]["mae"] > 0
    pred = tmp_path / "pred.csv"
    assert cli("predict", out / "bundle", btc_slice, "-o", pred)[0] == 0
    frame = pd.read_csv(pred)
    assert len(frame) == 500
    assert frame["prediction"].iloc[:10].isna().all()  # not enough history yet
    assert frame["prediction"].iloc[11:].notna().all()
    ratio = frame["prediction"].iloc[11:] / frame["Close"].iloc[11:]
    assert ratio.between(0.7, 1.3).all()  # next-day close near today's


def test_overrides_and_quiet_output(cli, tmp_path):
    data = _sklearn_csv(tmp_path, load_breast_cancer, "cancer")
    config = tmp_path / "c.yaml"
    cli("init", data, "--target", "target", "-o", config)
    code, _, err = cli("run", config, "--out", tmp_path / "r", "--set", "train.lr=-1")
    assert code == 2
    assert "train.lr" in err and "greater than 0" in err
    assert not (tmp_path / "r").exists()


def test_console_script_exit_code_and_no_traceback(tmp_path):
    exe = [sys.executable, "-m", "layerwise.cli"]
    done = subprocess.run([*exe, "run", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert done.returncode == 2
    assert "config file not found" in done.stderr
    assert "Traceback" not in done.stderr
    debug = subprocess.run([*exe, "--debug", "run", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert "Traceback" in debug.stderr


def test_gate_exit_codes(cli, tmp_path, btc_slice):
    """--gate exits 4 on DO NOT DEPLOY, 0 on DEPLOY; without --gate the verdict never fails a run."""
    config = _btc_forecast_config(tmp_path, btc_slice, extra="evaluate: {bootstrap: 200}\n")
    out = tmp_path / "btc"
    code, stdout, err = cli("run", config, "--out", out, "--quiet", "--gate", *FAST)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["verdict"] == "DO NOT DEPLOY"  # the small network loses to persistence here
    assert code == 4 and "gate: DO NOT DEPLOY (exit 4)" in err
    assert stdout.startswith("DO NOT DEPLOY:")
    assert (out / "report.html").is_file()  # the run folder is written all the same
    assert cli("run", config, "--out", out, "--quiet", "--overwrite", *FAST)[0] == 0

    data = _sklearn_csv(tmp_path, load_breast_cancer, "cancer")
    cancer = tmp_path / "cancer.yaml"
    cli("init", data, "--target", "target", "-o", cancer)
    code, stdout, err = cli("run", cancer, "--out", tmp_path / "c", "--quiet", "--gate", *FAST)
    assert code == 0, err
    assert stdout.startswith("DEPLOY: beats the majority class")
    code, _, err = cli(
        "run",
        cancer,
        "--out",
        tmp_path / "c2",
        "--quiet",
        "--gate",
        *FAST,
        "--set",
        "evaluate.gates.min={accuracy: 0.999}",
    )
    assert code == 4
    reasons = json.loads((tmp_path / "c2" / "metrics.json").read_text())["reasons"]
    assert reasons[0].startswith("test accuracy") and "is not at most" not in reasons[0]
    assert "is not at least 0.999" in reasons[0]


def test_evaluate_judges_a_bundle_on_new_labelled_data(cli, tmp_path, btc_slice):
    data = _sklearn_csv(tmp_path, load_breast_cancer, "cancer")
    config = tmp_path / "cancer.yaml"
    cli("init", data, "--target", "target", "-o", config)
    run = tmp_path / "run"
    assert cli("run", config, "--out", run, "--quiet", *FAST)[0] == 0
    code, stdout, err = cli("evaluate", run / "bundle", data, "--gate", "--out", tmp_path / "eval")
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["verdict"] == "DEPLOY" and metrics["rows"] == {"test": 569}
    assert metrics["ci"]["difference"]["accuracy"][0] > 0
    assert (tmp_path / "eval" / "report.html").is_file() and (tmp_path / "eval" / "predictions.csv").is_file()

    frame = pd.read_csv(data).drop(columns=["target"])
    unlabelled = tmp_path / "unlabelled.csv"
    frame.to_csv(unlabelled, index=False)
    code, _, err = cli("evaluate", run / "bundle", unlabelled)
    assert code == 3 and "target column 'target' is missing" in err

    btc_config = _btc_forecast_config(tmp_path, btc_slice)
    assert cli("run", btc_config, "--out", tmp_path / "btc", "--quiet", *FAST)[0] == 0
    code, stdout, _ = cli("evaluate", tmp_path / "btc" / "bundle", btc_slice, "--gate", "--quiet")
    assert code == 4 and stdout.startswith("DO NOT DEPLOY")


def test_the_training_commands_start_up_with_their_imports_frozen():
    script = (
        "import gc, sys\n"
        "from layerwise.cli import start_up\n"
        "start_up(['predict', 'b', 'x.csv'])\n"
        "print('layerwise.experiment.run' in sys.modules, gc.get_freeze_count() > 0)\n"
        "gc.disable()\n"  # a caller's own setting is left as it was
        "start_up(['--debug', 'run', 'exp.yaml'])\n"
        "print('layerwise.experiment.run' in sys.modules, gc.get_freeze_count() > 0, gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["False False", "True True False"]
