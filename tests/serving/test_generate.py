"""POST /generate on a generation bundle: the bundle's own samples, bounded requests, named faults."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import layerwise
from layerwise.errors import UsageError
from layerwise.serving.app import Limits, app_from_bundle
from layerwise.serving.records import generate_model


@pytest.fixture(scope="module")
def client(names_bundle):
    with TestClient(app_from_bundle(names_bundle, limits=Limits(max_samples=50))) as c:
        yield c


def test_samples_are_the_bundles_own(client, names_bundle):
    body = {"n": 5, "temperature": 0.8, "top_k": 10, "prompt": "ma", "seed": 7}
    response = client.post("/generate", json=body)
    assert response.status_code == 200, response.text
    samples = response.json()["samples"]
    expected = layerwise.load(names_bundle).generate(5, temperature=0.8, top_k=10, prompt="ma", seed=7)
    assert samples == expected and all(s.startswith("ma") for s in samples)
    assert client.post("/generate", json={}).json()["samples"].__len__() == 1  # every field has a default


@pytest.mark.parametrize(
    "change, field, kind",
    [
        ({"n": 0}, "n", "greater_than_equal"),
        ({"n": 51}, "n", "less_than_equal"),
        ({"n": "3"}, "n", "int_type"),
        ({"temperature": 0}, "temperature", "greater_than_equal"),
        ({"temperature": 11.0}, "temperature", "less_than_equal"),
        ({"top_k": 0}, "top_k", "greater_than_equal"),
        ({"prompt": "a" * 500}, "prompt", "string_too_long"),
        ({"seed": -1}, "seed", "greater_than_equal"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_each_bound_is_a_422_naming_its_field(client, change, field, kind):
    response = client.post("/generate", json=change)
    assert response.status_code == 422, response.text
    assert [(p["field"], p["type"]) for p in response.json()["detail"]] == [(field, kind)]


def test_a_prompt_outside_the_vocabulary_names_the_characters(client):
    response = client.post("/generate", json={"prompt": "a7Z"})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "prompt" and "'7'" in problem["msg"] and "'Z'" in problem["msg"]


def test_a_lone_surrogate_in_the_prompt_is_422_not_500(client):
    raw = b'{"prompt": "a\\ud800"}'  # valid JSON text, but not a Unicode string
    response = client.post("/generate", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "prompt"


def test_non_finite_temperature_is_422(client):
    raw = b'{"temperature": NaN}'
    response = client.post("/generate", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "temperature"


def test_a_generation_bundle_has_no_predict_and_others_no_generate(client, iris_bundle):
    assert client.post("/predict", json={"prompt": "a"}).status_code == 404
    assert client.get("/metadata").json()["task"]["type"] == "generation"
    with TestClient(app_from_bundle(iris_bundle)) as other:
        assert other.post("/generate", json={}).status_code == 404


def test_only_a_generation_bundle_has_a_generate_body(iris_bundle):
    with pytest.raises(UsageError, match="classification model: only a generation bundle"):
        generate_model(layerwise.load(iris_bundle), max_samples=10)
