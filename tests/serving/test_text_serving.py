"""`layerwise serve` on a bundle with text columns: strings validated at the edge (422, never 500),
empty and null texts predicted as no tokens, and the same answers `layerwise predict` gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

import layerwise
from layerwise.serving.app import Limits, app_from_bundle
from layerwise.serving.records import MAX_TEXT_CHARS

WORDS = ["the", "box", "came", "with", "a", "cable", "and", "manual"]


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """Short product reviews whose last word gives the label away, a title, and a number of stars."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["pos", "neg"], n)
    good, bad = ["great", "superb", "lovely"], ["awful", "broken", "late"]
    texts = [
        " ".join([*rng.choice(WORDS, rng.integers(0, 6)), str(rng.choice(good if y == "pos" else bad))]) for y in labels
    ]
    titles = [str(rng.choice(["ok", "fine buy", "would order again", "meh"])) for _ in range(n)]
    return pd.DataFrame({"review": texts, "title": titles, "stars": rng.normal(3, 1, n).round(1), "y": labels})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    cfg = {
        "data": {"target": "y", "columns": {"review": "text", "title": "text"}},
        "model": {"type": "text_bag", "embedding": 8, "hidden": [8]},
        "train": {"epochs": 3, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 20},
    }
    result = layerwise.Experiment(cfg, data=reviews(200)).run(tmp_path_factory.mktemp("text") / "run")
    return Path(result.bundle_path)


@pytest.fixture(scope="module")
def client(bundle):
    with TestClient(app_from_bundle(bundle, limits=Limits(max_body_bytes=4 * 1024 * 1024, max_batch=50))) as c:
        yield c


def record(**change) -> dict:
    return {"review": "the box came broken", "title": "meh", "stars": 2.0, **change}


def predict(client, body) -> list[dict]:
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_the_schema_types_text_as_strings_with_a_maximum_length(client):
    spec = client.get("/openapi.json").json()
    fields = next(s for name, s in spec["components"]["schemas"].items() if name.startswith("Record"))["properties"]
    for column in ("review", "title"):
        string = next(t for t in fields[column]["anyOf"] if t.get("type") == "string")
        assert string["maxLength"] == MAX_TEXT_CHARS
        assert {"type": "null"} in fields[column]["anyOf"]
        assert f"at most {MAX_TEXT_CHARS} characters" in fields[column]["description"]
    assert fields["stars"]["anyOf"][0]["type"] == "number"
    # /metadata says how many tokens of each text the model reads
    inputs = client.get("/metadata").json()["inputs"]
    assert inputs["review"]["kind"] == "text" and inputs["review"]["max_tokens"] >= 1


def test_serve_and_predict_agree_on_the_same_rows(client, bundle):
    rows = reviews(12, seed=1).drop(columns="y")
    rows.loc[2, "review"] = ""  # empty text: no tokens
    rows.loc[3, "title"] = None  # a missing text: no tokens too
    rows.loc[4, "review"] = "unheard words zyxxy " * 40  # unknown tokens, and far over the model's width: cut
    expected = layerwise.load(bundle).predict(rows)
    records = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]
    served = predict(client, records)
    assert [p["prediction"] for p in served] == expected["prediction"].tolist()
    for answer, (_, row) in zip(served, expected.iterrows()):
        assert answer["probabilities"]["pos"] == pytest.approx(row["proba_pos"], abs=1e-6)
    # one record alone gets what it gets inside a batch (float32 sums of another batch size may differ
    # in the last bits: BLAS takes another path)
    alone = predict(client, records[4])[0]
    assert alone["prediction"] == served[4]["prediction"]
    assert alone["probabilities"]["pos"] == pytest.approx(served[4]["probabilities"]["pos"], abs=1e-6)


