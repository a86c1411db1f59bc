"""ExperimentConfig: every problem at once, with key paths and did-you-mean; overrides; hostile YAML."""

import numpy as np
import pandas as pd
import pytest

from layerwise.config.schema import ExperimentConfig
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


def _bomb(levels: int, indent: str, item: str = "a{}: ") -> str:
    """Nested anchors: each level 9 aliases of the one below, 9**levels values from a few hundred bytes;
    entries of a mapping (a0: &a0 ...) or, with item="- ", of a list."""
    lines = [f"{indent}{item.format(0)}&a0 [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]"]
    lines += [f"{indent}{item.format(i)}&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _noise_csv(tmp_path):
    path = tmp_path / "noise.csv"
    pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "y"]).to_csv(path, index=False)
    return path


# 5 levels (66,430 values) keep the old behaviour quick to show: a message of megabytes. The 9 anchors of
# the report (579 bytes, 435 million values) ran out of memory; the loader refuses both alike.
@pytest.mark.parametrize("where", ["class_weights", "tune.space", "--set"])
def test_an_alias_bomb_is_refused_when_read(cli, tmp_path, where):
    text, options = "data: {path: d.csv, target: y}\n", []
    if where == "class_weights":
        text += "train:\n  class_weights:\n" + _bomb(5, "    ")
    elif where == "tune.space":
        text += "tune:\n  space:\n    model.hidden:\n      choice:\n" + _bomb(5, "        ", "- ")
    else:
        options = ["--set", "train.class_weights={" + _bomb(5, "").replace("\n", ", ").rstrip(", ") + "}"]
    config = tmp_path / "bomb.yaml"
    config.write_text(text, encoding="utf-8")
    code, _, err = cli("run", config, "--out", tmp_path / "run", *options)
    assert code == 2, err
    assert "aliases expand to more than 10,000 values" in err and "&a5 (line" in err
    assert ("--set train.class_weights:" if where == "--set" else "bomb.yaml:") in err
    assert len(err) < 1000


def test_the_alias_bomb_of_the_report_fails_fast_naming_the_file(tmp_path):
    from layerwise.config.schema import MAX_ALIAS_VALUES

    config = tmp_path / "bomb.yaml"
    config.write_text("data: {path: d.csv, target: y}\ntrain:\n  class_weights:\n" + _bomb(8, "    "), encoding="utf-8")
    assert len(config.read_bytes()) < 600
    with pytest.raises(
        ConfigError,
        match=rf"bomb\.yaml: its aliases expand to more than {MAX_ALIAS_VALUES:,} values.*"
        r"&a8 \(line 12\) alone stands for 435,848,050",
    ):
        ExperimentConfig.from_yaml(config)
    # a block reused a few times is still fine
    config.write_text(
        "data: {path: d.csv, target: y}\nmodel: {hidden: &w [8, 8]}\n"
        "tune: {space: {model.hidden: {choice: [*w, [4]]}}}\n",
        encoding="utf-8",
    )
    cfg = ExperimentConfig.from_yaml(config)
    assert cfg.model.hidden == [8, 8] and cfg.tune.space["model.hidden"] == {"choice": [[8, 8], [4]]}


@pytest.mark.parametrize(
    "text, message",
    [
        ("data: {path: d.csv, target: y}\ntrain: {class_weights: &a {x: *a}}\n", "refers to a value that contains it"),
        ("data: {path: d.csv, target: y}\nmodel: {hidden: " + "[" * 2000 + "]" * 2000 + "}\n", "nested more than 100"),
    ],
    ids=["cycle", "deep"],
)
def test_cyclic_and_deeply_nested_yaml_is_a_config_error(cli, tmp_path, text, message):
    config = tmp_path / "odd.yaml"
    config.write_text(text, encoding="utf-8")
    code, _, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 2 and "odd.yaml" in err and message in err, err


def test_a_long_value_is_cut_in_messages():
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(
            {
                "data": {"target": "y"},
                "model": {"activation": "x" * 100_000},
                "train": {"optimizer": [list(range(1000))] * 1000},
            }
        )
    assert all(len(p) < 400 for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    "setting, key",
    [
        ("train.lr=inf", "train.lr"),  # passed `gt=0`, failed after the data work
        ("train.lr=.nan", "train.lr"),
        ("train.clip_grad=.inf", "train.clip_grad"),
        ("evaluate.gates.min={accuracy: .nan}", "evaluate.gates.min.accuracy"),
        ("train.class_weights={a: -.inf}", "train.class_weights"),
    ],
)
def test_non_finite_numbers_are_refused_before_the_data_is_read(cli, tmp_path, setting, key):
    config = tmp_path / "exp.yaml"
    config.write_text(
        f"data: {{path: {_noise_csv(tmp_path)}, target: y}}\n"
        "train: {epochs: 1}\nevaluate: {bootstrap: 10, report: false}\n",
        encoding="utf-8",
    )
    code, _, err = cli("run", config, "--out", tmp_path / "run", "--set", setting)
    assert code == 2, err
    assert f"{key}" in err and "finite number" in err
    assert "cleaning:" not in err and not (tmp_path / "run").exists()  # refused before any data work
