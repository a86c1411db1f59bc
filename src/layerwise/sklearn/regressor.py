"""NeuralRegressor: an MLP regressor for scikit-learn, trained by layerwise's Trainer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import RegressorMixin

from ..data import TargetEncoder
from ..data.scaling import fit_scale
from ..errors import LayerwiseError
from ..tasks import TaskInfo
from .base import NeuralEstimator
from .params import InvalidParameter


class NumberTargets:
    """How a regressor's targets are standardized and its outputs mapped back to the target's units;
    shared by NeuralRegressor and the text regressor (sklearn/text.py). Mixed in before NeuralEstimator."""

    loss: str
    _y_center: np.ndarray
    _y_scale: np.ndarray
    _y_1d: bool
    _raw: Callable[..., np.ndarray]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # type: ignore[misc]  # the estimator's, further along the MRO
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X) -> np.ndarray:
        """(n,) predictions, or (n, n_targets) when y had two dimensions, in the target's units."""
        values = self._raw(X) * self._y_scale + self._y_center  # as TargetEncoder.decode does
        return values[:, 0] if self._y_1d else values

    def _fit_target(self, y, classes=None):
        if self.loss in ("cross_entropy", "bce"):
            raise InvalidParameter(f"loss: '{self.loss}' is a classification loss; use mse, mae or huber (or auto)")
        columns = y.reshape(len(y), -1).astype(np.float64)
        stats = [fit_scale(column, "standard") for column in columns.T]
        self._y_center = np.array([center for center, _ in stats])
        self._y_scale = np.array([scale for _, scale in stats])
        self._y_1d = y.ndim == 1
        loss = "mse" if self.loss == "auto" else self.loss
        return self._encode_target(y), columns.shape[1], loss

    def _encode_target(self, y) -> np.ndarray:
        """(n, n_targets) float32, standardized."""
        columns = y.reshape(len(y), -1).astype(np.float64)
        if columns.shape[1] != len(self._y_center):
            raise ValueError(
                f"y has {columns.shape[1]} target columns, but this regressor was fitted on {len(self._y_center)}"
            )
        return ((columns - self._y_center) / self._y_scale).astype(np.float32)

    def _task(self, features):
        return TaskInfo(type="regression", target="target", features=features)

    def _target_encoder(self):
        if len(self._y_center) != 1:
            raise LayerwiseError(
                f"a bundle predicts one target; this regressor was fitted on {len(self._y_center)}",
                hint="fit one NeuralRegressor per target column to save each as a bundle",
            )
        encoder = TargetEncoder("regression")
        encoder.center, encoder.scale = float(self._y_center[0]), float(self._y_scale[0])
        return encoder


class NeuralRegressor(RegressorMixin, NumberTargets, NeuralEstimator):
    """A multilayer perceptron regressor with scikit-learn's API; y may have several columns.

    Each target column is standardized with the training rows' mean and std, as an
    experiment does, and predictions are mapped back to the target's units. `loss` is
    mse, mae or huber (auto = mse). The other parameters are those of an experiment's
    `model` and `train` sections (`hidden` is `model.hidden`, `lr` is `train.lr`, ...),
    validated in `fit` with the config's messages; `optimizer__momentum` and
    `optimizer__nesterov` apply to sgd (momentum also to rmsprop).

    `early_stopping=True` holds out a random `validation_fraction` of the rows, stops
    after `patience` epochs without a lower validation loss, and keeps the best epoch's
    weights. `random_state` seeds the weights, batch order and that split.

    Fitted attributes: `n_features_in_`, `feature_names_in_` (DataFrames), `module_`,
    `history_` (one dict per epoch), `n_iter_`, `best_epoch_`.

    Pickling works, as scikit-learn expects, but unpickling runs code: share a model as a
    bundle instead (`to_bundle(path)`, then `layerwise.load(path)`), safetensors and JSON.
    """

    _multi_output = True
    _y_numeric = True

    def __init__(
        self,
        hidden=(64, 64),
        activation="relu",
        dropout=0.0,
        norm="none",
        init="auto",
        loss="mse",
        optimizer="adam",
        lr=1e-3,
        optimizer__momentum=0.9,
        optimizer__nesterov=False,
        batch_size=64,
        epochs=100,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        random_state=None,
        device="auto",
        verbose=False,
    ):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.norm = norm
        self.init = init
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.optimizer__momentum = optimizer__momentum
        self.optimizer__nesterov = optimizer__nesterov
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def partial_fit(self, X, y):
        """One epoch over X, y, continuing the network (a new one on the first call).

        The target's standardization is fitted on the first call's rows.
        """
        return self._partial_fit(X, y)
