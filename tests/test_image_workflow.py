"""An image bundle through the rest of the workflow: evaluate, export to ONNX and tune, from the CLI,
on real digit PNGs in class folders; and bad input for each."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import torch
import yaml
from digit_images import write_digits
from PIL import Image

import layerwise
from layerwise.serving.inputs import model_inputs
from layerwise.serving.onnx_runtime import onnx_predict


@pytest.fixture
def new_images(digit_folders, tmp_path):
    """The held-out digits (20 of them 16x16), a corrupt PNG and a text file beside them."""
    folder = shutil.copytree(digit_folders["new"], tmp_path / "new")
    (folder / "7" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    (folder / "3" / "notes.txt").write_text("taken on a scanner\n")
    return folder


# -- evaluate -----------------------------------------------------------------------------------
def test_evaluate_judges_a_folder_of_class_folders_beside_the_majority_class(digits_bundle, new_images, cli, tmp_path):
    code, out, err = cli("evaluate", digits_bundle, new_images, "--out", tmp_path / "ev")
    assert code == 0, err
    assert "baseline: the majority class" in out and "100 images of" in out
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["task"] == "classification" and m["rows"] == {"test": 100} and m["source"] == str(new_images)
    assert m["beats_baseline"] and m["verdict"] == "DEPLOY"
    assert m["test"]["accuracy"] > 0.6 > 0.15 > m["baseline"]["accuracy"]
    assert m["data"]["classes"]["test"] == {str(k): 10 for k in range(10)}
    assert m["data"]["images"] == {"size": [8, 8], "mode": "grayscale", "channels": 1, "normalize": "standard"}
    entries = {e["rule"]: e for e in m["cleaning"]["entries"]}
    assert entries["corrupt_image"]["count"] == 1 and "7/broken.png" in entries["corrupt_image"]["detail"]
    assert entries["resized"]["count"] == 20 and entries["not_an_image"]["count"] == 1
    table = pd.read_csv(tmp_path / "ev" / "predictions.csv", dtype={"actual": str, "prediction": str, "baseline": str})
    assert list(table.columns[:4]) == ["file", "actual", "prediction", "baseline"] and len(table) == 100
    assert (table["actual"] == table["prediction"]).mean() == pytest.approx(m["test"]["accuracy"])
    # the same predictions `layerwise predict` gives for the same files
    local = layerwise.load(digits_bundle).predict_images([new_images / f for f in table["file"]])
    assert list(local["prediction"]) == list(table["prediction"])
    np.testing.assert_allclose(local["proba_3"], table["proba_3"], atol=1e-9)
    assert (tmp_path / "ev" / "report.html").is_file() and (tmp_path / "ev" / "spec.json").is_file()


def test_evaluate_reads_a_folder_beyond_the_memory_budget_from_disk_with_the_same_answers(
    digits_bundle, new_images, cli, tmp_path, monkeypatch
):
    code, _, err = cli("evaluate", digits_bundle, new_images, "--out", tmp_path / "held")
    assert code == 0, err
    monkeypatch.setattr("layerwise.data.images.available_mb", lambda: 1e-3)  # nothing fits: read from disk
    code, _, err = cli("evaluate", digits_bundle, new_images, "--out", tmp_path / "disk")
    assert code == 0, err
    held, disk = (pd.read_csv(tmp_path / name / "predictions.csv") for name in ("held", "disk"))
    pd.testing.assert_frame_equal(held, disk, rtol=1e-6)
    metrics = [json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("held", "disk")]
    # (batches of another size may round the last bits of a sum differently)
    assert metrics[0]["test"] == pytest.approx(metrics[1]["test"], rel=1e-6)
    assert metrics[0]["cleaning"] == metrics[1]["cleaning"]


def test_evaluate_gate_exits_4_when_the_labels_are_not_what_the_model_learnt(digits_bundle, tmp_path, cli):
    # every class folder named after the next digit: the network is now wrong on nearly every image
    write_digits(tmp_path / "shifted", 5, start=30)
    for k in range(10):
        (tmp_path / "shifted" / str(k)).rename(tmp_path / "shifted" / f"_{(k + 1) % 10}")
    for k in range(10):
        (tmp_path / "shifted" / f"_{k}").rename(tmp_path / "shifted" / str(k))
    code, out, err = cli("evaluate", digits_bundle, tmp_path / "shifted", "--gate")
    assert code == 4 and "DO NOT DEPLOY" in out and "gate: DO NOT DEPLOY (exit 4)" in err


def test_evaluate_leaves_out_classes_the_model_never_saw(digits_bundle, tmp_path, cli):
    write_digits(tmp_path / "more", 3, start=30)
    shutil.copytree(tmp_path / "more" / "4", tmp_path / "more" / "cat")
    code, out, err = cli("evaluate", digits_bundle, tmp_path / "more", "--out", tmp_path / "ev")
    assert code == 0, err
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert m["rows"] == {"test": 30} and any(
        "3 images of classes the model never saw" in n and "cat" in n for n in m["notes"]
    )


def test_evaluate_bad_input_names_the_path_with_a_hint(digits_bundle, digit_folders, tmp_path, cli):
    one = next(digit_folders["new"].glob("2/*.png"))
    code, _, err = cli("evaluate", digits_bundle, one)
    assert code == 3 and str(one) in err and "not a file" in err and "hint: pass a folder" in err
    write_digits(tmp_path / "empty", 2)
    (tmp_path / "empty" / "ten").mkdir()
    code, _, err = cli("evaluate", digits_bundle, tmp_path / "empty")
    assert code == 3 and "class folder 'ten' holds no image files" in err and "hint:" in err
    write_digits(tmp_path / "letters", 2)
    for k in range(10):
        (tmp_path / "letters" / str(k)).rename(tmp_path / "letters" / f"letter{k}")
    code, _, err = cli("evaluate", digits_bundle, tmp_path / "letters")
    assert code == 3 and "no class folder is named as a class of the model" in err
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(one, flat / "a.png")
    code, _, err = cli("evaluate", digits_bundle, flat)
    assert code == 3 and "0 class folder(s)" in err and "sub-folder" in err


# -- export -------------------------------------------------------------------------------------
def apply_documented_preprocessing(files, steps: list[dict]) -> np.ndarray:
    """The exported interface's steps applied with Pillow and NumPy alone: what another runtime does."""
    by_step = {s["step"]: s for s in steps}
    out = []
    for path in files:
        with Image.open(path) as img:
            img = img.convert(by_step["decode"]["pillow_mode"])
            size = (by_step["resize"]["width"], by_step["resize"]["height"])
            if img.size != size:
                img = img.resize(size, Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32) / np.float32(by_step["scale"]["divide_by"])
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # (channels, h, w)
        norm = by_step["normalize"]
        shift = np.asarray(norm["subtract"], dtype=np.float32)[:, None, None]
        out.append((pixels - shift) / np.asarray(norm["divide"], dtype=np.float32)[:, None, None])
    return np.stack(out).astype(np.float32)  # (n, channels, h, w)


