"""The search on iris (real, small): grid, random, TPE, pruning, resume, best.yaml, cv, bad input."""

from __future__ import annotations

import json
from functools import partial

import optuna
import pandas as pd
import pytest
import yaml

from layerwise import ConfigError, Experiment, ExperimentConfig
from layerwise.errors import UsageError
from layerwise.experiment.run import run_config, validate_config
from layerwise.tuning import search

QUICK = {"epochs": 3, "patience": None, "batch_size": 16}
QUIET = {"bootstrap": 0, "report": False, "leakage": False}


def _cfg(space, **tune):
    return {
        "data": {"target": "target"},
        "model": {"hidden": [8]},
        "train": QUICK,
        "evaluate": QUIET,
        "tune": {"space": space, **tune},
    }


def _study(out):
    return optuna.load_study(study_name="layerwise", storage=f"sqlite:///{out / 'study.db'}")


def test_grid_visits_every_point_exactly_once(tmp_path, iris):
    space = {"train.lr": {"log_uniform": [0.001, 0.1], "points": 3}, "model.hidden": {"choice": [[4], [8, 8]]}}
    found = Experiment(_cfg(space, method="grid", pruner="none", trials=None), data=iris).tune(tmp_path)
    table = pd.read_csv(tmp_path / "tuning.csv")
    assert len(table) == 6 and set(table["state"]) == {"COMPLETE"}
    points = set(zip(table["train.lr"].round(6), table["model.hidden"]))
    assert points == {(lr, h) for lr in (0.001, 0.01, 0.1) for h in ("[4]", "[8, 8]")}
    assert found.summary["epochs_spent"] == 6 * 3
    best = table.loc[table["value"].idxmax()]
    assert found.best_value == pytest.approx(best["value"])
    for name in (
        "best.yaml",
        "tuning.json",
        "optimization_history.png",
        "param_importances.png",
        "parallel_coordinate.png",
        "best/metrics.json",
        "best/bundle/model.safetensors",
    ):
        assert (tmp_path / name).is_file(), name


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_random_and_tpe_respect_bounds_and_log_scale(tmp_path, iris, method):
    space = {
        "train.lr": {"log_uniform": [1e-3, 1e-1]},
        "model.dropout": {"uniform": [0.0, 0.3]},
        "train.batch_size": {"int": [8, 32], "step": 8},
    }
    Experiment(_cfg(space, method=method, trials=6, pruner="none"), data=iris).tune(tmp_path)
    study = _study(tmp_path)
    assert len(study.trials) == 6
    for trial in study.trials:
        assert 1e-3 <= trial.params["train.lr"] <= 1e-1 and 0 <= trial.params["model.dropout"] <= 0.3
        assert trial.params["train.batch_size"] in (8, 16, 24, 32)
        assert trial.distributions["train.lr"].log and not trial.distributions["model.dropout"].log


def test_pruning_stops_hopeless_trials_early(tmp_path, iris):
    # lr 1e-5 barely moves in 6 epochs: the median pruner stops those trials after the warm-up
    space = {"train.lr": {"choice": [0.05, 0.03, 0.02, 1e-5, 2e-5, 3e-5]}}
    cfg = _cfg(space, method="grid", pruner="median", trials=None)
    cfg["train"] = {**QUICK, "epochs": 6}
    found = Experiment(cfg, data=iris).tune(tmp_path)
    table = pd.read_csv(tmp_path / "tuning.csv")
    pruned = table[table["state"] == "PRUNED"]
    assert len(pruned) >= 2 and (pruned["train.lr"] < 1e-4).all()
    assert (pruned["epochs"] < 6).all()
    assert found.summary["epochs_spent"] < 6 * 6


def test_an_interrupted_study_resumes_without_repeating_finished_trials(tmp_path, iris):
    cfg = ExperimentConfig.from_dict(_cfg({"train.lr": {"log_uniform": [1e-3, 1e-1]}}, trials=4, pruner="none"))
    calls = []

    def interrupted(config, callbacks=(), *, folds=None):
        calls.append(config.train.lr)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the third trial
        return validate_config(config, callbacks, folds=folds, data=iris)

    run = partial(run_config, data=iris)
    with pytest.raises(KeyboardInterrupt):
        search(cfg, task="classification", validate=interrupted, run=run, out=tmp_path)
    before = {t.number: (t.params, t.value) for t in _study(tmp_path).trials if t.state.name == "COMPLETE"}
    assert len(before) == 2

    calls.clear()
    search(cfg, task="classification", validate=partial(validate_config, data=iris), run=run, out=tmp_path)
    trials = _study(tmp_path).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 and len(calls) == 0
    assert {t.number: (t.params, t.value) for t in complete if t.number in before} == before
    assert [t.state.name for t in trials].count("FAIL") == 1


