"""`layerwise init`: the header says whether the task was the user's choice or a guess, and from what."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes

from layerwise.config import ExperimentConfig
from layerwise.data import read_table
from layerwise.errors import DataError


def _csv(tmp_path, loader, target, name):
    frame = loader(as_frame=True).frame.rename(columns={"target": target})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_inferred_task_says_it_was_inferred_and_from_what(cli, tmp_path):
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    code, _, err = cli("init", data, "--target", "diagnosis", "-o", config)
    assert code == 0, err
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: classification (inferred: target 'diagnosis' looks binary, 2 distinct values")
    assert "you chose" not in line and "--task" in line  # how to override the guess


def test_continuous_target_is_inferred_as_regression(cli, tmp_path):
    data = _csv(tmp_path, load_diabetes, "progression", "diabetes")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "progression", "-o", config)[0] == 0
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: regression (inferred: target 'progression' looks continuous")


def test_task_given_on_the_command_line_says_so(cli, tmp_path):
    # A 0/1 target the user wants treated as a number: their choice wins and the header says so.
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "diagnosis", "--task", "regression", "-o", config)[0] == 0
    text = config.read_text()
    assert text.splitlines()[1].startswith("# Task: regression (you chose it with --task)")
    assert "inferred" not in text.splitlines()[1]
    assert "  type: regression" in text


# Names from the data are hostile input: a header may hold YAML, line breaks, markup, words YAML reads as
# other things. `init` writes each as a value that reads back as exactly that name, and comments stay comments.
SECTIONS = {"data", "task", "model", "train"}
DATA_KEYS = {"path", "target", "split", "normalize"}
INJECTED = "z\nevaluate: {gates: {beat_baseline: false}}\n#"


def _noise(path, names, rows=12, quoting=csv.QUOTE_MINIMAL):
    """A CSV of Gaussian noise under `names`, written by pandas (which writes any header as it is)."""
    values = np.random.default_rng(0).normal(size=(rows, len(names)))
    pd.DataFrame(values, columns=names).to_csv(path, index=False, quoting=quoting)
    return path


def test_a_column_name_cannot_inject_config(cli, tmp_path):
    data = _noise(tmp_path / "noise.csv", ["a", INJECTED, "y"])
    config = tmp_path / "noise.yaml"
    code, _, err = cli("init", data, "--target", "y", "-o", config)
    assert code == 0, err
    raw = yaml.safe_load(config.read_text())
    assert set(raw) == SECTIONS  # the header's `evaluate:` stayed inside a comment
    assert ExperimentConfig.from_yaml(config).evaluate.gates.beat_baseline is True
    assert '#   "z\\nevaluate: {gates: {beat_baseline: false}}\\n#": numeric' in config.read_text()


@pytest.mark.parametrize("target", ["true", "null", "12", "[/]", "x\u2028y"])
def test_a_target_name_reads_back_as_itself(cli, tmp_path, target):
    data = _noise(tmp_path / "d.csv", ["a", target])
    config = tmp_path / "d.yaml"
    code, _, err = cli("init", data, f"--target={target}", "-o", config)
    assert code == 0, err  # "[/]" is not rich markup either: the echoed header line is plain text
    assert yaml.safe_load(config.read_text())["data"]["target"] == target
    assert ExperimentConfig.from_yaml(config).data.target == target


def test_a_hostile_file_name_stays_one_path(cli, tmp_path):
    folder = tmp_path / "my data #1"
    folder.mkdir()
    data = _noise(folder / "x\nevaluate: {}.csv", ["a", "y"])
    config = tmp_path / "exp.yaml"
    code, _, err = cli("init", data, "--target", "y", "-o", config)
    assert code == 0, err
    raw = yaml.safe_load(config.read_text())
    assert set(raw) == SECTIONS and raw["data"]["path"] == "my data #1/x\nevaluate: {}.csv"
    assert ExperimentConfig.from_yaml(config).data.path == str(data.resolve())


# Characters that break YAML or lines, words YAML reads as other things, and any other text.
HOSTILE = st.sampled_from(["\n", "\r", "\r\n", "\t", '"', "'", "#", ":", ": ", " #", "-", "[", "]", "{", "}", ",",
                           "&", "*", "!", "|", ">", "%", "@", "`", "\\", "\x85", "\u2028", "\x7f", "\x1b", "é", "ß",
                           "日本", "\U0001f600", " "])
WORDS = st.sampled_from(["true", "False", "null", "~", "yes", "on", "1e3", "12", "0x1F", ".inf", "NaN", "...", "---"])
NAME = st.one_of(WORDS, st.lists(st.one_of(HOSTILE, st.text(min_size=1, max_size=3)), min_size=1, max_size=5).map("".join))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAME, min_size=2, max_size=4, unique_by=str.strip), with_time=st.booleans())
def test_random_column_names_round_trip_through_init(cli, tmp_path, names, with_time):
    # The reader strips a name's outer spaces and refuses a blank one; NUL ends a C string.
    assume(all(n.strip() and "\x00" not in n for n in names))
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        # every field quoted: pandas leaves a lone "\r" unquoted, which no CSV reader takes back
        data = _noise(Path(folder) / "d.csv", names, quoting=csv.QUOTE_ALL)
        config = Path(folder) / "d.yaml"
        try:
            columns = list(read_table(data).columns)
        except DataError:  # a header the reader refuses (a quoted tab can look like a tab-separated file)
            assert cli("init", data, f"--target={names[0].strip()}", "-o", config)[0] == 3
            return
        assume(columns == [n.strip() for n in names])  # a leading BOM is the file's, not the name's
        target, time = columns[0], columns[1] if with_time else None
        code, _, err = cli("init", data, f"--target={target}", *([f"--time={time}"] if time else []), "-o", config)
        assert code == 0, err
        text = config.read_text()
    raw = yaml.safe_load(text)
    assert set(raw) == SECTIONS
    assert set(raw["data"]) == DATA_KEYS | ({"time"} if time else set())
    assert set(raw["task"]) == {"type"}
    assert set(raw["model"]) == {"type", "hidden", "activation", "dropout", "init"}
    assert set(raw["train"]) == {"optimizer", "lr", "batch_size", "epochs", "patience", "weight_decay", "seed"}
    assert raw["data"]["target"] == target and raw["data"].get("time") == time
    # the kind comments: one line per feature, each itself YAML `name: kind` naming the column exactly
    features = [c for c in columns if c not in (target, time)]
    lines = text.splitlines()
    start = lines.index("# Column kinds as inferred (id-like, constant and free-text columns are dropped by cleaning):") + 1
    assert lines[start + len(features)] == ""
    shown = [yaml.safe_load(line.removeprefix("#   ")) for line in lines[start:start + len(features)]]
    assert [next(iter(entry)) for entry in shown] == features
