"""Estimator parameters -> validated model and train sections, in the config's own words.

scikit-learn's rule is that constructors only store; validation happens in `fit`. It
runs through `ExperimentConfig`, so a bad `lr` reads exactly as a bad `train.lr` does in
YAML, with the key path swapped for the parameter's name.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from ..config.schema import ExperimentConfig
from ..errors import ConfigError

# estimator parameter -> the config key it sets
PARAMS = {
    "hidden": "model.hidden",
    "activation": "model.activation",
    "dropout": "model.dropout",
    "norm": "model.norm",
    "init": "model.init",
    "optimizer": "train.optimizer",
    "lr": "train.lr",
    "optimizer__momentum": "train.momentum",
    "optimizer__nesterov": "train.nesterov",
    "batch_size": "train.batch_size",
    "epochs": "train.epochs",
    "weight_decay": "train.weight_decay",
    "patience": "train.patience",
    "device": "train.device",
    "loss": "train.loss",
}


class InvalidParameter(ConfigError, ValueError):
    """A ConfigError that is also a ValueError: what scikit-learn tools expect of a bad parameter."""


@dataclass(frozen=True)
class Settings:
    """One fit's validated settings: plain values, so a pickled estimator carries them as they are."""

    model: dict[str, Any]  # the model section for `layerwise.models.build`
    train: dict[str, Any]  # TrainConfig's fields
    early_stopping: bool
    validation_fraction: float
    text: dict[str, Any] = field(default_factory=dict)  # data.text's fields (text estimators)


def check_params(params: dict[str, Any], owner: str, names: dict[str, str] = PARAMS) -> Settings:
    """Validate an estimator's `get_params()`, raising one InvalidParameter that lists every problem.

    `names` maps each parameter to the config key it sets (PARAMS, or a text estimator's); the
    model type is mlp unless one of them sets model.type."""
    raw: dict[str, Any] = {"data": {"target": "y"}, "model": {"type": "mlp"}, "train": {}}
    for name, path in names.items():
        if name in params:
            *sections, key = path.split(".")
            section = raw
            for part in sections:
                section = section.setdefault(part, {})
            section[key] = params[name]
    problems = []
    cfg = None
    try:
        cfg = ExperimentConfig.from_dict(raw)
    except ConfigError as error:
        problems += [renamed(p, names) for p in error.problems]
    early, fraction = params["early_stopping"], params["validation_fraction"]
    if not isinstance(early, (bool, np.bool_)):
        problems.append(f"early_stopping: {early!r} must be True or False")
    if not (isinstance(fraction, numbers.Real) and 0 < float(fraction) < 1):
        problems.append(f"validation_fraction: {fraction!r} must be in (0, 1)")
    if problems:
        raise InvalidParameter(problems, hint=f"fix the parameters above in {owner}(...)")
    assert cfg is not None  # from_dict returned it, or raised the problems above
    return Settings(
        cfg.model.model_dump(), cfg.train.model_dump(), bool(early), float(fraction), cfg.data.text.model_dump()
    )


def renamed(problem: str, names: dict[str, str] = PARAMS) -> str:
    """'train.lr: ...' -> 'lr: ...': a config problem told in the estimator's parameter names."""
    for name, path in names.items():
        if problem == path or problem.startswith((f"{path}:", f"{path}.")):
            return name + problem[len(path) :]
    return problem


@contextmanager
def parameter_errors(owner: str, names: dict[str, str] = PARAMS) -> Iterator[None]:
    """Re-raise a ConfigError from below (the model's and the Trainer's checks) in parameter names."""
    try:
        yield
    except ConfigError as error:
        raise InvalidParameter(
            [renamed(p, names) for p in error.problems], hint=f"fix the parameters above in {owner}(...)"
        ) from None


def seed_from(random_state) -> int:
    """The seed for weights, batch order and the validation split.

    An int is used as it is (random_state=0 trains like train.seed: 0); None or a
    RandomState draws one, as scikit-learn estimators do.
    """
    if (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, (bool, np.bool_))
        and int(random_state) >= 0
    ):
        return int(random_state)  # a negative one is refused by check_random_state below
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
