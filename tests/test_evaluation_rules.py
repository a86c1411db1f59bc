"""Evaluation rules through the CLI (issue 18, item 5): the constant baseline follows the deciding
metric, seasonal naive beside persistence for a series with a known season, and a forecast's
multi-step RMSE as scikit-learn defines it. Oracles: numpy on the training rows, a pandas shift
of the BTC closes, scikit-learn's root_mean_squared_error."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from layerwise import ExperimentConfig
from layerwise.tasks import prepare_again

QUICK = {"epochs": 3, "patience": None, "batch_size": 32}


def _write(path, config):
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def skewed(tmp_path):
    """A regression whose target is log-normal: its mean sits well above its median."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": np.exp(x[:, 0] + rng.normal(0, 0.8, 400))})
    path = tmp_path / "skewed.csv"
    frame.to_csv(path, index=False)
    config = {
        "data": {"path": str(path), "target": "y"},
        "model": {"hidden": [8]},
        "train": QUICK,
        "evaluate": {"bootstrap": 50, "report": False},
    }
    return _write(tmp_path / "skewed.yaml", config)


def _training_target(config_path) -> np.ndarray:
    """The oracle: the run's own training rows, split as the run splits them."""
    cfg = ExperimentConfig.from_yaml(config_path)
    prepared = prepare_again(cfg)[2]
    return prepared.actual["train"]


def test_a_regression_judged_on_mae_stands_beside_the_training_median(cli, tmp_path, skewed):
    train = _training_target(skewed)
    runs = {}
    for metric in ("auto", "rmse"):
        out = tmp_path / metric
        code, stdout, err = cli("run", skewed, "--out", out, "--set", f"evaluate.metric={metric}")
        assert code == 0, err
        runs[metric] = (json.loads((out / "metrics.json").read_text()), pd.read_csv(out / "predictions.csv"), stdout)
    metrics, table, stdout = runs["auto"]
    assert metrics["primary_metric"] == "mae" and metrics["baseline_name"] == "the training median"
    assert metrics["baseline_fit"] == {
        "mean": [pytest.approx(train.mean())],
        "median": [pytest.approx(np.median(train))],
    }
    assert np.allclose(table["baseline"], np.median(train))
    assert metrics["baseline"]["mae"] == pytest.approx(np.abs(table["actual"] - np.median(train)).mean())
    assert "baseline: the training median; * decides" in stdout and "the training median" in metrics["finding"]
    squared, squared_table, stdout = runs["rmse"]
    assert squared["baseline_name"] == "the training mean" and np.allclose(squared_table["baseline"], train.mean())
    assert "baseline: the training mean; * decides" in stdout
    # on a skewed target the mean is the easier constant to beat on MAE: the reason for the rule
    assert metrics["baseline"]["mae"] < squared["baseline"]["mae"]


