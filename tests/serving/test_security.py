"""Bundles cannot run code: tampering and pickle files are refused before a port is bound. With an
API key, nothing but /health answers without it, and the key is checked before the body is read."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
import torch
from fastapi.testclient import TestClient

from layerwise.bundle.store import sha256
from layerwise.serving.app import Limits, app_from_bundle


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
    manifest["sha256"]["model.pt"] = sha256(target / "model.pt")
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


# -- the API key covers everything but /health, and is checked before the body is read ---------------
KEY = "s3cret-key"
KEYED = {"authorization": f"Bearer {KEY}"}
RECORD = {
    "sepal length (cm)": 5.1,
    "sepal width (cm)": 3.5,
    "petal length (cm)": 1.4,
    "petal width (cm)": 0.2,
    "size": "small",
    "wide": True,
}


def test_the_api_key_covers_the_schema_the_docs_and_unknown_paths(iris_bundle):
    with TestClient(app_from_bundle(iris_bundle, api_key=KEY)) as c:
        for path in ("/openapi.json", "/docs", "/redoc", "/metadata", "/no-such-path"):
            refused = c.get(path)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", path
            assert "medium" not in refused.text  # a category seen in training
        assert c.get("/health").status_code == 200 and c.get("/ready").status_code == 200  # probes
        schema = c.get("/openapi.json", headers=KEYED)
        assert schema.status_code == 200 and "medium" in schema.text
        assert schema.json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert c.get("/docs", headers=KEYED).status_code == 200


def test_public_docs_opens_the_docs_and_nothing_else(iris_bundle):
    with TestClient(app_from_bundle(iris_bundle, api_key=KEY, public_docs=True)) as c:
        assert all(c.get(path).status_code == 200 for path in ("/openapi.json", "/docs", "/redoc", "/health"))
        assert c.get("/metadata").status_code == 401
        assert c.post("/predict", json=RECORD).status_code == 401


# (a record the schema refuses, or a body not declared as JSON, were already 401 without the key)
BAD_BODIES = {
    "over the size limit": (b"[" + b"1," * 5_000_000 + b"1]", "application/json"),
    "not JSON": (b'{"sepal', "application/json"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_wrong_key_is_401_whatever_the_body(iris_bundle, case):
    body, media = BAD_BODIES[case]
    with TestClient(app_from_bundle(iris_bundle, api_key=KEY, limits=Limits(max_body_bytes=1_000_000))) as c:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {KEY}"}):
            answer = c.post("/predict", content=body, headers={**headers, "content-type": media})
            assert answer.status_code == 401, (headers, answer.text)


def test_a_refused_request_never_reads_its_body(iris_bundle):
    app = app_from_bundle(iris_bundle, api_key=KEY)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/predict",
        "raw_path": b"/predict",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"2"),
            (b"authorization", b"Bearer wrong"),
        ],
    }
    sent = []

    async def receive():
        raise AssertionError("the body of a request without the key was read")

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401 and (b"www-authenticate", b"Bearer") in sent[0]["headers"]
