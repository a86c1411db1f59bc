"""Bundles trained for a moment on real data (iris, diabetes, BTC), shared by the serving tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

import layerwise

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"
NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"
QUICK = {"epochs": 2, "patience": None, "seed": 0}
LIGHT = {"report": False, "bootstrap": 20, "leakage": False}
# Tiny forecasters, one per sequence block; lookback 8 so windows are short and training quick.
SEQUENCE_BLOCKS = {
    "mlp": {"type": "mlp", "hidden": [8]},
    "cnn1d": {"type": "cnn1d", "channels": [4, 4]},
    "lstm": {"type": "lstm", "hidden": [6]},
    "gru": {"type": "gru", "hidden": [6], "bidirectional": True},
    "transformer": {"type": "transformer", "d_model": 8, "heads": 2, "layers": 1},
}


def iris_frame() -> pd.DataFrame:
    """Iris with a categorical and a boolean column derived from it, to exercise every kind."""
    frame = load_iris(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame["size"] = pd.cut(frame["petal length (cm)"], [0, 2, 5, 10], labels=["small", "medium", "large"]).astype(str)
    frame["wide"] = frame["sepal width (cm)"] > 3.0
    return frame


def btc_frame(n: int = 300) -> pd.DataFrame:
    return pd.read_csv(BTC).iloc[:n].reset_index(drop=True)


def _train(cfg: dict, frame: pd.DataFrame, out: Path) -> Path:
    result = layerwise.Experiment({**cfg, "evaluate": LIGHT}, data=frame).run(out=out)
    return Path(result.bundle_path)


@pytest.fixture(scope="session")
def iris_bundle(tmp_path_factory) -> Path:
    cfg = {"data": {"target": "target"}, "model": {"hidden": [16]}, "train": {**QUICK, "epochs": 30}}
    return _train(cfg, iris_frame(), tmp_path_factory.mktemp("iris"))


@pytest.fixture(scope="session")
def diabetes_bundle(tmp_path_factory) -> Path:
    cfg = {"data": {"target": "target"}, "model": {"hidden": [8]}, "train": QUICK}
    return _train(cfg, load_diabetes(as_frame=True).frame, tmp_path_factory.mktemp("diabetes"))


@pytest.fixture(scope="session")
def forecast_bundles(tmp_path_factory) -> dict[str, Path]:
    frame = btc_frame()
    bundles = {}
    for name, model in SEQUENCE_BLOCKS.items():
        cfg = {
            "data": {
                "target": "Close",
                "time": "Date",
                "features": ["Close", "Volume"],
                "window": {"lookback": 8, "horizon": 1},
                "transform": "log_return",
            },
            "task": {"type": "forecast"},
            "model": model,
            "train": QUICK,
        }
        bundles[name] = _train(cfg, frame, tmp_path_factory.mktemp(name))
    return bundles


@pytest.fixture(scope="session")
def names_bundle(tmp_path_factory) -> Path:
    """A tiny character model on 400 real first names: it generates, it need not generate well."""
    folder = tmp_path_factory.mktemp("names")
    (folder / "names.txt").write_text("\n".join(NAMES.read_text().split()[:400]) + "\n")
    cfg = {
        "data": {"path": str(folder / "names.txt")},
        "task": {"type": "generation"},
        "model": {"type": "gru", "hidden": [16], "embedding": 8},
        "train": QUICK,
        "evaluate": LIGHT,
    }
    return Path(layerwise.Experiment(cfg).run(out=folder / "run").bundle_path)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def iris_data() -> pd.DataFrame:
    return iris_frame()


@pytest.fixture(scope="session")
def btc_data() -> pd.DataFrame:
    return btc_frame()
