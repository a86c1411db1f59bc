"""The search space: parsing, every bad input with its key path, grid values, config mapping."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest

from layerwise import ConfigError, ExperimentConfig
from layerwise.config.space import Space, apply

BASE = {"data": {"target": "y"}}


def _tune(space, **tune):
    return ExperimentConfig.from_dict({**BASE, "tune": {"space": space, **tune}})


def test_a_good_space_round_trips_through_the_config():
    space = {
        "train.lr": {"log_uniform": [1e-4, 1e-1]},
        "model.dropout": {"uniform": [0.0, 0.5], "points": 3},
        "train.batch_size": {"int": [16, 64], "step": 16},
        "model.hidden": {"choice": [[64, 64], [8]]},
    }
    cfg = _tune(space)
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert Space.parse(cfg.tune.space).to_dict() == space


@pytest.mark.parametrize(
    "space, message",
    [
        ({}, "needs at least one entry"),
        ({"train.lrr": {"uniform": [0, 1]}}, "did you mean 'train.lr'"),
        ({"train.lr": {"uniform": [0.1, 0.01]}}, "wrong order"),
        ({"train.lr": {"log_uniform": [0.0, 0.1]}}, "above zero"),
        ({"train.lr": {"uniforn": [0.0, 0.1]}}, "did you mean 'uniform'"),
        ({"train.lr": {"uniform": [0.1]}}, "expected [low, high]"),
        ({"train.lr": 0.1}, "expected a mapping"),
        ({"model.hidden": {"choice": []}}, "non-empty list"),
        ({"train.epochs": {"int": [1.5, 4]}}, "whole numbers"),
    ],
)
def test_bad_spaces_name_the_key(space, message):
    with pytest.raises(ConfigError) as err:
        _tune(space)
    assert "tune.space" in str(err.value) and message in str(err.value)


def test_grid_refuses_a_continuous_range_without_points():
    with pytest.raises(ConfigError, match=r"train\.lr: grid search needs discrete values.*points"):
        _tune({"train.lr": {"uniform": [0.001, 0.1]}}, method="grid")
    _tune({"train.lr": {"log_uniform": [0.001, 0.1], "points": 3}}, method="grid")


def test_grid_values():
    space = Space.parse(
        {
            "train.lr": {"log_uniform": [0.001, 0.1], "points": 3},
            "train.epochs": {"int": [2, 8], "step": 3},
            "model.dropout": {"uniform": [0.0, 0.5], "step": 0.25},
            "model.hidden": {"choice": [[1, 2], [3]]},
        }
    )
    grid = space.grid()
    assert grid["train.lr"] == pytest.approx([0.001, 0.01, 0.1])
    assert grid["train.epochs"] == [2, 5, 8]
    assert grid["model.dropout"] == [0.0, 0.25, 0.5]
    assert grid["model.hidden"] == ["[1, 2]", "[3]"]
    assert space.decode({"model.hidden": "[1, 2]", "train.lr": 0.01}) == {"model.hidden": [1, 2], "train.lr": 0.01}


def test_suggestions_respect_bounds_and_log_scale():
    space = Space.parse({"train.lr": {"log_uniform": [1e-4, 1e-1]}, "train.epochs": {"int": [2, 10], "step": 2}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    points = [space.suggest(study.ask()) for _ in range(200)]
    lrs = [p["train.lr"] for p in points]
    assert all(1e-4 <= v <= 1e-1 for v in lrs)
    # on a log scale about half the draws fall below the geometric midpoint 0.00316
    assert 0.35 < sum(v < 10**-2.5 for v in lrs) / len(lrs) < 0.65
    assert {p["train.epochs"] for p in points} <= {2, 4, 6, 8, 10}
    assert study.trials[0].distributions["train.lr"].log


def test_apply_sets_dotted_paths_on_a_copy():
    raw = {"train": {"lr": 0.1}, "data": {"target": "y"}}
    out = apply(raw, {"train.lr": 0.01, "data.split.val": 0.2})
    assert out["train"]["lr"] == 0.01 and out["data"]["split"] == {"val": 0.2}
    assert raw["train"]["lr"] == 0.1


def test_a_plain_list_is_a_choice():
    # the config reference says "a range or a list of choices"; a list used to be refused
    space = Space.parse({"model.hidden": [[4], [8, 8]], "train.batch_size": [16, 32]})
    assert space.to_dict() == {"model.hidden": {"choice": [[4], [8, 8]]}, "train.batch_size": {"choice": [16, 32]}}
    assert space.grid() == {"model.hidden": ["[4]", "[8, 8]"], "train.batch_size": [16, 32]}
    with pytest.raises(ConfigError, match=r"tune\.space: train\.lr\.choice: expected a non-empty list"):
        _tune({"train.lr": []})


def test_tune_searches_a_plain_list_from_the_command_line(cli, tmp_path, iris):
    data = tmp_path / "iris.csv"
    iris.to_csv(data, index=False)
    config = tmp_path / "iris.yaml"
    config.write_text(
        f"data: {{path: {data}, target: target}}\nmodel: {{hidden: [8]}}\n"
        "train: {epochs: 2, patience: null, batch_size: 16}\n"
        "evaluate: {bootstrap: 0, report: false, leakage: false}\n"
        "tune: {method: grid, trials: null, pruner: none, space: {model.hidden: [[4], [8, 8]]}}\n",
        encoding="utf-8",
    )
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned", "--quiet")
    assert code == 0, err
    tried = pd.read_csv(tmp_path / "tuned" / "tuning.csv")["model.hidden"]
    assert sorted(tried) == ["[4]", "[8, 8]"]