def _resign(bundle, metrics):
    """A bundle's metrics.json rewritten, its manifest's sha256 with it (as an older version saved it)."""
    (bundle / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["sha256"]["metrics.json"] = hashlib.sha256((bundle / "metrics.json").read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_evaluate_uses_the_saved_median_and_an_old_bundles_mean(cli, tmp_path, skewed):
    train = _training_target(skewed)
    assert cli("run", skewed, "--out", tmp_path / "run", "--quiet")[0] == 0
    data = yaml.safe_load(skewed.read_text())["data"]["path"]
    code, _, err = cli("evaluate", tmp_path / "run" / "bundle", data, "--out", tmp_path / "eval", "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["baseline_name"] == "the training median"
    assert np.allclose(pd.read_csv(tmp_path / "eval" / "predictions.csv")["baseline"], np.median(train))

    old = tmp_path / "old-bundle"
    shutil.copytree(tmp_path / "run" / "bundle", old)
    saved = json.loads((old / "metrics.json").read_text())
    saved["baseline_fit"] = {"mean": saved["baseline_fit"]["mean"]}  # before medians were kept
    _resign(old, saved)
    code, stdout, err = cli("evaluate", old, data, "--out", tmp_path / "eval-old")
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval-old" / "metrics.json").read_text())
    # the finding names the baseline it was judged against, whichever way it went
    assert metrics["baseline_name"] == "the training mean" and "the training mean" in metrics["finding"]
    assert np.allclose(pd.read_csv(tmp_path / "eval-old" / "predictions.csv")["baseline"], train.mean())
    assert any("keeps only its training mean" in note for note in metrics["notes"])
    assert "note: this bundle keeps only its training mean" in stdout


def _btc(tmp_path, btc_slice, name="btc", **evaluate):
    config = {
        "data": {
            "path": str(btc_slice),
            "target": "Close",
            "time": "Date",
            "features": ["Close"],
            "window": {"lookback": 10, "horizon": 1},
            "transform": "log_return",
        },
        "task": {"type": "forecast"},
        "model": {"hidden": [16]},
        "train": QUICK,
        "evaluate": {"bootstrap": 50, "report": False, **evaluate},
    }
    return _write(tmp_path / f"{name}.yaml", config)


def _shifted(btc_slice, table, rows):
    """The oracle: each forecast row's close `rows` rows earlier in the file, by its date."""
    closes = pd.read_csv(btc_slice).set_index("Date")["Close"]
    return closes.shift(rows).loc[table["Date"]].to_numpy()


def test_a_week_season_is_reported_beside_persistence_which_decides(cli, tmp_path, btc_slice):
    code, stdout, err = cli("run", _btc(tmp_path, btc_slice, season=7), "--out", tmp_path / "run")
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert metrics["baseline_name"].startswith("persistence")
    assert np.allclose(table["baseline"], _shifted(btc_slice, table, 1))  # tomorrow = today
    (seasonal,) = metrics["other_baselines"]
    assert seasonal["name"].startswith("seasonal naive ('as 7 rows before')")
    oracle = _shifted(btc_slice, table, 7)  # next week's day = this week's
    assert seasonal["baseline"]["mae"] == pytest.approx(np.abs(table["actual"] - oracle).mean())
    assert seasonal["baseline"]["rmse"] == pytest.approx(skm.root_mean_squared_error(table["actual"], oracle))
    assert seasonal["beats_baseline"] == (metrics["test"]["mae"] < seasonal["baseline"]["mae"])
    assert f"other baseline: {seasonal['finding']}" in stdout and "seasonal naive ('as 7" in seasonal["finding"]
    assert [c["gate"] for c in metrics["checks"]] == ["beat_baseline"]  # seasonal naive decides nothing here


def test_seasonal_naive_decides_when_asked_in_the_run_and_in_evaluate(cli, tmp_path, btc_slice):
    config = _btc(tmp_path, btc_slice, season=7, baseline="seasonal_naive")
    code, stdout, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert metrics["baseline_name"].startswith("seasonal naive ('as 7 rows before')")
    assert np.allclose(table["baseline"], _shifted(btc_slice, table, 7))
    assert metrics["baseline"]["mae"] == pytest.approx(np.abs(table["actual"] - table["baseline"]).mean())
    assert "seasonal naive ('as 7 rows before')" in metrics["checks"][0]["detail"]  # the gate judges beside it
    (persistence,) = metrics["other_baselines"]
    assert persistence["name"].startswith("persistence")
    assert persistence["baseline"]["mae"] == pytest.approx(
        np.abs(table["actual"] - _shifted(btc_slice, table, 1)).mean()
    )
    assert "baseline: seasonal naive ('as 7 rows before'); * decides" in stdout
    assert "other baseline: The network" in stdout and "persistence ('tomorrow" in persistence["finding"]

    code, _, err = cli("evaluate", tmp_path / "run" / "bundle", btc_slice, "--out", tmp_path / "eval", "--quiet")
    assert code == 0, err
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    rows = pd.read_csv(tmp_path / "eval" / "predictions.csv")
    assert again["baseline_name"] == metrics["baseline_name"]
    assert np.allclose(rows["baseline"], _shifted(btc_slice, rows, 7))
    assert again["other_baselines"][0]["name"] == persistence["name"]


def test_a_seasonal_baseline_where_it_cannot_be_computed_is_a_config_error(cli, tmp_path, btc_slice, skewed):
    code, _, err = cli("run", skewed, "--out", tmp_path / "reg", "--set", "evaluate.season=7")
    assert code == 2 and "evaluate.season: 7 sets seasonal naive, a forecast baseline, and task.type is auto" in err
    code, _, err = cli("run", skewed, "--out", tmp_path / "reg", "--set", "evaluate.baseline=seasonal_naive")
    assert code == 2 and "evaluate.baseline: 'seasonal_naive' is a forecast baseline" in err
    code, _, err = cli("run", _btc(tmp_path, btc_slice, baseline="seasonal_naive"), "--out", tmp_path / "f")
    assert code == 2 and "evaluate.baseline: 'seasonal_naive' needs evaluate.season" in err
    code, _, err = cli("run", _btc(tmp_path, btc_slice, season=14), "--out", tmp_path / "f")
    assert code == 2 and "evaluate.season: 14 is longer than data.window.lookback 10" in err
    assert "Traceback" not in err and not (tmp_path / "reg").exists() and not (tmp_path / "f").exists()


def test_a_multi_step_forecasts_rmse_is_scikit_learns(cli, tmp_path, btc_slice):
    config = _btc(tmp_path, btc_slice)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["window"]["horizon"] = 3
    code, _, err = cli("run", _write(config, raw), "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    table = pd.read_csv(tmp_path / "run" / "predictions.csv")
    actual = table[[f"actual_{k}" for k in (1, 2, 3)]].to_numpy()
    for name, key in (("prediction", "test"), ("baseline", "baseline")):
        predicted = table[[f"{name}_{k}" for k in (1, 2, 3)]].to_numpy()
        assert metrics[key]["rmse"] == pytest.approx(skm.root_mean_squared_error(actual, predicted))
        assert metrics[key]["mae"] == pytest.approx(skm.mean_absolute_error(actual, predicted))
    assert metrics["test"]["rmse"] == pytest.approx(np.mean(metrics["per_step"]["rmse"]))
    assert metrics["baseline"]["rmse"] == pytest.approx(np.mean(metrics["per_step"]["baseline_rmse"]))


@pytest.fixture
def streamed(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=1500)})
    frame["y"] = np.exp(frame["a"] + rng.normal(0, 0.5, 1500))
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    config = {
        "data": {"path": str(path), "target": "y", "stream": {"enabled": True, "batch_rows": 400}},
        "task": {"type": "regression"},
        "model": {"hidden": [8]},
        "train": {**QUICK, "epochs": 2},
        "evaluate": {"bootstrap": 0, "report": False},
    }
    return frame, _write(tmp_path / "big.yaml", config)


def test_a_streamed_run_judges_beside_the_median_of_its_training_rows(cli, tmp_path, streamed, monkeypatch):
    from layerwise.data import streaming

    frame, config = streamed
    train = frame["y"][streaming.part_codes(np.arange(len(frame)), 0, (0.7, 0.15, 0.15)) == 0]
    code, _, err = cli("run", config, "--out", tmp_path / "all", "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert metrics["streamed"] is True and metrics["baseline_name"] == "the training median"
    # every training value fits the sample here: the median is exact
    assert metrics["baseline_fit"]["median"] == [pytest.approx(train.median())]
    assert metrics["baseline_fit"]["mean"] == [pytest.approx(train.mean())]
    assert not any("sample" in note for note in metrics["notes"])

    monkeypatch.setattr(streaming, "SAMPLE", 200)  # a file larger than the sample: estimated, and said so
    code, _, err = cli("run", config, "--out", tmp_path / "sampled", "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "sampled" / "metrics.json").read_text())
    assert any(f"uniform sample of 200 of the {len(train):,} training rows" in note for note in metrics["notes"])
    assert train.quantile(0.4) < metrics["baseline_fit"]["median"][0] < train.quantile(0.6)
