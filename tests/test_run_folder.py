"""`run --out DIR` is never silently destructive: the user's files are never replaced, an earlier run
only with --overwrite (or continued with --resume), and one run at a time holds DIR (experiment/run_folder.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from held_runs import PYTHON_RUN, held_run

from layerwise.experiment.run_folder import LOCK, lock

SMALL = (
    "train: {epochs: 2, patience: null, batch_size: 32, threads: 1}\n"
    "evaluate: {report: false, bootstrap: 0, leakage: false}\n"
)


@pytest.fixture
def config(tmp_path):
    """A seeded 120-row regression table and a two-epoch config for it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2))
    rows = ["a,b,y", *(f"{a:.4f},{b:.4f},{a - 2 * b:.4f}" for a, b in x)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = tmp_path / "e.yaml"
    path.write_text("data: {path: d.csv, target: y}\nmodel: {hidden: [4]}\n" + SMALL, encoding="utf-8")
    return path


def test_a_folder_with_the_users_files_is_refused_and_left_as_it_was(cli, tmp_path, config):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "data" / "raw.csv").write_text("x\n1\n")
    (out / "metrics.json").write_text("{}")  # a run's file beside them does not make them a run's
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    for extra in ([], ["--overwrite"]):  # --overwrite replaces an earlier run, never the user's files
        code, _, err = cli("run", config, "--out", out, "--quiet", *extra)
        assert code == 2, err
        assert "holds files layerwise did not write (data, notes.txt)" in err and "hint:" in err
        assert "Traceback" not in err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert (out / "notes.txt").read_text() == "my notes" and (out / "data" / "raw.csv").read_text() == "x\n1\n"


def test_an_earlier_run_is_replaced_only_with_overwrite(cli, tmp_path, config):
    out = tmp_path / "run"
    assert cli("run", config, "--out", out, "--quiet")[0] == 0
    first = (out / "metrics.json").read_text()
    code, _, err = cli("run", config, "--out", out, "--quiet", "--set", "train.epochs=3")
    assert code == 2
    assert f"--out {out}: holds an earlier run; refusing to replace it" in err and "--overwrite" in err
    assert (out / "metrics.json").read_text() == first  # untouched
    code, _, err = cli("run", config, "--out", out, "--quiet", "--set", "train.epochs=3", "--overwrite")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 3
    assert not (out / LOCK).exists()  # a published run folder holds only the run's files
    code, _, err = cli("run", config, "--out", out, "--quiet", "--overwrite", "--resume")
    assert code == 2 and "--resume and --overwrite: choose one" in err


def test_the_checkpoints_of_a_killed_run_are_not_started_over_without_a_word(cli, tmp_path, config):
    out = tmp_path / "run"
    assert cli("run", config, "--out", out, "--quiet")[0] == 0
    for path in out.iterdir():  # as if killed before publishing: only the checkpoints are left
        if path.name != "checkpoints":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    code, _, err = cli("run", config, "--out", out, "--quiet")
    assert code == 2 and "holds the checkpoints of an unfinished run" in err and "--resume" in err
    assert sorted(p.name for p in (out / "checkpoints").iterdir())[-1] == "ckpt-000002-000000.safetensors"


def test_a_second_run_into_a_held_folder_exits_2_naming_the_holder(cli, tmp_path, config):
    out = tmp_path / "run"
    held = lock(out)  # as a first run does before it reads any data
    try:
        code, _, err = cli("run", config, "--out", out, "--quiet")
        assert code == 2, err
        assert f"--out {out}: another layerwise run is writing there (pid {os.getpid()} on " in err
        assert "started 20" in err and "hint:" in err
        assert sorted(p.name for p in out.iterdir()) == [LOCK]  # the refused run wrote nothing
    finally:
        held.release()
    code, _, err = cli("run", config, "--out", out, "--quiet")  # free again: it runs
    assert code == 0, err


def test_the_lock_goes_with_the_process_that_held_it(cli, tmp_path, config):
    """A killed run leaves no stale lock: another process takes the folder at once."""
    out = tmp_path / "run"
    code = f"import sys; from layerwise.experiment.run_folder import lock; lock({str(out)!r}); sys.exit(9)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9  # held, then the process ended
    assert (out / LOCK).exists()
    code, _, err = cli("run", config, "--out", out, "--quiet")
    assert code == 0, err


def test_concurrent_runs_one_wins_the_other_exits_2(tmp_path, config):
    """Two real processes: the first holds the folder while it works; the second is refused at once."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-c", FIRST, str(config), str(out), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout.readline().strip() == "training", first.communicate()  # paused mid-training
        second = subprocess.run(
            [sys.executable, "-m", "layerwise.cli", "run", str(config), "--out", str(out), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert second.returncode == 2, second.stderr
        assert f"another layerwise run is writing there (pid {first.pid} on" in second.stderr
    finally:
        (tmp_path / "go").touch()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2  # the first run's folder, whole


# The first run: a callback tells the test it is training, then waits for the test to say go.
FIRST = held_run(
    """
    def on_epoch_start(self, trainer, epoch):
        if epoch == 1:
            print("training", flush=True)
            while not (folder / "go").exists():
                threading.Event().wait(0.01)
""",
    PYTHON_RUN,
)


@pytest.mark.parametrize("under", ["a_file/sub", "a_file"])
def test_out_under_a_file_is_exit_2_before_any_data_work(cli, tmp_path, config, under):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "d.csv").write_text("broken,\n")  # never read: the folder is checked first
    code, _, err = cli("run", config, "--out", tmp_path / under)
    assert code == 2, err
    expected = "is a file, not a folder" if under == "a_file" else f"is under {tmp_path / 'a_file'}, which is a file"
    assert expected in err and "Traceback" not in err
    assert (tmp_path / "a_file").read_text() == "not a folder"


def test_a_run_that_fails_leaves_no_folder_behind(cli, tmp_path, config):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")  # no column y
    out = tmp_path / "run"
    code, _, err = cli("run", config, "--out", out)
    assert code == 2 and "data.target: column 'y' is not in" in err
    assert not out.exists()


def test_a_search_holds_its_folder_too(cli, tmp_path, config):
    """`tune --out` continues the study stored there (no --overwrite needed), one search at a time."""
    tuned = tmp_path / "tune.yaml"
    tuned.write_text(
        config.read_text() + "tune: {space: {train.lr: {choice: [0.01, 0.02]}}, method: grid, pruner: none}\n",
        encoding="utf-8",
    )
    held = lock(tmp_path / "tuned")
    try:
        code, _, err = cli("tune", tuned, "--out", tmp_path / "tuned", "--quiet")
    finally:
        held.release()
    assert code == 2 and f"--out {tmp_path / 'tuned'}: another layerwise run is writing there" in err
    (tmp_path / "a_file").write_text("")
    code, _, err = cli("tune", tuned, "--out", tmp_path / "a_file" / "tuned", "--quiet")
    assert code == 2 and "which is a file, not a folder" in err
