"""ExperimentConfig: every problem at once, with key paths and did-you-mean; overrides."""

import pytest

from layerwise.config import ExperimentConfig
from layerwise.errors import ConfigError


def test_every_problem_is_reported_at_once():
    raw = {
        "data": {"targt": "y", "split": {"train": 0.5, "val": 0.1, "test": 0.1}},
        "train": {"lr": -1, "optimzer": "adam", "epochs": "ten"},
        "model": {"activation": "rellu", "hidden": [0, 3]},
        "modle": {},
    }
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(raw)
    text = str(info.value)
    problems = info.value.problems
    assert problems[0].startswith("data.target: required key is missing")
    assert "data.targt: unknown key (did you mean 'target'?)" in problems
    assert "modle: unknown key (did you mean 'model'?)" in problems
    assert "train.optimzer: unknown key (did you mean 'optimizer'?)" in problems
    assert any(p.startswith("train.lr:") and "greater than 0" in p for p in problems)
    assert any(p.startswith("train.epochs:") for p in problems)
    assert any(p.startswith("model.activation:") and "did you mean 'relu'" in p for p in problems)
    assert any(p.startswith("model.hidden.0:") for p in problems)
    assert any(p.startswith("data.split:") and "sum to 1" in p for p in problems)
    assert "9 problems" in text


def test_overrides_by_dotted_path_parse_yaml_values(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("data: {path: d.csv, target: y}\n", encoding="utf-8")
    cfg = ExperimentConfig.from_yaml(path, ["train.lr=0.01", "model.hidden=[8, 4]", "data.split.gap=3"])
    assert cfg.train.lr == 0.01
    assert cfg.model.hidden == [8, 4]
    assert cfg.data.split.gap == 3
    # a relative data path is taken relative to the YAML file
    assert cfg.data.path == str((tmp_path / "d.csv").resolve())


def test_override_of_unknown_key_names_it():
    cfg = ExperimentConfig.from_dict({"data": {"target": "y"}})
    with pytest.raises(ConfigError, match=r"train.lrr: unknown key \(did you mean 'lr'\?\)"):
        cfg.with_overrides(["train.lrr=0.1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        cfg.with_overrides(["train.lr"])


def test_round_trip_through_a_plain_dict():
    cfg = ExperimentConfig.from_dict({"data": {"target": "y", "features": ["a"]}, "model": {"hidden": [3]}})
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg


def test_yaml_is_read_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("data: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        ExperimentConfig.from_yaml(path)