def test_onnx_export_of_an_image_bundle_matches_torch_at_any_batch_size(digits_bundle, digit_folders, tmp_path, cli):
    onnx_file = tmp_path / "digits.onnx"
    code, _, err = cli("export", digits_bundle, "-o", onnx_file, "--data", digit_folders["new"])
    assert code == 0, err
    assert "verified on 98 held-out inputs" in err and f"interface in {onnx_file}.json" in err
    interface = json.loads((tmp_path / "digits.onnx.json").read_text())
    assert interface["input"] == {
        "name": "x",
        "dtype": "float32",
        "shape": ["batch", 1, 8, 8],
        "layout": "NCHW (batch, channels, height, width)",
    }
    assert interface["classes"] == [str(k) for k in range(10)] and "softmax" in interface["output"]["meaning"]
    assert [s["step"] for s in interface["preprocessing"]] == ["decode", "resize", "scale", "normalize", "layout"]
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["layerwise.interface"]) == interface
    model = layerwise.load(digits_bundle)
    x = model_inputs(model, digit_folders["new"])  # (100, 1, 8, 8)
    assert x.shape == (100, 1, 8, 8)
    # the documented steps, applied without layerwise, give the bundle's own inputs
    files = sorted(digit_folders["new"].rglob("*.png"))
    np.testing.assert_allclose(apply_documented_preprocessing(files, interface["preprocessing"]), x, atol=1e-6)
    for size in (1, 7, 100):  # one graph, any batch size
        with torch.no_grad():
            expected = model.module(torch.as_tensor(x[:size])).numpy()
        got = session.run(None, {"x": x[:size]})[0]
        assert got.shape == (size, 10) and np.abs(got - expected).max() <= 1e-5
    # the whole path, Pillow decoding to probabilities, without torch's module
    via_onnx = onnx_predict(onnx_file, digit_folders["new"])
    via_torch = model.predict_images(digit_folders["new"])
    assert list(via_onnx["prediction"]) == list(via_torch["prediction"])
    columns = [f"proba_{k}" for k in range(10)]
    np.testing.assert_allclose(via_onnx[columns].to_numpy(), via_torch[columns].to_numpy(), atol=1e-5)


