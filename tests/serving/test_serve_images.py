"""Serving an image bundle: base64 JSON and multipart uploads answer what predict_images answers;
every bad image is a 4xx naming it, never a 500."""

from __future__ import annotations

import base64
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import layerwise
from layerwise.serving.app import Limits, app_from_bundle

LIMITS = Limits(max_body_bytes=100_000, max_batch=20, max_image_pixels=64 * 64)


@pytest.fixture(scope="module")
def client(digits_bundle):
    with TestClient(app_from_bundle(digits_bundle, limits=LIMITS)) as c:
        yield c


@pytest.fixture(scope="module")
def files(digit_folders):
    """Four new digit files, the first of them 16x16 (resized to the bundle's 8x8 when read)."""
    picked = sorted(digit_folders["new"].glob("3/*.png"))[:2] + sorted(digit_folders["new"].glob("8/*.png"))[2:4]
    with Image.open(picked[0]) as big, Image.open(picked[3]) as small:
        assert big.size == (16, 16) and small.size == (8, 8)
    return picked


@pytest.fixture(scope="module")
def expected(digits_bundle, files):
    return layerwise.load(digits_bundle).predict_images(files)


def _b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _check(predictions, expected) -> None:
    assert [p["prediction"] for p in predictions] == list(expected["prediction"])
    for p, (_, row) in zip(predictions, expected.iterrows()):
        assert set(p["probabilities"]) == {str(k) for k in range(10)}
        for label, value in p["probabilities"].items():
            assert value == pytest.approx(row[f"proba_{label}"], abs=1e-6)


def test_base64_images_are_answered_as_predict_images_answers(client, files, expected):
    # a data: URL (as a browser's FileReader gives it) is accepted for the second image
    images = [_b64(files[0]), "data:image/png;base64," + _b64(files[1]), *map(_b64, files[2:])]
    response = client.post("/predict", json={"images": images})
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == response.json()["request_id"]
    _check(response.json()["predictions"], expected)


def test_uploaded_files_are_answered_in_order(client, files, expected):
    parts = [("files", (p.name, p.read_bytes(), "image/png")) for p in files]
    response = client.post("/predict/files", files=parts)
    assert response.status_code == 200, response.text
    _check(response.json()["predictions"], expected)


def test_an_rgb_image_is_converted_to_the_bundles_grayscale(client, files, expected):
    buffer = io.BytesIO()
    with Image.open(files[3]) as gray:
        gray.convert("RGB").save(buffer, format="BMP")  # lossless, so the gray values are the same
    response = client.post("/predict/files", files=[("files", ("eight.bmp", buffer.getvalue(), "image/bmp"))])
    assert response.status_code == 200, response.text
    _check(response.json()["predictions"], expected.iloc[3:])


def _detail(response, status: int) -> list[dict]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    return body["detail"]


def test_a_file_that_is_not_an_image_is_422_naming_it(client, files):
    parts = [
        ("files", (files[0].name, files[0].read_bytes(), "image/png")),
        ("files", ("notes.txt", b"not an image at all", "text/plain")),
    ]
    detail = _detail(client.post("/predict/files", files=parts), 422)
    assert len(detail) == 1 and detail[0]["loc"] == ["body", "files", 1] and detail[0]["field"] == "files"
    assert "'notes.txt'" in detail[0]["msg"] and "not a readable image" in detail[0]["msg"]
    assert "PNG, JPEG" in detail[0]["msg"]  # the hint: what to send instead
    detail = _detail(
        client.post("/predict", json={"images": [_b64(files[0]), base64.b64encode(b"GIF89a?").decode()]}), 422
    )
    assert detail[0]["loc"] == ["body", "images", 1] and "image 1: not a readable image" in detail[0]["msg"]


def test_bad_base64_is_422_naming_the_image(client):
    detail = _detail(client.post("/predict", json={"images": ["iVBOR!!not base64"]}), 422)
    assert len(detail) == 1 and detail[0]["loc"] == ["body", "images", 0] and detail[0]["type"] == "base64"
    assert detail[0]["msg"].startswith("image 0: not valid base64; send the file's bytes in standard base64")


def test_wrong_counts_are_422(client, files):
    assert _detail(client.post("/predict", json={"images": []}), 422)[0]["type"] == "too_short"
    assert _detail(client.post("/predict", json={"images": [_b64(files[3])] * 21}), 422)[0]["type"] == "too_long"
    assert _detail(client.post("/predict", json={"image": _b64(files[3])}), 422)  # one wrong key: extra + missing
    too_many = [("files", (f"{i}.png", files[3].read_bytes(), "image/png")) for i in range(21)]
    detail = _detail(client.post("/predict/files", files=too_many), 422)
    assert "21 files; at most 20" in detail[0]["msg"]
    assert _detail(client.post("/predict/files", data={"other": "x"}), 422)[0]["field"] == "files"


def test_an_image_over_the_pixel_limit_is_413_before_it_is_decoded(client):
    buffer = io.BytesIO()
    Image.new("L", (65, 64)).save(buffer, format="PNG")  # 4160 pixels > 64 x 64, a few hundred bytes
    detail = _detail(
        client.post("/predict/files", files=[("files", ("wide.png", buffer.getvalue(), "image/png"))]), 413
    )
    assert "'wide.png'" in detail[0]["msg"] and "65x64 pixels" in detail[0]["msg"] and "downscale" in detail[0]["msg"]


def test_a_body_over_the_limit_is_413(client, files):
    response = client.post("/predict", json={"images": [_b64(files[3]) + "A" * 120_000]})
    assert response.status_code == 413 and "bytes" in response.json()["detail"]


def test_metadata_describes_the_images_the_model_reads(client, digits_bundle):
    meta = client.get("/metadata").json()
    assert meta["inputs"] == {"image": {"kind": "image", "mode": "grayscale", "channels": 1, "size": [8, 8]}}
    spec = layerwise.load(digits_bundle).images.to_dict()
    assert meta["preprocessing"]["images"] == spec and meta["task"]["classes"] == [str(k) for k in range(10)]
    paths = client.get("/openapi.json").json()["paths"]
    assert "multipart/form-data" in paths["/predict/files"]["post"]["requestBody"]["content"]
    assert "8x8 grayscale" in paths["/predict"]["post"]["description"]


def test_an_api_key_guards_both_image_routes(digits_bundle, files):
    with TestClient(app_from_bundle(digits_bundle, api_key="s3cret", limits=LIMITS)) as c:
        assert c.post("/predict", json={"images": [_b64(files[3])]}).status_code == 401
        assert (
            c.post("/predict/files", files=[("files", ("a.png", files[3].read_bytes(), "image/png"))]).status_code
            == 401
        )
        ok = c.post("/predict", json={"images": [_b64(files[3])]}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
