"""Serving and predicting with a table bundle of the new preprocessing: a missing-value indicator,
cyclic date parts and an embedded category column (model.type tabular), under both --unseen policies."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import layerwise
from layerwise.serving.app import app_from_bundle

RECORDS = [
    {"a": None, "city": "Atlantis", "when": "2022-03-04", "noise": 0.1},  # missing, a date, unseen
    {"a": 0.5, "city": "city07", "when": "2021-12-31T18:30:00", "noise": -0.2},
    {"a": 1e300, "city": None, "when": None, "noise": 0.0},  # any finite number: `a` is scaled bounded
]


def shops(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cities = [f"city{i:02d}" for i in range(25)]
    effect = dict(zip(cities, rng.normal(size=25)))
    city = rng.choice(cities, n)
    a = rng.normal(size=n)
    a[rng.random(n) < 0.15] = np.nan
    when = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    y = np.array([effect[c] for c in city]) + np.nan_to_num(a) + 0.1 * rng.normal(size=n)
    return pd.DataFrame({"a": a, "city": city, "when": when.strftime("%Y-%m-%d"), "noise": rng.normal(size=n), "y": y})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    cfg = {
        "data": {"target": "y", "target_transform": "standard"},
        "model": {"type": "tabular"},
        "train": {"epochs": 2, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 20, "leakage": False, "reference": "none"},
    }
    result = layerwise.Experiment(cfg, data=shops()).run(out=tmp_path_factory.mktemp("shops"))
    return Path(result.bundle_path)


def _expected(bundle: Path) -> pd.DataFrame:
    model = layerwise.load(bundle)
    model.unseen = "warn"
    return model.predict(pd.DataFrame(RECORDS), source="records")


def test_the_bundle_has_an_indicator_cyclic_dates_and_an_embedded_city(bundle):
    columns = layerwise.load(bundle).features.columns
    assert columns["a"]["missing"] is True and columns["a"]["method"] in ("quantile", "robust_clip")
    assert columns["when"]["cycles"][:3] == ["month", "dayofweek", "day"]
    assert columns["city"]["encoding"] == "embed" and len(columns["city"]["categories"]) == 25


def test_serve_answers_a_missing_value_a_date_and_an_unseen_city_as_predict_does(bundle):
    expected = _expected(bundle)
    with TestClient(app_from_bundle(bundle, unseen="warn")) as client:
        response = client.post("/predict", json=RECORDS)
        one = client.post("/predict", json=RECORDS[0])
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["unseen"] for a in answers] == [1, 0, 0]
    assert [a["prediction"] for a in answers] == pytest.approx(expected["prediction"].tolist(), rel=1e-5)
    assert all(np.isfinite(a["prediction"]) for a in answers)
    assert one.status_code == 200  # one record alone: the same answer, up to float32 rounding
    assert one.json()["predictions"][0]["prediction"] == pytest.approx(answers[0]["prediction"], rel=1e-5)


def test_serve_refuses_the_unseen_city_by_default_and_takes_any_finite_number(bundle):
    with TestClient(app_from_bundle(bundle)) as client:
        refused = client.post("/predict", json=RECORDS[:2])
        taken = client.post("/predict", json=RECORDS[1:])
        infinite = client.post(
            "/predict",
            content=b'{"a": 1e999, "city": "city01", "when": null, "noise": 0}',
            headers={"content-type": "application/json"},
        )
        schema = client.get("/openapi.json").json()
    assert refused.status_code == 422
    assert [(p["loc"][-2], p["field"]) for p in refused.json()["detail"]] == [(0, "city")]
    assert taken.status_code == 200, taken.text  # 1e300 under a bounded scaling is a number like any other
    expected = _expected(bundle)["prediction"].tolist()[1:]
    assert [a["prediction"] for a in taken.json()["predictions"]] == pytest.approx(expected, rel=1e-5)
    assert infinite.status_code == 422 and infinite.json()["detail"][0]["field"] == "a"
    # the only finite numbers refused: where (x - center) / scale itself would overflow a float64
    field = schema["components"]["schemas"]["Record"]["properties"]["a"]["anyOf"][0]
    assert field["minimum"] < -1e307 and field["maximum"] > 1e307


def test_predict_codes_an_unseen_embedded_city_as_unknown_under_warn_and_refuses_it_under_error(cli, bundle, tmp_path):
    rows = pd.DataFrame(RECORDS[:2] + [{"a": 0.5, "city": None, "when": "2021-12-31T18:30:00", "noise": -0.2}])
    rows.loc[0, "city"] = "Atlantis"
    rows.loc[1, "city"] = "Atlantis"  # rows 2 and 3 differ in city only: unseen there, missing here
    rows.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = cli("predict", bundle, tmp_path / "new.csv", "--unseen", "warn")
    assert code == 0, err
    assert "warning: 2 category value(s) not seen in training" in err and "city: 2 ('Atlantis')" in err
    predicted = pd.read_csv(io.StringIO(out))
    assert predicted["unseen"].tolist() == [1, 1, 0]
    # an unseen city is code 0, as a missing one is: the same prediction
    assert predicted["prediction"].iloc[1] == pytest.approx(predicted["prediction"].iloc[2], rel=1e-6)

    code, _, err = cli("predict", bundle, tmp_path / "new.csv", "-o", tmp_path / "pred.csv")
    assert code == 3, err
    assert "column 'city': 2 value(s) not seen in training: 'Atlantis' (data rows 1, 2)" in err
    assert "--unseen warn" in err and not (tmp_path / "pred.csv").exists()
