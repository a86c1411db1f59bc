"""`evaluate --out DIR` follows the rules of `run --out` (experiment/run_folder.py): the user's files are never
replaced, an earlier evaluation only with --overwrite, and one command at a time holds DIR."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from layerwise.experiment.run_folder import LOCK, lock


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-epoch regression bundle, and new labelled rows to judge it on."""
    from layerwise.cli import main

    folder = tmp_path_factory.mktemp("evaluate-out")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 2))
    rows = ["a,b,y", *(f"{a:.4f},{b:.4f},{a - 2 * b:.4f}" for a, b in x)]
    (folder / "d.csv").write_text("\n".join(rows[:121]) + "\n", encoding="utf-8")
    (folder / "new.csv").write_text("\n".join([rows[0], *rows[121:]]) + "\n", encoding="utf-8")
    (folder / "e.yaml").write_text(
        "data: {path: d.csv, target: y}\nmodel: {hidden: [4]}\n"
        "train: {epochs: 2, patience: null, threads: 1}\n"
        "evaluate: {report: false, bootstrap: 0, leakage: false}\n",
        encoding="utf-8",
    )
    assert main(["run", str(folder / "e.yaml"), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_with_the_users_files_is_refused_and_left_as_it_was(cli, tmp_path, trained):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "data" / "raw.csv").write_text("x\n1\n")
    (out / "metrics.json").write_text("{}")  # an evaluation's file beside them does not make them one's
    before = _files(out)
    for extra in ([], ["--overwrite"]):  # --overwrite replaces an earlier evaluation, never the user's files
        code, stdout, err = cli("evaluate", trained / "run" / "bundle", trained / "new.csv", "--out", out, *extra)
        assert code == 2, err
        assert f"--out {out}: holds files layerwise did not write (data, notes.txt)" in err and "hint:" in err
        assert "Traceback" not in err and stdout == ""  # refused before any work
    assert _files(out) == before and sorted(p.name for p in out.iterdir()) == ["data", "metrics.json", "notes.txt"]


def test_the_run_folder_itself_is_not_replaced_by_an_evaluation(cli, trained):
    run = trained / "run"
    before = _files(run)
    code, _, err = cli("evaluate", run / "bundle", trained / "new.csv", "--out", run, "--overwrite")
    assert code == 2 and "holds files layerwise did not write (bundle, checkpoints, history.csv" in err
    assert _files(run) == before


def test_an_earlier_evaluation_is_replaced_only_with_overwrite(cli, tmp_path, trained):
    out = tmp_path / "eval"
    (tmp_path / "unlabelled.csv").write_text("a,b\n1,2\n")
    code, _, err = cli("evaluate", trained / "run" / "bundle", tmp_path / "unlabelled.csv", "--out", out)
    assert code == 3 and "the target column 'y' is missing" in err
    assert not out.exists()  # the folder the lock made goes with a failed evaluation
    code, _, err = cli("evaluate", trained / "run" / "bundle", trained / "new.csv", "--out", out, "--quiet")
    assert code == 0, err
    first = (out / "metrics.json").read_text()
    code, _, err = cli("evaluate", trained / "run" / "bundle", trained / "d.csv", "--out", out, "--quiet")
    assert code == 2 and f"--out {out}: holds an earlier evaluation; refusing to replace it" in err
    assert "--overwrite" in err and (out / "metrics.json").read_text() == first
    code, _, err = cli(
        "evaluate", trained / "run" / "bundle", trained / "d.csv", "--out", out, "--quiet", "--overwrite"
    )
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["rows"] == {"test": 120}
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "predictions.csv", "report.html", "spec.json"]


def test_a_held_folder_is_refused_naming_the_holder(cli, tmp_path, trained):
    out = tmp_path / "eval"
    held = lock(out)  # as another evaluate (or run) holds it while it works
    try:
        code, _, err = cli("evaluate", trained / "run" / "bundle", trained / "new.csv", "--out", out)
        assert code == 2, err
        assert f"--out {out}: another layerwise run is writing there (pid {os.getpid()} on " in err
        assert sorted(p.name for p in out.iterdir()) == [LOCK]
    finally:
        held.release()