def test_empty_and_null_texts_are_predicted_as_texts_without_tokens(client, bundle):
    empty, null, blank = (predict(client, record(review=v, title=v))[0] for v in ("", None, "   "))
    assert empty == null == blank
    frame = pd.DataFrame([record(review=None, title=None)])
    assert empty["probabilities"]["pos"] == pytest.approx(
        layerwise.load(bundle).predict(frame)["proba_pos"][0], abs=1e-6
    )


@pytest.mark.parametrize(
    "value, kind", [(5, "string_type"), (4.5, "string_type"), (True, "string_type"), (["a"], "string_type")]
)
def test_a_value_that_is_not_text_is_a_422_naming_the_field(client, value, kind):
    response = client.post("/predict", json=[record(), record(review=value)])
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert [(p["field"], p["type"]) for p in problems] == [("review", kind)]
    assert problems[0]["loc"][:3] == ["body", "many", 1]  # the second record


def test_a_one_megabyte_string_is_a_422_naming_the_field_and_the_limit(client):
    response = client.post("/predict", json=record(title="a" * 1_000_000))
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["field"] == "title" and problem["type"] == "string_too_long"
    assert f"{MAX_TEXT_CHARS} characters" in problem["msg"]
    assert "aaaa" not in response.text  # the value is never echoed
    # just under the limit: predicted, cut to the model's width as `predict` cuts it
    assert predict(client, record(title="fine " * (MAX_TEXT_CHARS // 5)))[0]["prediction"] in ("pos", "neg")


def test_the_limit_is_a_server_setting(bundle):
    with TestClient(app_from_bundle(bundle, limits=Limits(max_text_chars=10))) as c:
        assert c.post("/predict", json=record(review="0123456789")).status_code == 200
        response = c.post("/predict", json=record(review="0123456789a"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["msg"] == "String should have at most 10 characters"


def test_a_missing_text_field_is_named(client):
    body = record()
    del body["review"]
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    assert [(p["field"], p["type"]) for p in response.json()["detail"]] == [("review", "missing")]


def test_text_that_is_not_valid_unicode_is_refused_not_guessed(client):
    def post(raw: bytes):
        return client.post("/predict", content=raw, headers={"content-type": "application/json"})

    # accents, written raw or as JSON escapes: predicted
    assert post('{"review": "café broken", "title": "\\u00e9t\\u00e9", "stars": 1.0}'.encode()).status_code == 200
    # a lone surrogate escape is no character at all: a 422 naming the field
    response = post(b'{"review": "caf\\udce9 broken", "title": "ok", "stars": 1.0}')
    assert response.status_code == 422
    assert [(p["field"], p["type"]) for p in response.json()["detail"]] == [("review", "string_unicode")]
    # bytes that are not UTF-8 are not JSON: a 400
    assert post(b'{"review": "caf\xe9 broken", "title": "ok", "stars": 1.0}').status_code == 400


BOUNDED = settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_request_drawn_from_the_schema_gets_a_500(bundle, mode):
    app = app_from_bundle(bundle, limits=Limits(max_body_bytes=64_000, max_batch=20, max_text_chars=500))
    strategy = schemathesis.openapi.from_asgi("/openapi.json", app)["/predict"]["POST"].as_strategy(
        generation_mode=GenerationMode(mode)
    )

    @BOUNDED
    @given(case=strategy)
    def check(case):
        response = case.call()
        assert response.status_code < 500, (case.body, response.status_code, response.text)

    check()


def test_the_cli_passes_max_text_chars_to_the_server(cli, bundle, monkeypatch):
    seen = {}

    def fake_serve(*args, **kwargs):  # stands in for binding a port: what `serve` would run with
        seen.update(kwargs)

    monkeypatch.setattr("layerwise.serving.server.serve", fake_serve)
    assert cli("serve", bundle, "--max-text-chars", "500")[0] == 0
    assert seen["limits"].max_text_chars == 500
    assert cli("serve", bundle)[0] == 0
    assert seen["limits"].max_text_chars == MAX_TEXT_CHARS == Limits().max_text_chars