def test_best_yaml_runs_and_reproduces_the_best_trial(tmp_path, iris, cli):
    data = tmp_path / "iris.csv"
    iris.to_csv(data, index=False)
    cfg = _cfg(
        {"train.lr": {"choice": [0.003, 0.03]}, "model.hidden": {"choice": [[4], [16]]}},
        method="grid",
        pruner="none",
        trials=None,
    )
    cfg["data"]["path"] = str(data)
    config = tmp_path / "iris.yaml"
    config.write_text(yaml.safe_dump(cfg))
    code, out, err = cli("tune", config, "--out", tmp_path / "tuned", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "tuned" / "tuning.json").read_text())
    assert summary["refit_value"] == pytest.approx(summary["best_value"], abs=1e-3)
    assert "tune" not in yaml.safe_load((tmp_path / "tuned" / "best.yaml").read_text())
    code, _, err = cli("run", tmp_path / "tuned" / "best.yaml", "--out", tmp_path / "again", "--quiet")
    assert code == 0, err
    history = pd.read_csv(tmp_path / "again" / "history.csv")
    assert history["val_metric"].iloc[-1] == pytest.approx(summary["best_value"], abs=1e-3)


def test_run_with_a_tune_section_tunes_first(tmp_path, iris):
    cfg = _cfg({"train.lr": {"choice": [0.01, 0.05]}}, method="grid", pruner="none", trials=None)
    result = Experiment(cfg, data=iris).run(out=tmp_path)
    assert result.out == tmp_path / "best" and (tmp_path / "tuning.csv").is_file()
    assert result.config.tune is None and result.metrics["verdict"] in ("DEPLOY", "DO NOT DEPLOY")


def test_cross_validation_scores_k_folds_never_the_test_rows(tmp_path, iris):
    seen = []

    def recording(config, callbacks=(), *, folds=None):
        found = validate_config(config, callbacks, folds=folds, data=iris)
        seen.append(found)
        return found

    cfg = ExperimentConfig.from_dict(_cfg({"train.lr": {"choice": [0.01, 0.05]}}, method="grid", cv=3))
    found = search(cfg, task="classification", validate=recording, run=partial(run_config, data=iris), out=tmp_path)
    assert [len(v.kept) for v in seen] == [3, 3]
    assert found.summary["epochs_spent"] == 2 * 3 * 3
    assert found.best_value == pytest.approx(max(v.value("val_metric") for v in seen))


def test_time_ordered_folds_for_a_series(btc_slice, tmp_path):
    from layerwise.tasks import prepare_again
    from layerwise.tuning.folds import folds

    cfg = ExperimentConfig.from_dict(
        {
            "data": {
                "path": str(btc_slice),
                "target": "Close",
                "time": "Date",
                "features": ["Close"],
                "window": {"lookback": 5},
            },
            "task": {"type": "forecast"},
        }
    )
    task, _, prepared = prepare_again(cfg)
    parts = folds(cfg, task, prepared, 3)
    first_test = prepared.index["test"][0]
    for part in parts:
        assert part.index["train"][-1] + 6 <= part.index["val"][0]  # the past only, with the gap
        assert part.index["val"][-1] < first_test
        assert (part.index["test"] == prepared.index["test"]).all()


def test_a_study_name_with_a_different_space_is_refused(tmp_path, iris):
    first = _cfg({"train.lr": {"choice": [0.01]}}, method="grid", pruner="none", trials=None)
    Experiment(first, data=iris).tune(tmp_path)
    other = _cfg({"train.lr": {"choice": [0.02]}}, method="grid", pruner="none", trials=None)
    with pytest.raises(ConfigError, match="already exists with a different search"):
        Experiment(other, data=iris).tune(tmp_path)
    Experiment(other, data=iris).tune(tmp_path, resume_study=True)


def test_an_unreachable_storage_names_host_and_port_before_training(tmp_path, iris):
    calls = []
    cfg = ExperimentConfig.from_dict(
        _cfg({"train.lr": {"choice": [0.01]}}, storage="postgresql://u:secret@127.0.0.1:9/db")
    )
    with pytest.raises(UsageError, match=r"cannot reach PostgreSQL at 127\.0\.0\.1:9") as err:
        search(cfg, task="classification", validate=lambda *a, **k: calls.append(a), run=None, out=tmp_path)
    assert not calls and "secret" not in str(err.value)


def test_bounds_that_make_an_invalid_config_are_reported_before_training(tmp_path, iris, cli):
    cfg = _cfg({"model.dropout": {"uniform": [0.0, 1.5]}, "train.batch_size": {"choice": [0, 8]}})
    with pytest.raises(ConfigError) as err:
        Experiment(cfg, data=iris).tune(tmp_path)
    text = str(err.value)
    assert "tune.space.model.dropout = 1.5" in text and "tune.space.train.batch_size = 0" in text
    assert not (tmp_path / "study.db").exists()


def test_cli_exit_code_for_a_bad_space(tmp_path, cli):
    config = tmp_path / "bad.yaml"
    config.write_text(
        yaml.safe_dump(
            {"data": {"target": "y", "path": "x.csv"}, "tune": {"space": {"train.lrr": {"uniform": [0, 1]}}}}
        )
    )
    code, _, err = cli("tune", config)
    assert code == 2 and "did you mean 'train.lr'" in err
