"""`layerwise explain -o DIR` never replaces files it did not write, nor an earlier explanation
without --overwrite; the run's own explain/ is replaced each time, with no stale plot left."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes

import layerwise


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explain-folder")
    load_diabetes(as_frame=True).frame.to_csv(folder / "diabetes.csv", index=False)
    cfg = {
        "data": {"path": str(folder / "diabetes.csv"), "target": "target"},
        "model": {"hidden": [8]},
        "train": {"epochs": 2, "patience": None},
        "evaluate": {"bootstrap": 0, "report": False},
    }
    layerwise.Experiment(cfg).run(out=folder / "run")
    return folder / "run"


def test_a_folder_of_the_users_files_is_refused_and_kept(cli, run, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "importance.csv").write_text("my own numbers\n")
    (mine / "notes.txt").write_text("keep me\n")
    code, _, err = cli("explain", run / "bundle", "--rows", "0:3", "--method", "saliency", "-o", mine, "--overwrite")
    assert code == 2 and "holds files layerwise did not write (notes.txt)" in err
    assert (mine / "importance.csv").read_text() == "my own numbers\n" and (mine / "notes.txt").exists()
    assert sorted(p.name for p in mine.iterdir()) == ["importance.csv", "notes.txt"]  # no lock file left


def test_an_earlier_explanation_needs_overwrite_and_leaves_no_stale_plot(cli, run, tmp_path):
    out = tmp_path / "why"
    code, _, err = cli("explain", run / "bundle", "--rows", "5", "--method", "saliency", "-o", out)
    assert code == 0, err
    assert (out / "row-5.png").exists() and not (out / ".layerwise.lock").exists()
    code, _, err = cli("explain", run / "bundle", "--rows", "7", "--method", "saliency", "-o", out)
    assert code == 2 and "holds an earlier explanation" in err and (out / "row-5.png").exists()
    code, _, err = cli("explain", run / "bundle", "--rows", "7", "--method", "saliency", "-o", out, "--overwrite")
    assert code == 0, err
    assert (out / "row-7.png").exists() and not (out / "row-5.png").exists()


def test_the_runs_own_explain_folder_is_replaced_each_time(cli, run):
    for row in ("1", "2"):
        code, _, err = cli("explain", run / "bundle", "--rows", row, "--method", "saliency")
        assert code == 0, err
    assert (run / "explain" / "row-2.png").exists() and not (run / "explain" / "row-1.png").exists()
