"""One trial: the experiment with the trial's settings, scored on validation data only.

The experiment itself is passed in (`validate`), so this package drives Optuna and the
config mapping while `experiment/` alone knows how a config becomes a trained model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import optuna

from ..config.schema import ExperimentConfig
from ..config.space import Space, apply
from ..errors import ConfigError
from ..evaluation.metrics import (
    DEFAULT_PRIMARY,
    HIGHER_IS_BETTER,
    TASK_METRICS,
    resolve,
)
from ..training import Callback


@dataclass
class Validation:
    """Validation scores of one config: per fold, the history row of the weights kept
    (the best epoch with early stopping, else the last); the test split is never scored."""

    task: str
    kept: list[dict[str, Any]]
    epochs: int  # epochs trained over all folds

    def value(self, key: str) -> float:
        """Mean over folds of `key` ("val_metric" or "val_loss")."""
        values = [row[key] for row in self.kept]
        if any(v is None or not math.isfinite(v) for v in values):
            return math.nan
        return sum(values) / len(values)


Validate = Callable[..., Validation]  # (config, callbacks, *, folds) -> Validation


class Pruning(Callback):
    """Report the objective's per-epoch value to the trial; raise TrialPruned when told to.

    With k folds only the first fit reports: a step must mean the same epoch of the same
    fold in every trial, or the pruner compares unlike things. Later folds still count epochs.
    """

    def __init__(self, trial: optuna.Trial, key: str):
        self.trial, self.key = trial, key
        self.fits = self.epochs = 0

    def on_fit_start(self, trainer) -> None:
        self.fits += 1

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        self.epochs += 1
        value = logs.get(self.key)
        if self.fits > 1 or value is None or not math.isfinite(value):
            return
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.trial.set_user_attr("epochs", self.epochs)
            raise optuna.TrialPruned(f"epoch {epoch}: {self.key} {value:.4g}")


def objective(base: dict[str, Any], space: Space, validate: Validate, metric: str, folds: int | None):
    """The function Optuna calls per trial: suggest, build the config, train, score `metric`
    ("loss", or the metric each epoch computes on the validation split, set as train.metric)."""
    key = metric_key(metric)

    def run(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        cfg = ExperimentConfig.from_dict(scored_on(apply(base, params), metric), source=f"trial {trial.number}")
        pruning = Pruning(trial, key)
        result = validate(cfg, [pruning], folds=folds)
        trial.set_user_attr("epochs", result.epochs)
        trial.set_user_attr("kept_epoch", [row["epoch"] for row in result.kept])
        return result.value(key)

    return run


def objective_metric(cfg: ExperimentConfig, task: str, metric: str | None = None) -> str:
    """What a search optimizes: "loss", or the name of a validation metric. `metric` (default
    tune.metric) auto is train.metric's, itself auto evaluate.metric's; a metric of another
    kind of problem is a ConfigError here, before the search."""
    metric = metric or (cfg.tune.metric if cfg.tune is not None else "auto")
    if metric == "loss":
        return metric
    known = TASK_METRICS.get(task, ())
    if metric != "auto" and metric not in known:
        raise ConfigError(f"tune.metric: '{metric}' is not a {task} metric; choose loss or one of {list(known)}")
    return resolve(task, metric, cfg.train.metric, cfg.evaluate.metric)


def scored_on(raw: dict[str, Any], metric: str) -> dict[str, Any]:
    """A config dict whose epochs compute `metric` on the validation split (train.metric): a
    trial's, and the best configuration's, so its retrained run reports the same quantity."""
    return raw if metric == "loss" else apply(raw, {"train.metric": metric})


def metric_key(metric: str) -> str:
    return "val_loss" if metric == "loss" else "val_metric"


def direction(metric: str) -> Literal["minimize", "maximize"]:
    """Optuna's direction for an objective_metric: the loss is minimized, each metric its own way."""
    return "maximize" if metric != "loss" and HIGHER_IS_BETTER[metric] else "minimize"


def metric_name(metric: str) -> str:
    """The objective in words, as tuning.json and the progress display say it."""
    return f"validation {'MAE' if metric == 'mae' else metric}"


def signature_metric(metric: str, task: str) -> str:
    # A study stored before tune.metric could name a metric says "auto" for accuracy or MAE:
    # that objective still signs as "auto", so such a study goes on under the same name.
    return "auto" if metric == DEFAULT_PRIMARY[task] else metric
