"""Bundles cannot run code: tampering and pickle files are refused before a port is bound."""

from __future__ import annotations

import json
import shutil

import torch

from layerwise.bundle import _sha256


def test_serve_refuses_a_tampered_bundle(cli, iris_bundle, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(iris_bundle, bundle)
    spec = json.loads((bundle / "spec.json").read_text())
    spec["task"]["target"] = "other"
    (bundle / "spec.json").write_text(json.dumps(spec))
    code, _, err = cli("serve", bundle, "--port", "1")  # a port it could never bind
    assert code == 3 and "spec.json" in err and "sha256" in err


def test_serve_refuses_a_missing_bundle(cli, tmp_path):
    code, _, err = cli("serve", tmp_path / "nothing")
    assert code == 3 and "bundle not found" in err


def test_serve_needs_the_api_key_variable_set(cli, iris_bundle, monkeypatch):
    monkeypatch.delenv("LW_TEST_KEY", raising=False)
    code, _, err = cli("serve", iris_bundle, "--api-key-env", "LW_TEST_KEY")
    assert code == 2 and "LW_TEST_KEY" in err


def _pickled_bundle(source, target):
    """The bundle with its weights as a torch pickle (model.pt), manifest updated to match."""
    shutil.copytree(source, target)
    from safetensors.torch import load_file

    torch.save(load_file(str(target / "model.safetensors")), target / "model.pt")
    (target / "model.safetensors").unlink()
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["sha256"].pop("model.safetensors")
    manifest["sha256"]["model.pt"] = _sha256(target / "model.pt")
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_pickle_is_refused_unless_trusted(cli, iris_bundle, iris_data, tmp_path):
    bundle = _pickled_bundle(iris_bundle, tmp_path / "p")
    iris_data.drop(columns=["target"]).to_csv(tmp_path / "rows.csv", index=False)
    code, _, err = cli("predict", bundle, tmp_path / "rows.csv", "-o", tmp_path / "out.csv")
    assert code == 3 and "model.pt" in err and "pickle" in err
    code, _, err = cli("predict", bundle, tmp_path / "rows.csv", "-o", tmp_path / "out.csv", "--trust-pickle")
    assert code == 0, err


def test_a_pickle_given_as_the_bundle_is_refused(cli, tmp_path):
    torch.save({"w": torch.zeros(1)}, tmp_path / "model.pt")
    code, _, err = cli("serve", tmp_path / "model.pt")
    assert code == 3 and "refused" in err
