"""One policy for category values unseen in training, shared by `predict`, `explain` and `serve`.

--unseen error (the default): exit 3, or HTTP 422, naming the column, the values and the rows.
--unseen warn: predicted as unknown categories, with a warning naming column and count, and a
count per row in the output (`unseen`). The same rows get the same predictions everywhere.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from layerwise.cli import main
from layerwise.serving.app import app_from_bundle

NEW = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "city": ["Paris", "oslo", " Lima ", "Oslo"]})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cities")
    rng = np.random.default_rng(0)
    city = rng.choice(["Lima", "Oslo", "Pune"], 200)
    x = rng.normal(size=200)
    pd.DataFrame({"x": x, "city": city, "y": x + 2 * (city == "Oslo") + rng.normal(scale=0.1, size=200)}).to_csv(
        folder / "d.csv", index=False
    )
    # normalize standard: a linear scaling, under which a huge value overflows float32 and is
    # refused (normalize: auto bounds every value)
    (folder / "exp.yaml").write_text(
        "data: {path: d.csv, target: y, normalize: standard}\ntrain: {epochs: 5, seed: 0}\n"
        "evaluate: {bootstrap: 20, report: false}\n"
    )
    assert main(["run", str(folder / "exp.yaml"), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run" / "bundle"


@pytest.fixture
def new_csv(tmp_path):
    NEW.to_csv(tmp_path / "new.csv", index=False)
    return tmp_path / "new.csv"


def _records() -> list[dict]:
    return [{"x": float(r["x"]), "city": r["city"]} for r in NEW.to_dict("records")]


def _named(err: str) -> None:
    """The column, every unseen value and its row, and a suggestion for the near misses."""
    for words in (
        "new.csv" if "new.csv" in err else "data",
        "'city'",
        "3 value(s)",
        "'Paris' (data row 1)",
        "'oslo' (data row 2; did you mean 'Oslo'?)",
        "' Lima ' (data row 3; did you mean 'Lima'?)",
        "--unseen warn",
    ):
        assert words in err, (words, err)


def test_predict_refuses_unseen_categories_by_default(cli, bundle, new_csv, tmp_path):
    code, out, err = cli("predict", bundle, new_csv, "-o", tmp_path / "pred.csv")
    assert code == 3, err
    _named(err)
    assert "new.csv" in err and not (tmp_path / "pred.csv").exists()


def test_explain_and_serve_refuse_them_alike(cli, bundle, new_csv, tmp_path):
    code, _, err = cli("explain", bundle, new_csv, "-o", tmp_path / "explained", "--method", "saliency")
    assert code == 3, err
    _named(err)
    with TestClient(app_from_bundle(bundle)) as client:
        response = client.post("/predict", json=_records())
    assert response.status_code == 422  # HTTP names the field and record, and never echoes a value
    assert sorted((p["loc"][-2], p["field"]) for p in response.json()["detail"]) == [
        (0, "city"),
        (1, "city"),
        (2, "city"),
    ]


def test_warn_predicts_them_as_unknown_the_same_way_everywhere(cli, bundle, new_csv, tmp_path):
    code, out, err = cli("predict", bundle, new_csv, "--unseen", "warn")
    assert code == 0, err
    assert "warning: 3 category value(s) not seen in training" in err and "city: 3 ('Paris', 'oslo', ' Lima ')" in err
    predicted = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert predicted["unseen"].tolist() == [1, 1, 1, 0]
    assert predicted["city"].tolist() == NEW["city"].tolist()  # the input, as given
    code, _, err = cli(
        "explain", bundle, new_csv, "--unseen", "warn", "-o", tmp_path / "explained", "--method", "saliency"
    )
    assert code == 0, err
    assert "warning: 3 category value(s) not seen in training explained as unknown categories" in err
    with TestClient(app_from_bundle(bundle, unseen="warn")) as client:
        answers = client.post("/predict", json=_records()).json()["predictions"]
    assert [a["unseen"] for a in answers] == [1, 1, 1, 0]
    assert [a["prediction"] for a in answers] == pytest.approx(predicted["prediction"].tolist(), rel=1e-5)


def test_a_bad_policy_is_a_usage_error(cli, bundle, new_csv):
    code, _, err = cli("predict", bundle, new_csv, "--unseen", "ignore")
    assert code == 2 and "--unseen 'ignore'" in err and "error, warn" in err


def test_serve_refuses_a_number_too_large_for_float32_as_predict_does(cli, bundle, tmp_path):
    pd.DataFrame({"x": [0.5, 1e300], "city": ["Oslo", "Lima"]}).to_csv(tmp_path / "big.csv", index=False)
    code, _, err = cli("predict", bundle, tmp_path / "big.csv")
    assert code == 3 and "big.csv: data row 2, column 'x': 1e+300 is too large" in err
    with TestClient(app_from_bundle(bundle)) as client:
        response = client.post("/predict", json=[{"x": 0.5, "city": "Oslo"}, {"x": 1e300, "city": "Lima"}])
    assert response.status_code == 422
    assert [(p["loc"][-2], p["field"]) for p in response.json()["detail"]] == [(1, "x")]
