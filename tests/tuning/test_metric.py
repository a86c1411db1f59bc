"""tune.metric: any metric the evaluation computes, in its own direction, computed on the
validation split each epoch (train.metric), recorded in tuning.json and best.yaml; a metric the
data cannot give is refused before the search. Oracle: scikit-learn's f1_score."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer

from layerwise import ConfigError, Experiment, ExperimentConfig, bundle
from layerwise.tasks import prepare_again
from layerwise.tuning.objective import direction

QUICK = {"epochs": 3, "patience": None, "batch_size": 32}
QUIET = {"bootstrap": 0, "report": False, "leakage": False}


def _config(tmp_path, frame, name, **tune):
    data = tmp_path / f"{name}.csv"
    frame.to_csv(data, index=False)
    config = {
        "data": {"path": str(data), "target": "target"},
        "model": {"hidden": [8]},
        "train": QUICK,
        "evaluate": QUIET,
        "tune": {
            "method": "grid",
            "pruner": "none",
            "trials": None,
            "space": {"train.lr": {"choice": [0.0003, 0.003, 0.03]}},
            **tune,
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_each_metric_is_optimized_in_its_own_direction():
    assert [direction(m) for m in ("f1_macro", "roc_auc", "r2", "log_loss", "mape", "loss")] == [
        "maximize",
        "maximize",
        "maximize",
        "minimize",
        "minimize",
        "minimize",
    ]


def test_tune_maximizes_validation_f1_and_records_it(cli, tmp_path):
    config = _config(tmp_path, load_breast_cancer(as_frame=True).frame, "cancer", metric="f1_macro")
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "tuned" / "tuning.json").read_text())
    table = pd.read_csv(tmp_path / "tuned" / "tuning.csv")
    assert summary["metric"] == "validation f1_macro" and summary["direction"] == "maximize"
    assert summary["best_value"] == pytest.approx(table["value"].max())
    assert summary["refit_value"] == pytest.approx(summary["best_value"], abs=1e-6)
    best = yaml.safe_load((tmp_path / "tuned" / "best.yaml").read_text())
    assert best["train"]["metric"] == "f1_macro" and "tune" not in best

    # the per-epoch value is macro F1 of the kept weights on the validation rows
    code, _, err = cli("run", tmp_path / "tuned" / "best.yaml", "--out", tmp_path / "again", "--quiet")
    assert code == 0, err
    history = pd.read_csv(tmp_path / "again" / "history.csv")
    cfg = ExperimentConfig.from_yaml(tmp_path / "tuned" / "best.yaml")
    prepared = prepare_again(cfg)[2]
    df = prepared.frame
    rows = df.iloc[prepared.index["val"]]
    predicted = bundle.load(tmp_path / "again" / "bundle").predict(rows.drop(columns=["target"]))["prediction"]
    actual, predicted = rows["target"].to_numpy(dtype=int), predicted.to_numpy(dtype=int)
    oracle = skm.f1_score(actual, predicted, average="macro")
    assert history["val_metric"].iloc[-1] == pytest.approx(oracle)
    assert history["val_metric"].iloc[-1] == pytest.approx(summary["best_value"], abs=1e-6)
    assert oracle != pytest.approx(skm.accuracy_score(actual, predicted))  # not accuracy by another name


def test_a_metric_the_data_cannot_give_is_refused_before_the_search(cli, tmp_path, iris):
    code, _, err = cli("tune", _config(tmp_path, iris, "iris", metric="roc_auc"), "--out", tmp_path / "a")
    assert code == 2 and "tune.metric: 'roc_auc' needs two classes and this target has 3" in err
    assert not (tmp_path / "a" / "study.db").exists()
    rng = np.random.default_rng(0)
    crossing = pd.DataFrame({"x": rng.normal(size=200)})
    crossing["target"] = crossing["x"] + rng.normal(0, 0.3, 200)  # takes both signs
    code, _, err = cli("tune", _config(tmp_path, crossing, "signs", metric="mape"), "--out", tmp_path / "b")
    assert code == 2 and "tune.metric: 'mape' is undefined: the target takes zero or changes sign" in err
    code, _, err = cli("tune", _config(tmp_path, crossing, "kind", metric="f1_macro"), "--out", tmp_path / "c")
    assert code == 2 and "tune.metric: 'f1_macro' is not a regression metric" in err
    assert "Traceback" not in err and not (tmp_path / "b" / "study.db").exists()


def test_a_study_that_optimized_auto_goes_on_when_the_same_metric_is_named(tmp_path, iris):
    raw = yaml.safe_load(_config(tmp_path, iris, "iris").read_text())
    raw["train"]["epochs"] = 1
    raw["tune"]["space"] = {"train.lr": {"choice": [0.01]}}
    Experiment(raw).tune(tmp_path / "t")  # auto: accuracy
    raw["tune"]["metric"] = "accuracy"
    Experiment(raw).tune(tmp_path / "t")  # the same search, not "a different search"
    raw["tune"]["metric"] = "log_loss"
    with pytest.raises(ConfigError, match="already exists with a different search"):
        Experiment(raw).tune(tmp_path / "t")


def test_train_metric_is_refused_where_no_epoch_computes_one(cli, tmp_path):
    config = tmp_path / "names.yaml"
    config.write_text(
        yaml.safe_dump(
            {"data": {"path": "names.txt"}, "task": {"type": "generation"}, "train": {"metric": "accuracy"}}
        ),
        encoding="utf-8",
    )
    code, _, err = cli("run", config)
    assert code == 2 and "train.metric: 'accuracy' is a metric of tables and series; generation" in err


def test_a_changed_train_metric_does_not_stop_a_resume():
    from layerwise.experiment.run import fingerprint

    cfg = ExperimentConfig.from_dict({"data": {"target": "y"}, "train": {"metric": "r2"}})
    assert "metric" not in fingerprint(cfg, "digest")["train"]  # it is watched, not learned
