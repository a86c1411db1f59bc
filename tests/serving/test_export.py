"""ONNX export verifies itself, and onnx_predict matches the torch bundle on real data, without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnxruntime
import pytest
import torch

import layerwise
from layerwise.errors import UsageError
from layerwise.serving.export import export
from layerwise.serving.inputs import model_inputs
from layerwise.serving.onnx_runtime import onnx_predict


@pytest.mark.parametrize("block", ["mlp", "cnn1d", "lstm", "gru", "transformer"])
def test_forecast_bundle_onnx_parity(block, forecast_bundles, btc_data, tmp_path):
    model = layerwise.load(forecast_bundles[block])
    checked = export(model, tmp_path / "m.onnx", data=btc_data.iloc[:120])
    assert checked.max_abs_diff <= 1e-4 and 1 in checked.batch_sizes
    # unseen batch sizes and sequence lengths, on later rows than the export saw
    x = model_inputs(model, btc_data.iloc[150:])
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    shapes = ((5, 8), (37, 6), (2, 4)) if block != "mlp" else ((5, 8), (37, 8))  # an MLP reads whole windows
    for rows, steps in shapes:
        batch = np.ascontiguousarray(x[:rows, -steps:])
        with torch.no_grad():
            expected = model.module(torch.as_tensor(batch)).numpy()
        assert np.abs(session.run(None, {"x": batch})[0] - expected).max() <= 1e-4
    # the whole path, preprocessing included, on the held-out period
    torch_path = model.predict(btc_data.iloc[150:])["prediction"].to_numpy()
    onnx_path = onnx_predict(tmp_path / "m.onnx", btc_data.iloc[150:])["prediction"].to_numpy()
    assert np.array_equal(np.isnan(torch_path), np.isnan(onnx_path))
    assert np.nanmax(np.abs(torch_path - onnx_path) / np.nanmax(np.abs(torch_path))) <= 1e-4


def test_tabular_onnx_predict_matches_the_bundle(iris_bundle, iris_data, diabetes_bundle, tmp_path):
    from sklearn.datasets import load_diabetes

    for bundle, frame in ((iris_bundle, iris_data), (diabetes_bundle, load_diabetes(as_frame=True).frame)):
        model = layerwise.load(bundle)
        export(model, tmp_path / "t.onnx", data=frame)
        a, b = model.predict(frame), onnx_predict(tmp_path / "t.onnx", frame)
        assert list(a.columns) == list(b.columns)
        numeric = [c for c in a.columns if c.startswith(("proba_", "prediction")) and a[c].dtype.kind == "f"]
        assert np.abs(a[numeric].to_numpy() - b[numeric].to_numpy()).max() <= 1e-4
        if "proba_setosa" in a:
            assert (a["prediction"] == b["prediction"]).all()


def test_image_onnx_predict_runs_without_torch(digits_bundle, digit_folders, tmp_path):
    # Pillow decodes, NumPy normalizes, onnxruntime runs the cnn2d: the bundle's answers, torch never imported
    model = layerwise.load(digits_bundle)
    export(model, tmp_path / "d.onnx", data=digit_folders["new"])
    labels = predict_without_torch(tmp_path / "d.onnx", repr(str(digit_folders["new"])))
    assert labels == list(model.predict_images(digit_folders["new"])["prediction"])


def test_export_refuses_a_file_that_differs(iris_bundle, tmp_path):
    model = layerwise.load(iris_bundle)
    with pytest.raises(layerwise.LayerwiseError, match="differs from the torch model"):
        export(model, tmp_path / "x.onnx", tolerance=-1.0)
    assert not (tmp_path / "x.onnx").exists()


def test_torchscript_export_verifies(diabetes_bundle, tmp_path, capsys):
    checked = export(layerwise.load(diabetes_bundle), tmp_path / "m.ts", format="torchscript")
    assert checked.max_abs_diff <= 1e-4 and (tmp_path / "m.ts").stat().st_size > 0
    # off a terminal, the verification reports its progress on stderr
    assert f"verifying the exported file: 3/3 batch {checked.batch_sizes[-1]}" in capsys.readouterr().err


def test_onnx_predict_runs_without_torch(iris_bundle, iris_data, tmp_path):
    export(layerwise.load(iris_bundle), tmp_path / "m.onnx")
    iris_data.drop(columns=["target"]).to_csv(tmp_path / "rows.csv", index=False)
    labels = predict_without_torch(tmp_path / "m.onnx", f"pd.read_csv({str(tmp_path / 'rows.csv')!r})")
    assert set(labels) <= {"setosa", "versicolor", "virginica"}


def predict_without_torch(onnx_file, data_expression: str) -> list[str]:
    """`layerwise.onnx_predict` in a fresh interpreter; its labels, after checking torch was never imported."""
    code = (
        "import sys, pandas as pd, layerwise\n"
        f"out = layerwise.onnx_predict({str(onnx_file)!r}, {data_expression})\n"
        "print(','.join(map(str, out['prediction'])), 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    labels, torch_loaded = done.stdout.split()
    assert torch_loaded == "False"
    return labels.split(",")


def test_onnx_file_carries_the_bundle_spec(iris_bundle, tmp_path):
    export(layerwise.load(iris_bundle), tmp_path / "m.onnx")
    meta = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).get_modelmeta().custom_metadata_map
    spec = json.loads(meta["layerwise.spec"])
    assert spec["preprocessing"]["features"]["columns"]["size"]["categories"] == ["large", "medium", "small"]


def test_a_generation_bundle_is_refused_with_a_hint(names_bundle, tmp_path, cli):
    code, _, err = cli("export", names_bundle, "-o", tmp_path / "g.onnx")
    assert code == 2 and "generation bundle cannot be exported" in err and "layerwise serve" in err
    assert not (tmp_path / "g.onnx").exists()


def test_model_inputs_refuses_a_path_for_a_bundle_of_rows(iris_bundle, tmp_path):
    with pytest.raises(UsageError, match="a bundle of rows reads a table") as caught:
        model_inputs(layerwise.load(iris_bundle), tmp_path / "rows.csv")
    assert "read_table" in caught.value.hint
