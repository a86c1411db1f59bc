"""Progress of the long steps other than training: the data curve, explain, reading image folders.
Off a terminal, lines on stderr as the work goes (a tenth at a time); nothing with --quiet."""

from __future__ import annotations

import re

import numpy as np


def _config(tmp_path, evaluate: str):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    rows = ["a,b,c,y", *(f"{a:.4f},{b:.4f},{c:.4f},{a - 2 * b:.4f}" for a, b, c in x)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = tmp_path / "e.yaml"
    path.write_text(
        "data: {path: d.csv, target: y}\nmodel: {hidden: [4]}\n"
        "train: {epochs: 2, patience: null, threads: 1}\n"
        f"evaluate: {{report: false, bootstrap: 0, leakage: false, {evaluate}}}\n",
        encoding="utf-8",
    )
    return path


def test_the_data_curve_says_each_retraining_as_it_ends(cli, tmp_path):
    config = _config(tmp_path, "data_curve: true")
    code, _, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("data curve: retraining: ")]
    assert [line.split(" on ")[0] for line in lines] == [f"data curve: retraining: {k}/3" for k in (1, 2, 3)]
    assert re.search(r"on 35 training rows: validation mae \S+ \(\S+s\)$", lines[0]), lines[0]
    code, _, err = cli("run", config, "--out", tmp_path / "quiet", "--quiet")
    assert code == 0 and "retraining" not in err


def test_explain_in_a_run_shows_its_work(cli, tmp_path):
    config = _config(tmp_path, "explain: {rows: 5, repeats: 2}")
    code, _, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 0, err
    lines = [line for line in err.splitlines() if re.match(r"explain: \d+/\d+ ", line)]
    # permutation importance scores 1 + 3 features x 2 shuffles times, then the attributions and the check
    assert lines[0].startswith("explain: 1/9 permutation importance")
    assert lines[-2].startswith("explain: 8/9 ig attributions of 5 rows")
    assert lines[-1].startswith("explain: 9/9 randomization check")
    code, _, err = cli("run", config, "--out", tmp_path / "quiet", "--quiet")
    assert code == 0 and not re.search(r"explain: \d+/", err)


def test_reading_an_image_folder_shows_its_progress(cli, digits_bundle, digit_folders):
    code, _, err = cli("evaluate", digits_bundle, digit_folders["new"])
    assert code == 0, err
    lines = [line.split(" (")[0] for line in err.splitlines() if line.startswith("reading images: ")]
    assert lines == [f"reading images: {10 * k}/100" for k in range(1, 11)]
    code, _, err = cli("evaluate", digits_bundle, digit_folders["new"], "--quiet")
    assert code == 0 and "reading images" not in err
