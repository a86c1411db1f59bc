"""Conformance harness for every registered kind of problem (tasks/), as tests/models/test_blocks.py is
for blocks: each Task walked through its contract on a toy input of its own, then a real run's bundle
round trip. A kind registered without a toy here fails `test_every_registered_task_has_a_toy`."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import layerwise
from layerwise import bundle, tasks
from layerwise.config.schema import ExperimentConfig
from layerwise.data import Vocabulary
from layerwise.experiment import steps
from layerwise.models import build
from layerwise.training.runlog import RunLog

NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"
QUICK = {
    "train": {"epochs": 2, "patience": None, "seed": 0, "batch_size": 32},
    "evaluate": {"bootstrap": 20, "report": False},
}


def _table(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a, b = rng.normal(3.0, 2.0, n), rng.normal(-1.0, 0.5, n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": rng.choice(["red", "green", "blue"], n),
            "label": np.where(a + b > 2.0, "yes", "no"),
            "y": 2 * a + b + rng.normal(0, 0.1, n),
        }
    )


def _reviews(tmp_path: Path) -> tuple[dict, Any]:
    """Free text found by inference (no data.columns): a review whose words say the label, beside a number."""
    rng = np.random.default_rng(0)
    good, bad, neutral = ["great", "superb"], ["awful", "broken"], ["the", "box", "came", "with", "a", "cable"]
    labels = rng.choice(["pos", "neg"], size=120)
    reviews = [" ".join([*rng.choice(neutral, 3), rng.choice(good if y == "pos" else bad)]) for y in labels]
    frame = pd.DataFrame({"review": reviews, "stars": rng.normal(3, 1, 120), "label": labels})
    return {"data": {"target": "label"}, "model": {"hidden": [8], "embedding": 8}}, frame


def _series(n: int = 160) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "value": 10 + 0.05 * t + np.sin(t / 4.0),
        }
    )


def _images(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.array(["bar", "dot"] * (n // 2))
    x = rng.integers(0, 60, size=(n, 1, 8, 8)).astype(np.uint8)  # (n, channels, height, width)
    x[labels == "bar", 0, :, 3:5] = 255
    x[labels == "dot", 0, 3:5, 3:5] = 255
    return x, labels


def _names(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES.read_text(encoding="utf-8").splitlines()[:200]) + "\n", encoding="utf-8")
    return path


def _rows_classification(tmp_path: Path) -> tuple[dict, Any]:
    return (
        {"data": {"target": "label", "drop": ["y"]}, "task": {"type": "classification"}, "model": {"hidden": [8]}},
        _table(),
    )


def _rows_regression(tmp_path: Path) -> tuple[dict, Any]:
    return (
        {"data": {"target": "y", "drop": ["label"]}, "task": {"type": "regression"}, "model": {"hidden": [8]}},
        _table(),
    )


def _forecast(tmp_path: Path) -> tuple[dict, Any]:
    return (
        {
            "data": {"target": "value", "time": "date", "window": {"lookback": 6}},
            "task": {"type": "forecast"},
            "model": {"hidden": [8]},
        },
        _series(),
    )


def _image_toy(tmp_path: Path) -> tuple[dict, Any]:
    return {"data": {"image": {}}, "model": {"type": "cnn2d", "channels": [4]}}, _images()


def _text(tmp_path: Path) -> tuple[dict, Any]:
    return (
        {
            "data": {"path": str(_names(tmp_path))},
            "task": {"type": "generation"},
            "model": {"type": "lstm", "hidden": [16], "embedding": 8},
        },
        None,
    )


# task name -> {toy name: a (config, data=) builder}; every registered task needs one
TOYS: dict[str, dict[str, Callable[[Path], tuple[dict, Any]]]] = {
    "rows": {"rows-classification": _rows_classification, "rows-regression": _rows_regression},
    "forecast": {"forecast": _forecast},
    "images": {"images": _image_toy},
    "generation": {"generation": _text},
    "text": {"text": _reviews},
}
CASES = [(name, toy) for name, toys in TOYS.items() for toy in toys]


def _config(settings: dict) -> ExperimentConfig:
    return ExperimentConfig.from_dict({**settings, **QUICK})


def _fitted(name: str, prepared: tasks.Prepared, source: Any, rows: np.ndarray) -> Any:
    """The transform the task fitted, refitted from scratch on `rows` of its source: a comparable state."""
    if name in ("rows", "text"):
        return copy.deepcopy(prepared.features).fit(prepared.frame.iloc[rows]).to_dict()
    if name == "forecast":
        series = copy.deepcopy(prepared.series).fit(prepared.frame.iloc[rows])
        return series.inputs, series.target_scale
    if name == "images":
        pre = copy.deepcopy(prepared.images).fit(source.images[rows])
        return pre.shift, pre.divide
    return Vocabulary.fit([source[i] for i in rows]).tokens


def _state(name: str, prepared: tasks.Prepared) -> Any:
    if name in ("rows", "text"):
        return prepared.features.to_dict()
    if name == "forecast":
        return prepared.series.inputs, prepared.series.target_scale
    if name == "images":
        return prepared.images.shift, prepared.images.divide
    return prepared.vocabulary.tokens


def test_every_registered_task_has_a_toy():
    assert sorted(TOYS) == tasks.available(), "a registered task needs a toy input in TOYS"


@pytest.mark.parametrize(("name", "toy"), CASES)
def test_exactly_one_task_claims_each_toy(name, toy, tmp_path):
    settings, data = TOYS[name][toy](tmp_path)
    cfg = _config(settings)
    claimed = [t for t in tasks.available() if tasks.get(t).claims(cfg, data)]
    assert claimed == [name]
    assert tasks.resolve(cfg, data) is tasks.get(name)


@pytest.mark.parametrize(("name", "toy"), CASES)
def test_every_registered_task_conforms(name, toy, tmp_path):
    settings, data = TOYS[name][toy](tmp_path)
    cfg = _config(settings)
    task = tasks.resolve(cfg, data)
    assert task is tasks.get(name) and task.name == name
    assert task.refused(cfg) == []

    source = task.read(cfg, data, RunLog(quiet=True))
    kind = task.check(cfg, source, "data")
    assert kind in task.types
    prepared = task.prepare(cfg, source, kind, "data")
    assert prepared.task.type == kind
    for part in ("train", "val", "test"):
        assert prepared.rows[part] > 0 and len(prepared.x[part]) == len(prepared.y[part]) == prepared.rows[part]

    # transforms fitted on the training split only: refitting on its rows gives the same state
    train = (
        prepared.index["train"]
        if name != "generation"
        else np.array([source.index(e) for e in prepared.examples["train"]])
    )
    assert json.dumps(_state(name, prepared), default=str) == json.dumps(
        _fitted(name, prepared, source, train), default=str
    )
    if name != "generation":  # every character of a few hundred names is in the training split too
        everything = np.arange(len(source.images) if name == "images" else len(prepared.frame))
        assert json.dumps(_state(name, prepared), default=str) != json.dumps(
            _fitted(name, prepared, source, everything), default=str
        )

    head = task.head(cfg, prepared)
    assert head.output_dim >= 1 and head.loss is not None
    predictor, head, _ = steps.build_model(cfg, task, prepared, RunLog(quiet=True))
    model_out, baseline_out = task.outputs(predictor, prepared, "test")
    n = prepared.rows["test"]
    assert len(model_out) == len(baseline_out) == len(prepared.actual["test"]) == n
    assert model_out.shape == baseline_out.shape
    if kind == "classification":
        assert model_out.shape == (n, prepared.task.n_classes)
    elif kind == "generation":
        assert model_out.shape == prepared.y["test"].shape  # (examples, steps) token losses
    else:
        assert model_out.reshape(n, -1).shape == prepared.actual["test"].reshape(n, -1).shape
    assert np.isfinite(model_out).all()

    table = task.table(prepared, model_out, baseline_out)
    assert isinstance(table, pd.DataFrame) and len(table) == n
    assert isinstance(task.summary(prepared), dict)
    with torch.no_grad():
        raw = predictor.raw_outputs(prepared.x["test"])
    decoded = task.decode(predictor, raw, prepared.last.get("test"))
    assert len(decoded) == n


@pytest.mark.parametrize(("name", "toy"), CASES)
def test_every_registered_task_round_trips_its_bundle(name, toy, tmp_path):
    settings, data = TOYS[name][toy](tmp_path)
    cfg = _config(settings)
    result = layerwise.Experiment(cfg, data=data).run(tmp_path / "r")
    loaded = bundle.load(tmp_path / "r" / "bundle")
    task = tasks.get(name)
    assert tasks.for_bundle(loaded.task, loaded) is task
    assert len(result.history) == 2

    _, _, prepared = tasks.prepare_again(cfg, data)
    task.head(cfg, prepared)
    for a, b in zip(task.outputs(loaded, prepared, "test"), task.outputs(result.predictor, prepared, "test")):
        np.testing.assert_array_equal(a, b)
    if name == "generation":
        assert loaded.generate(5, seed=7) == result.predictor.generate(5, seed=7)
    elif name == "images":
        images, _ = data
        pd.testing.assert_frame_equal(loaded.predict_images(images[:10]), result.predictor.predict_images(images[:10]))
    else:
        pd.testing.assert_frame_equal(loaded.predict(data), result.predictor.predict(data))
    assert len(pd.read_csv(tmp_path / "r" / "predictions.csv")) == prepared.rows["test"]


def test_a_built_block_is_what_the_head_asks_for(tmp_path):
    """The head's width is the module's output width (rows classification, three classes)."""
    frame = _table()
    frame["label"] = np.array(["a", "b", "c"] * 40)
    cfg = _config({"data": {"target": "label", "drop": ["y"]}, "model": {"hidden": [8]}})
    task, _, prepared = tasks.prepare_again(cfg, frame)
    head = task.head(cfg, prepared)
    module = build(cfg.model.model_dump(), tuple(prepared.x["train"].shape[1:]), head.output_dim)
    assert module(torch.as_tensor(prepared.x["test"])).shape == (prepared.rows["test"], 3)
