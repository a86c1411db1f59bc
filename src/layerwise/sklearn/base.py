"""What NeuralClassifier and NeuralRegressor share: fitting through the Trainer, pickling, bundles.

A subclass says how its target becomes model targets (`_fit_target`, `_encode_target`) and
what a bundle's TaskInfo and TargetEncoder are (`_task`, `_target_encoder`); everything
else, including the training loop, lives below: `layerwise.models.build` makes the
network and `layerwise.training.Trainer` trains it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import bundle
from ..bundle.predictor import Predictor
from ..data import Preprocessor, TargetEncoder, split
from ..models import build
from ..tasks import TaskInfo
from ..training import EpochLog, Trainer
from .params import PARAMS, Settings, check_params, parameter_errors, seed_from


class NeuralEstimator(BaseEstimator):
    """Base class; use NeuralClassifier or NeuralRegressor."""

    _multi_output = False  # passed to validate_data: may y be 2-D?
    _y_numeric = False
    _stratify = False  # split the early-stopping validation rows by class
    _names = PARAMS  # parameter -> the config key it sets (for messages in parameter names)

    # -- subclass hooks ---------------------------------------------------------------------
    def _fit_target(self, y: np.ndarray, classes=None) -> tuple[np.ndarray, int, str]:
        """Learn the target's encoding from y; (model targets, output_dim, loss name)."""
        raise NotImplementedError

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _task(self, features: list[str]) -> TaskInfo:
        raise NotImplementedError

    def _target_encoder(self) -> TargetEncoder:
        raise NotImplementedError

    # -- parameters -------------------------------------------------------------------------
    def set_params(self, **params):
        # `optimizer__momentum` is a parameter of its own, not a setting of a sub-estimator
        # called `optimizer`: set it here, or BaseEstimator looks for "adam".set_params.
        # None of ours holds a sub-estimator, so any other double-underscore name is unknown.
        names = self._get_param_names()
        for key in [k for k in params if "__" in k]:
            if key not in names:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: {sorted(names)!r}."
                )
            setattr(self, key, params.pop(key))
        return super().set_params(**params) if params else self

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, y):
        """Train a new network on X, y for `epochs` (fewer with early stopping)."""
        X, y = self._validate(X, y, reset=True)
        settings = check_params(self.get_params(deep=False), type(self).__name__)
        seed = seed_from(self.random_state)
        target, output_dim, loss = self._fit_target(y)
        self._start(X, settings, seed, output_dim, loss)
        val_x = val_y = None
        held = self.holdout(settings, seed, target)
        if held is not None:
            train, val = held
            X, target, val_x, val_y = X[train], target[train], X[val], target[val]
        self._trainer.fit(as_tensor(X), as_tensor(target), as_tensor(val_x), as_tensor(val_y))
        self._record()
        return self

    def holdout(self, settings: Settings, seed: int, target: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(train rows, validation rows) for early stopping, stratified by class for a classifier;
        None without early stopping (every row trains)."""
        if not settings.early_stopping:
            return None
        fraction, n = settings.validation_fraction, len(target)
        parts = split(
            n,
            method="stratified" if self._stratify else "random",
            train=1 - fraction,
            val=fraction,
            test=0.0,
            y=target.reshape(n, -1)[:, 0] if self._stratify else None,
            seed=seed,
        )
        return parts.train, parts.val

    def _partial_fit(self, X, y, classes=None):
        first = not hasattr(self, "_trainer")
        X, y = self._validate(X, y, reset=first)
        if first:
            settings = check_params(self.get_params(deep=False), type(self).__name__)
            target, output_dim, loss = self._fit_target(y, classes)
            self._start(X, settings, seed_from(self.random_state), output_dim, loss)
        else:
            target = self._encode_target(y)
        self._trainer.epochs = 1  # one pass over this batch of rows, as scikit-learn's partial_fit does
        self._trainer.fit(as_tensor(X), as_tensor(target), resume=not first)
        self._record()
        return self

    def _start(self, X: np.ndarray, settings: Settings, seed: int, output_dim: int, loss: str) -> None:
        """Build the network and its Trainer; fit the bundle's feature state on X."""
        self.begin(settings, seed, output_dim, loss, width=X.shape[1])
        # A bundle takes named columns; numeric, unscaled (the estimator saw X as it is), with
        # missing values filled by the training median, as an Experiment's bundle does.
        names = self._feature_names()
        kinds = {name: "numeric" for name in names}
        self._features = Preprocessor(kinds, normalize="none").fit(pd.DataFrame(X, columns=names))

    def begin(self, settings: Settings, seed: int, output_dim: int, loss: str, *, width: int) -> None:
        """Build the network for rows of `width` features, and the Trainer that trains it."""
        self._settings, self._seed, self._output_dim, self._loss = settings, seed, output_dim, loss
        with parameter_errors(type(self).__name__, self._names):
            module = _built(settings.model, width, output_dim, seed)
        self._trainer = self._make_trainer(module)

    def _make_trainer(self, module: torch.nn.Module) -> Trainer:
        t = self._settings.train
        with parameter_errors(type(self).__name__, self._names):
            return Trainer(
                module,
                loss=self._loss,
                optimizer=t["optimizer"],
                lr=t["lr"],
                momentum=t["momentum"],
                nesterov=t["nesterov"],
                batch_size=t["batch_size"],
                epochs=t["epochs"],
                weight_decay=t["weight_decay"],
                patience=t["patience"] if self._settings.early_stopping else None,
                seed=self._seed,
                device=t["device"],
                callbacks=[EpochLog(print)] if self.verbose else (),
            )

    def _record(self) -> None:
        trainer = self._trainer
        self.module_ = trainer.module
        self.history_ = list(trainer.history)
        self.n_iter_ = len(self.history_)
        self.best_epoch_ = trainer.best_epoch

    # -- prediction -------------------------------------------------------------------------
    def _raw(self, X, batch_size: int = 4096) -> np.ndarray:
        """The network's raw outputs (values, logits) for X; (n, output_dim) float64.

        Evaluated in float64 (the weights cast, the module untouched) so that a row's
        prediction does not depend on which rows share its batch: float32 matrix products
        round differently for 1 row and for 20, by ~1e-7, float64 ones by ~1e-16. A bundle
        runs in float32 and agrees to float32 precision.
        """
        check_is_fitted(self)
        X = self.inputs(X)
        module = self.module_
        device = next(module.parameters()).device
        weights = {k: v.double() if v.is_floating_point() else v for k, v in module.state_dict().items()}
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                x = as_tensor(X).to(device)  # (n, features) float64
                outs = [
                    torch.func.functional_call(module, weights, (x[i : i + batch_size],))
                    for i in range(0, len(x), batch_size)
                ]
        finally:
            module.train(was_training)
        return torch.cat(outs).cpu().numpy()

    def inputs(self, X) -> np.ndarray:
        """The network's input rows for X, (n, width) float64: X checked against the fitted columns."""
        return validate_data(self, X, reset=False, dtype=np.float64)

    def width(self) -> int:
        """Features per input row of the network."""
        return self.n_features_in_

    def _validate(self, X, y, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        # float32, the network's dtype; sparse input is refused with scikit-learn's own message
        return validate_data(
            self, X, y, reset=reset, dtype=np.float32, multi_output=self._multi_output, y_numeric=self._y_numeric
        )

    # -- bundles ----------------------------------------------------------------------------
    def to_bundle(self, path: str | Path) -> Path:
        """Save as a layerwise bundle (safetensors + JSON, no pickle): `layerwise.load(path)`.

        The loaded Predictor takes a DataFrame with the training columns (`feature_names_in_`,
        or x0..x{n-1} for arrays) and predicts as this estimator does.
        """
        check_is_fitted(self)
        return bundle.save(self._predictor(), path)

    def _predictor(self) -> Predictor:
        names = self._feature_names()
        model = {"config": self._settings.model, "input_shape": [self.width()], "output_dim": self._output_dim}
        config = {"estimator": type(self).__name__, "params": _plain(self.get_params(deep=False))}
        return Predictor(
            self._task(names),
            self.module_,
            model=model,
            features=self._features,
            target=self._target_encoder(),
            config=config,
            metrics={"history": self.history_},
        )

    def _feature_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    # -- pickling ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # A copy: object.__getstate__ hands back the live __dict__.
        state = dict(super().__getstate__())
        trainer = state.pop("_trainer", None)
        state.pop("module_", None)
        if trainer is not None:
            # CPU tensors, so a model fitted on a GPU unpickles on a machine without one; the
            # optimizer's and batch order's state too, so partial_fit goes on where it stopped.
            state["_weights"] = _cpu(trainer.module.state_dict())
            state["_optimizer_state"] = _cpu(trainer.optimizer.state_dict())
            state["_batch_order"] = None if trainer.generator is None else trainer.generator.get_state()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("_weights", None)
        optimizer_state = state.pop("_optimizer_state", None)
        batch_order = state.pop("_batch_order", None)
        super().__setstate__(state)
        if weights is not None:
            module = _built(self._settings.model, self.width(), self._output_dim, self._seed)
            module.load_state_dict(weights)
            self._trainer = self._make_trainer(module)
            self._trainer.optimizer.load_state_dict(optimizer_state)
            self._trainer.history = list(self.history_)
            if batch_order is not None:
                generator = torch.Generator(device=self._trainer.device)
                self._trainer.generator = generator.set_state(batch_order)
            self.module_ = self._trainer.module


def _built(model: dict[str, Any], width: int, output_dim: int, seed: int) -> torch.nn.Module:
    """The network, the same for the same seed. `build` draws the weights it initializes from the
    seed; a layer it leaves as constructed (a text block's token embeddings) draws from torch's
    global generator, so construction runs on a fork of it seeded too (the caller's is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(model, (width,), output_dim, seed=seed)


@overload
def as_tensor(a: np.ndarray) -> torch.Tensor: ...
@overload
def as_tensor(a: None) -> None: ...
def as_tensor(a: np.ndarray | None) -> torch.Tensor | None:
    """A tensor over a writable, contiguous copy where needed (torch warns on read-only arrays,
    which scikit-learn hands over as memory maps)."""
    if a is None:
        return None
    return torch.from_numpy(np.require(a, requirements=["C", "W"]))


def _cpu(obj):
    """A state dict (nested dicts and lists of tensors) with every tensor copied to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON stores them; what JSON cannot hold (a RandomState) as its repr."""

    def plain(value):
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return repr(value)

    return {k: plain(v) for k, v in params.items()}