def test_export_verification_data_must_hold_images(digits_bundle, tmp_path, cli):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.png").write_text("not an image")
    code, _, err = cli("export", digits_bundle, "-o", tmp_path / "m.onnx", "--data", tmp_path / "text")
    assert code == 3 and f"{tmp_path / 'text'}: no readable image files" in err and "hint:" in err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.onnx.json").exists()


# -- tune ---------------------------------------------------------------------------------------
def _tune_config(tmp_path, **tune) -> str:
    write_digits(tmp_path / "few", 8)
    cfg = {
        "data": {"path": str(tmp_path / "few"), "image": {"size": [8, 8], "mode": "grayscale"}},
        "model": {"type": "cnn2d", "channels": [4, 8]},
        "train": {"epochs": 1, "batch_size": 32, "patience": None, "seed": 0},
        "evaluate": {"bootstrap": 20, "report": False},
        "tune": {
            "method": "random",
            "trials": 2,
            "pruner": "none",
            "space": {
                "model.channels": {"choice": [[4], [4, 8]]},
                "train.lr": {"log_uniform": [1e-3, 1e-2]},
                "model.dropout": {"uniform": [0.0, 0.3]},
            },
            **tune,
        },
    }
    path = tmp_path / "few.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_tune_searches_an_image_config_and_retrains_the_best(tmp_path, cli):
    code, out, err = cli("tune", _tune_config(tmp_path), "--out", tmp_path / "tuned", "-q")
    assert code == 0, err
    assert "best trial" in out and "validation accuracy" in out
    table = pd.read_csv(tmp_path / "tuned" / "tuning.csv")
    assert len(table) == 2 and set(table["state"]) == {"COMPLETE"} and (table["epochs"] == 1).all()
    assert table["train.lr"].between(1e-3, 1e-2).all() and table["model.dropout"].between(0, 0.3).all()
    assert set(table["model.channels"]) <= {"[4]", "[4, 8]"}
    best = yaml.safe_load((tmp_path / "tuned" / "best.yaml").read_text())
    winner = table.loc[table["value"].idxmax()]
    assert best["model"]["type"] == "cnn2d" and "tune" not in best
    assert (
        best["train"]["lr"] == pytest.approx(winner["train.lr"])
        and str(best["model"]["channels"]) == winner["model.channels"]
    )
    metrics = json.loads((tmp_path / "tuned" / "best" / "metrics.json").read_text())
    assert metrics["data"]["images"]["size"] == [8, 8] and metrics["epochs"] == 1
    # the retrained best is an image bundle like any other
    predicted = layerwise.load(tmp_path / "tuned" / "best" / "bundle").predict_images(tmp_path / "few" / "4")
    assert len(predicted) == 8 and predicted["prediction"].notna().all()


def test_tune_refuses_bad_image_input_before_training(tmp_path, cli):
    config = _tune_config(tmp_path, cv=3)
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned")
    assert code == 2 and "tune.cv: 3" in err and "validation split" in err
    (tmp_path / "few" / "ten").mkdir()
    code, _, err = cli("tune", config, "--out", tmp_path / "tuned", "--set", "tune.cv=null")
    assert code == 3 and "class folder 'ten' holds no image files" in err and "hint:" in err
    assert not (tmp_path / "tuned" / "tuning.csv").exists()
