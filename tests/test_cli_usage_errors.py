"""Mistakes on the command line are exit 2 (or 3 for a data file) naming the option, found before any
work; a run folder given where a bundle is expected is taken for its bundle/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import layerwise


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> tuple[Path, Path]:
    """A run folder of a tiny regression, and a CSV of labelled rows."""
    folder = tmp_path_factory.mktemp("usage")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "city": rng.choice(["Oslo", "Lima"], 80)})
    frame["y"] = 3 * frame["x"] + (frame["city"] == "Oslo") + rng.normal(0, 0.1, 80)
    frame.to_csv(folder / "rows.csv", index=False)
    cfg = {
        "data": {"path": str(folder / "rows.csv"), "target": "y"},
        "model": {"hidden": [4]},
        "train": {"epochs": 2, "patience": None, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 10},
    }
    layerwise.Experiment(cfg).run(out=folder / "run")
    return folder / "run", folder / "rows.csv"


def test_predict_into_a_folder_is_refused_before_work(cli, run_folder, tmp_path):
    run, rows = run_folder
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = cli("predict", run / "bundle", rows, "-o", tmp_path)
    assert code == 2 and "-o/--output" in err and "is a folder" in err and out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("tolerance", ["-1", "nan", "inf"])
def test_export_refuses_a_tolerance_that_is_not_a_finite_non_negative_number(cli, run_folder, tmp_path, tolerance):
    code, _, err = cli("export", run_folder[0] / "bundle", "-o", tmp_path / "m.onnx", "--tolerance", tolerance)
    assert code == 2 and "--tolerance" in err
    assert not (tmp_path / "m.onnx").exists()


def test_export_into_a_folder_is_refused(cli, run_folder, tmp_path):
    code, _, err = cli("export", run_folder[0] / "bundle", "-o", tmp_path)
    assert code == 2 and "-o/--output" in err and "model.onnx" in err


def _tune_config(folder: Path, rows: Path) -> Path:
    config = folder / "tune.yaml"
    config.write_text(
        f"data: {{path: {rows}, target: y}}\ntrain: {{epochs: 1}}\n"
        "tune: {method: random, trials: 1, space: {train.lr: {log_uniform: [1.0e-3, 1.0e-1]}}}\n"
    )
    return config


def test_tune_refuses_a_storage_file_that_is_not_a_database(cli, run_folder, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    config = _tune_config(tmp_path, run_folder[1])
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned", "--storage", f"sqlite:///{notes}")
    assert code == 2 and "--storage" in err and "not an SQLite database" in err
    assert notes.read_text() == "my notes\n" and not (tmp_path / "tuned").exists()
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned", "--storage", f"sqlite:///{tmp_path}")
    assert code == 2 and "is a folder" in err


@pytest.mark.parametrize("command", ["init", "evaluate"])
def test_an_empty_folder_given_as_data_is_said_to_be_empty(cli, run_folder, tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ("init", empty, "--target", "y") if command == "init" else ("evaluate", run_folder[0] / "bundle", empty)
    code, _, err = cli(*args)
    assert code == 3 and "an empty folder" in err and "no such file" not in err


def test_a_run_folder_is_taken_for_its_bundle(cli, run_folder, tmp_path):
    run, rows = run_folder
    code, out, err = cli("predict", run, rows)
    assert code == 0, err
    assert out.splitlines()[0].endswith(",prediction") and f"using its bundle, {run / 'bundle'}" in err
    code, out, err = cli("evaluate", run, rows, "--quiet")
    assert code == 0 and "using its bundle" in err and out
    # a folder that is neither says what it should have been
    code, _, err = cli("predict", tmp_path, rows)
    assert code == 3 and "not a bundle" in err and "the run folder holding it" in err
