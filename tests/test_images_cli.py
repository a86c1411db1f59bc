"""Image classification through the CLI: real digit images written as PNG files into class folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from digit_images import write_digits

from layerwise.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A folder of 400 digit PNGs (some 16x16, one corrupt), `layerwise init`, then `layerwise run`."""
    root = tmp_path_factory.mktemp("images")
    folder = root / "digits"
    write_digits(folder, big=2)
    (folder / "7" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    config = root / "digits.yaml"
    assert main(["init", str(folder), "-o", str(config)]) == 0
    out = root / "run"
    assert (
        main(
            [
                "run",
                str(config),
                "--out",
                str(out),
                "-q",
                "--set",
                "train.epochs=12",
                "--set",
                "evaluate.bootstrap=200",
                "--set",
                "model.channels=[16, 32]",
            ]
        )
        == 0
    )
    return folder, config, out


def test_init_writes_a_cnn2d_config_for_a_folder_of_class_folders(digits_run):
    _, config, _ = digits_run
    text = config.read_text()
    assert "type: cnn2d" in text and "size: [8, 8]" in text and "mode: grayscale" in text
    assert "into 10 classes" in text and "1 unreadable file(s) skipped" in text


def test_run_from_the_folder_beats_the_majority_class(digits_run):
    _, _, out = digits_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "classification" and m["beats_baseline"] and m["verdict"] == "DEPLOY"
    # 12 of the recipe's 25 epochs and narrower stages, for speed: far above the majority class all the same
    assert m["test"]["accuracy"] >= 0.8 > 0.2 >= m["baseline"]["accuracy"]
    entries = {e["rule"]: e for e in m["cleaning"]["entries"]}
    assert entries["corrupt_image"]["count"] == 1 and "7/broken.png" in entries["corrupt_image"]["detail"]
    assert entries["resized"]["count"] == 20 and "8x8" in entries["resized"]["detail"]
    assert m["cleaning"]["rows_in"] == 401 and m["cleaning"]["rows_out"] == 400
    assert m["data"]["images"] == {"size": [8, 8], "mode": "grayscale", "channels": 1, "normalize": "standard"}
    assert sum(m["rows"].values()) == 400
    test = pd.read_csv(out / "predictions.csv")
    assert len(test) == m["rows"]["test"] and test["file"].str.endswith(".png").all()
    assert {"actual", "prediction", "baseline", "proba_0", "proba_9"} <= set(test.columns)
    # the split is stratified: every class in the test split
    assert set(test["actual"]) == set(range(10))
    spec = json.loads((out / "bundle" / "spec.json").read_text())
    state = spec["preprocessing"]["images"]
    assert state["size"] == [8, 8] and len(state["shift"]) == len(state["divide"]) == 1


def test_predict_gives_one_row_per_image_file(digits_run, cli, tmp_path):
    folder, _, out = digits_run
    code, _, err = cli("predict", out / "bundle", folder, "-o", tmp_path / "out.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out.csv")
    assert len(table) == 401 and list(table.columns[:2]) == ["file", "prediction"]
    assert [f"proba_{k}" for k in range(10)] == [c for c in table.columns if c.startswith("proba_")]
    broken = table[table["file"].str.endswith("broken.png")]
    assert broken["prediction"].isna().all() and broken["error"].str.contains("not a readable image").all()
    good = table.drop(broken.index)
    truth = good["file"].map(lambda f: int(Path(f).parent.name))
    assert (good["prediction"].astype(int) == truth).mean() > 0.85
    np.testing.assert_allclose(good[[f"proba_{k}" for k in range(10)]].sum(axis=1), 1.0, atol=1e-6)
    one = next(folder.glob("3/*.png"))
    code, text, err = cli("predict", out / "bundle", one)
    assert code == 0, err
    assert text.splitlines()[0].startswith("file,prediction,proba_0")
    assert len(text.splitlines()) == 2


def test_too_many_corrupt_files_is_a_data_error(cli, tmp_path):
    folder = tmp_path / "few"
    write_digits(folder, per_class=3)
    (folder / "2" / "bad.jpg").write_bytes(b"garbage")
    config = tmp_path / "few.yaml"
    config.write_text(f"data: {{path: {folder}, image: {{max_corrupt: 0.01}}}}\nmodel: {{type: cnn2d}}\n")
    code, _, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 3 and "2/bad.jpg" in err and "data.image.max_corrupt" in err


def test_an_empty_class_folder_is_a_data_error_naming_it(cli, tmp_path):
    folder = tmp_path / "empty"
    write_digits(folder, per_class=3)
    (folder / "ten").mkdir()
    code, _, err = cli("init", folder)
    assert code == 3 and "'ten'" in err
    config = tmp_path / "empty.yaml"
    config.write_text(f"data: {{path: {folder}}}\nmodel: {{type: cnn2d}}\n")
    code, _, err = cli("run", config, "--out", tmp_path / "run")
    assert code == 3 and "class folder 'ten' holds no image files" in err
