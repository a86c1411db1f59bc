"""Table settings a stream cannot honour are refused, naming the key, before any batch is read;
a tabular model with more columns than a model.config list usually holds still loads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import layerwise
from layerwise.errors import ConfigError


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.lognormal(size=300)})
    frame["y"] = frame["a"] * 2 + frame["b"] + rng.normal(0, 0.1, 300)
    path = tmp_path_factory.mktemp("stream") / "t.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"model": {"type": "tabular"}}, "model.type"),
        ({"data": {"target_transform": "log"}}, "data.target_transform"),
        ({"data": {"encode": "embed"}}, "data.encode"),
    ],
)
def test_a_stream_refuses_what_it_cannot_honour(table, settings, key):
    config = {
        "data": {"path": str(table), "target": "y", "stream": {"enabled": True}, **settings.get("data", {})},
        "train": {"epochs": 1},
        **{k: v for k, v in settings.items() if k != "data"},
    }
    with pytest.raises(ConfigError) as refused:
        layerwise.Experiment(config).run()
    assert key in str(refused.value)


def test_a_tabular_bundle_of_many_columns_loads(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 1_100)), columns=[f"c{i}" for i in range(1_100)])
    frame["y"] = frame["c0"] + rng.normal(0, 0.1, 60)
    config = {
        "data": {"target": "y"},
        "model": {"type": "tabular", "members": 1, "hidden": [8], "embedding": 2},
        "train": {"epochs": 1},
        "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
    }
    bundle = layerwise.Experiment(config, data=frame).run(out=tmp_path / "run").bundle_path
    model = layerwise.load(bundle)  # model.config.inputs.numeric lists 1,100 positions
    assert len(model.model["config"]["inputs"]["numeric"]) == 1_100
    assert len(model.predict(frame.head(3))) == 3


def test_evaluate_cannot_pass_a_gate_on_trees_it_does_not_refit(cli, table, tmp_path):
    config = {
        "data": {"path": str(table), "target": "y"},
        "model": {"hidden": [8]},
        "train": {"epochs": 2},
        "evaluate": {"bootstrap": 50, "report": False, "gates": {"beat_reference": True}},
    }
    bundle = layerwise.Experiment(config).run(out=tmp_path / "run").bundle_path
    code, _, err = cli("evaluate", bundle, table, "--out", tmp_path / "eval", "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    check = next(c for c in metrics["checks"] if c["gate"] == "beat_reference")
    assert not check["passed"] and "does not refit" in check["detail"]
    assert metrics["verdict"] == "DO NOT DEPLOY"
