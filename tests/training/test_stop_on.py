"""train.stop_on: early stopping and the kept epoch ranked by the validation metric, loss breaking ties."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from sklearn.datasets import load_diabetes, load_iris

import layerwise
from layerwise.config.schema import ExperimentConfig
from layerwise.errors import ConfigError, DataError
from layerwise.experiment.steps import fingerprint
from layerwise.models import build
from layerwise.report import sections
from layerwise.report.run import RunRecord
from layerwise.training import Callback, EarlyStopping, Trainer
from layerwise.training.callbacks import best_row, improves, standing
from layerwise.training.checkpoint import differences

NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    return x, x.sum(1, keepdim=True)


class Scripted:
    """A validation metric that returns the next of `scores` each epoch, whatever the outputs."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.calls = 0

    def __call__(self, preds, target):
        score = self.scores[min(self.calls, len(self.scores) - 1)]
        self.calls += 1
        return score


class Weights(Callback):
    """Each epoch's weights, to compare with the ones fit leaves in the module."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.by_epoch[epoch] = {k: v.clone() for k, v in trainer.module.state_dict().items()}


def _ranked_by(scores, *, maximize=True, epochs=5, patience=2, **settings) -> Trainer:
    """A small regression Trainer whose epochs are ranked by `scores`, one an epoch."""
    return Trainer(
        build({"hidden": [8]}, (4,), 1, seed=0),
        epochs=epochs,
        device="cpu",
        patience=patience,
        stop_on="metric",
        maximize=maximize,
        metric=Scripted(scores),
        **settings,
    )


def test_standing_ranks_by_loss_or_by_the_metric_with_loss_breaking_ties():
    row = {"val_loss": 0.4, "val_metric": 0.8}
    assert standing(row) == (0.4, 0.0)
    assert standing(row, "metric", maximize=True) == (-0.8, 0.4)
    assert standing(row, "metric", maximize=False) == (0.8, 0.4)
    assert standing({"val_loss": None, "val_metric": 0.8}, "metric") is None
    assert standing({"val_loss": 0.4, "val_metric": math.nan}, "metric") is None
    assert improves((-0.8, 0.3), (-0.8, 0.4))  # same accuracy, lower loss: better
    assert not improves((-0.8, 0.5), (-0.8, 0.4))
    assert not improves((0.39, 0.0), (0.4, 0.0), min_delta=0.05)  # the loss: min_delta counts
    history = [
        {"epoch": 1, "val_loss": 0.5, "val_metric": 0.7},
        {"epoch": 2, "val_loss": 0.3, "val_metric": 0.6},
        {"epoch": 3, "val_loss": 0.4, "val_metric": 0.7},
    ]
    assert best_row(history)["epoch"] == 2
    assert best_row(history, "metric")["epoch"] == 3  # 0.7 twice; epoch 3 has the lower loss
    assert best_row(history, "metric", maximize=False)["epoch"] == 2
    assert best_row([{"epoch": 1, "val_loss": None, "val_metric": None}]) is None


def test_stop_on_metric_keeps_the_best_metric_epoch_and_counts_patience_from_it():
    x, y = data()
    seen = Weights()
    trainer = _ranked_by([0.5, 0.9, 0.6, 0.7, 0.95], epochs=20, lr=0.01, callbacks=[seen])
    history = trainer.fit(x, y, x, y)
    assert len(history) == 4  # no gain at epochs 3 and 4 after the best, epoch 2: stopped
    assert trainer.best_epoch == trainer.restored_epoch == 2
    for key, value in trainer.module.state_dict().items():
        assert torch.equal(value, seen.by_epoch[2][key]), key
    # the validation loss fell every epoch here: ranked by loss, epoch 4 would have been kept
    assert best_row(history)["epoch"] == 4


def test_a_lower_is_better_metric_is_minimized():
    x, y = data()
    trainer = _ranked_by([3.0, 1.0, 2.0, 2.5, 4.0], maximize=False, patience=10)
    trainer.fit(x, y, x, y)
    assert trainer.best_epoch == 2


def test_stop_on_is_checked():
    module = build({"hidden": [8]}, (4,), 1)
    with pytest.raises(ConfigError, match="stop_on: 'metric' ranks epochs by the validation metric"):
        Trainer(module, stop_on="metric", maximize=True)
    with pytest.raises(ConfigError, match="maximize: stop_on='metric' needs the metric's direction"):
        Trainer(module, stop_on="metric", metric=lambda p, t: 0.0)  # an MAE would be maximized otherwise
    with pytest.raises(ConfigError, match="stop_on: 'accuracy' is not one of loss, metric"):
        Trainer(module, stop_on="accuracy", metric=lambda p, t: 0.0)


def test_an_undefined_metric_is_an_error_not_a_silent_end_of_early_stopping():
    x, y = data()
    trainer = _ranked_by([0.5, math.nan])
    with pytest.raises(DataError, match="the validation metric is undefined at epoch 2") as caught:
        trainer.fit(x, y, x, y)
    assert "train.stop_on: loss" in caught.value.hint


def test_without_patience_nothing_is_restored():
    x, y = data()
    trainer = Trainer(build({"hidden": [8]}, (4,), 1, seed=0), epochs=3, device="cpu", lr=0.01)
    trainer.fit(x, y, x, y)
    assert trainer.best_epoch is not None and trainer.restored_epoch is None


def _stopper(stop_on: str, maximize: bool = True) -> EarlyStopping:
    stopper = EarlyStopping(patience=3)
    metric = None if stop_on == "loss" else (lambda p, t: 0.0)
    stopper.on_fit_start(Trainer(build({"hidden": [8]}, (4,), 1), stop_on=stop_on, maximize=maximize, metric=metric))
    return stopper


def test_early_stopping_state_keeps_its_rule_and_refuses_another():
    old = _stopper("loss")
    old.load_state_dict({"best_loss": 0.25, "wait": 1, "best_state": None})  # made before stop_on
    assert old.best == (0.25, 0.0) and old.wait == 1
    again = _stopper("loss")
    again.load_state_dict(old.state_dict())
    assert again.best == (0.25, 0.0)
    with pytest.raises(ConfigError, match="by the validation loss; this trainer by the validation metric"):
        _stopper("metric").load_state_dict(old.state_dict())
    accuracy = _stopper("metric", maximize=True)
    with pytest.raises(ConfigError, match="higher is better; this trainer by the validation metric, lower is better"):
        _stopper("metric", maximize=False).load_state_dict(accuracy.state_dict())


def _run(cfg, frame, tmp_path):
    return layerwise.Experiment(cfg, data=frame).run(tmp_path / "run")


def test_a_classification_run_keeps_the_epoch_of_best_validation_accuracy(tmp_path):
    frame = load_iris(as_frame=True).frame
    cfg = {
        "data": {"target": "target"},
        "model": {"hidden": [16]},
        "train": {"epochs": 30, "patience": 5, "lr": 0.01, "stop_on": "metric"},
        "evaluate": {"bootstrap": 0, "report": False, "reference": "none"},
    }
    result = _run(cfg, frame, tmp_path)
    history = pd.read_csv(tmp_path / "run" / "history.csv").to_dict("records")
    best = result.metrics["best_epoch"]
    assert best == best_row(history, "metric", maximize=True)["epoch"]
    assert max(r["val_metric"] for r in history) == history[best - 1]["val_metric"]
    log = (tmp_path / "run" / "run.log").read_text()
    assert f"best validation accuracy (train.stop_on: metric) at epoch {best} (weights restored)" in log


def test_a_regression_run_on_mae_keeps_the_epoch_of_lowest_validation_mae(tmp_path):
    frame = load_diabetes(as_frame=True).frame
    cfg = {
        "data": {"target": "target"},
        "model": {"hidden": [16]},
        "train": {"epochs": 30, "patience": 5, "lr": 0.01, "stop_on": "metric", "metric": "mae"},
        "evaluate": {"bootstrap": 0, "report": False, "reference": "none"},
    }
    result = _run(cfg, frame, tmp_path)
    history = pd.read_csv(tmp_path / "run" / "history.csv").to_dict("records")
    best = result.metrics["best_epoch"]
    assert min(r["val_metric"] for r in history) == history[best - 1]["val_metric"]


def test_stop_on_metric_is_refused_where_no_metric_is_computed(tmp_path):
    cfg = {
        "data": {"path": str(NAMES), "split": {"method": "random", "train": 0.8, "val": 0.1, "test": 0.1}},
        "task": {"type": "generation"},
        "model": {"type": "gru", "hidden": [16], "embedding": 8},
        "train": {"epochs": 1, "stop_on": "metric"},
    }
    # refused before any data is read, with or without a validation split
    for split in ({"val": 0.1, "test": 0.1}, {"train": 0.9, "val": 0.0, "test": 0.1}):
        cfg["data"]["split"] = {"method": "random", "train": 0.8, **split}
        with pytest.raises(ConfigError, match="train.stop_on.*generation ranks its epochs by the validation loss"):
            layerwise.Experiment(cfg).run(tmp_path / "run")
        assert not (tmp_path / "run").exists()


def test_the_fingerprint_holds_stop_on_and_the_metric_only_when_the_metric_decides():
    base = {"data": {"path": "d.csv", "target": "y"}}
    plain = fingerprint(ExperimentConfig.from_dict(base), "digest", watched="accuracy")
    # at its default, stop_on is left out: a checkpoint made before the key existed still matches
    assert "stop_on" not in plain["train"] and "metric" not in plain["train"]
    metric = fingerprint(ExperimentConfig.from_dict({**base, "train": {"stop_on": "metric"}}), "digest", watched="mae")
    assert metric["train"]["stop_on"] == "metric" and metric["train"]["metric"] == "mae"
    # train.metric auto follows evaluate.metric: what is compared is the metric it resolved to
    other = fingerprint(ExperimentConfig.from_dict({**base, "train": {"stop_on": "metric"}}), "digest", watched="rmse")
    assert differences(metric, other) == [("train.metric", "mae", "rmse")]


def _training_text(best_epoch: int, loss_epoch: int, tmp_path) -> str:
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 0.5 + abs(e - loss_epoch) / 10, "lr": 0.001} for e in (1, 2, 3)
    ]
    diagnosis = {"best_epoch": loss_epoch, "best_val_loss": 0.5, "findings": []}
    run = RunRecord(tmp_path, {"best_epoch": best_epoch, "epochs": 3, "diagnosis": diagnosis}, history)
    return re.sub(r"<[^>]+>", " ", sections.training(run).split("<figure")[0])


def test_the_report_names_the_kept_epoch_apart_from_the_loss_minimum(tmp_path):
    assert "best validation loss 0.5 at epoch 2" in _training_text(2, 2, tmp_path)
    text = _training_text(3, 2, tmp_path)  # kept by the metric at 3, the loss lowest at 2
    assert "weights of epoch 3 kept (best validation metric); lowest validation loss 0.5 at epoch 2" in text
