"""Image bundles from the CLI (`layerwise explain BUNDLE [IMAGES]`), and a whole digits run whose
report shows the attribution heatmaps (evaluate.explain)."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import layerwise
from layerwise.errors import DataError


def test_default_is_the_runs_test_split_and_a_folder_or_file_as_predict_takes(
    cli, digits_bundle, digit_folders, tmp_path
):
    code, out, err = cli("explain", digits_bundle, "--rows", "0:5", "-o", tmp_path / "test")
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "test" / "attributions.csv")
    assert list(frame.columns) == ["row", "y", "x", "value", "attribution"] and len(frame) == 5 * 8 * 8
    # the same test images the run was judged on, re-read and re-split as the run did
    tested = pd.read_csv(digits_bundle.parent / "predictions.csv")["file"].tolist()
    assert list(dict.fromkeys(frame["row"])) == tested[:5]
    meta = json.loads((tmp_path / "test" / "explain.json").read_text())
    assert {c["check"] for c in meta["checks"]} == {"completeness", "randomization"}
    assert meta["baseline"].startswith("a black image") and meta["shape"] == [8, 8]
    assert (tmp_path / "test" / "images.png").read_bytes()[:4] == b"\x89PNG"
    assert "completeness:" in out and "randomization:" in out

    # a folder of class folders (some images 16x16: resized as predict resizes them), then one file
    code, _, err = cli(
        "explain", digits_bundle, digit_folders["new"], "--rows", "0:3", "--method", "saliency", "-o", tmp_path / "new"
    )
    assert code == 0, err
    rows = json.loads((tmp_path / "new" / "explain.json").read_text())["rows"]
    predicted = layerwise.load(digits_bundle).predict_images(digit_folders["new"])
    assert [r["row"] for r in rows] == [
        str(p.relative_to(digit_folders["new"])) for p in sorted(digit_folders["new"].rglob("*.png"))
    ][:3]
    assert [r["prediction"] for r in rows] == [str(v) for v in predicted["prediction"][:3]]
    one = sorted((digit_folders["new"] / "4").glob("*.png"))[0]
    code, _, err = cli("explain", digits_bundle, one, "-o", tmp_path / "one")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "one" / "attributions.csv")["row"].unique().tolist() == [one.name]


def test_bad_image_input_names_the_file_or_folder(cli, digits_bundle, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    code, _, err = cli("explain", digits_bundle, text, "-o", tmp_path / "x")
    assert code == 3 and "notes.txt: not an image file" in err
    broken = tmp_path / "broken" / "7"
    broken.mkdir(parents=True)
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    code, _, err = cli("explain", digits_bundle, tmp_path / "broken", "-o", tmp_path / "x")
    assert code == 3 and "cannot be read as images" in err and "bad.png" in err
    (tmp_path / "empty").mkdir()
    code, _, err = cli("explain", digits_bundle, tmp_path / "empty", "-o", tmp_path / "x")
    assert code == 3 and "empty: no image files found" in err
    code, _, err = cli("explain", digits_bundle, "--method", "permutation", "-o", tmp_path / "x")
    assert code == 2 and "does not apply to an image model" in err and "ig, saliency or ablation" in err
    code, _, err = cli("explain", digits_bundle, "--method", "ablaton", "-o", tmp_path / "x")
    assert code == 2 and "did you mean 'ablation'" in err
    code, _, err = cli("explain", digits_bundle, "--next", "a", "-o", tmp_path / "x")
    assert code == 2 and "generation bundles only" in err
    code, _, err = cli("explain", digits_bundle, "--prompt", "ab", "-o", tmp_path / "x")
    assert code == 2 and "only a generation bundle is explained on prompts" in err
    with pytest.raises(DataError, match=r"images of shape \(1, 5, 5\); the model reads \(1, 8, 8\)"):
        layerwise.explain(digits_bundle, np.zeros((2, 1, 5, 5), np.float32))


def test_a_digits_run_with_evaluate_explain_shows_heatmaps_in_its_report(cli, digit_folders, tmp_path):
    config = tmp_path / "digits.yaml"
    assert cli("init", digit_folders["train"], "-o", config)[0] == 0
    cfg = yaml.safe_load(config.read_text())
    cfg["evaluate"] = {**(cfg.get("evaluate") or {}), "bootstrap": 50, "explain": {"method": "ig", "rows": 8}}
    config.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    code, _, err = cli("run", config, "--out", run, "--quiet", "--set", "train.epochs=4", "--set", "model.channels=[8]")
    assert code == 0, err
    html = (run / "report.html").read_text()
    section = html[html.index('id="explanations"') :]
    assert "<h2>Explanations</h2>" in section and "8 explained images" in section
    assert '<img src="data:image/png;base64,' in section and 'alt="Attribution heatmaps over the images"' in section
    assert pd.read_csv(run / "explain" / "attributions.csv")["row"].nunique() == 8
    assert "explain: ig on 8 test images" in (run / "run.log").read_text()
