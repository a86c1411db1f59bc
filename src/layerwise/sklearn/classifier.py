"""NeuralClassifier: an MLP classifier for scikit-learn, trained by layerwise's Trainer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from ..data import TargetEncoder
from ..tasks import TaskInfo
from .base import NeuralEstimator


class ClassTargets:
    """How a classifier's labels become targets, and its outputs probabilities and labels; shared by
    NeuralClassifier and the text classifier (sklearn/text.py). Mixed in before NeuralEstimator."""

    classes_: np.ndarray
    _raw: Callable[..., np.ndarray]
    _predictor: Callable[[], Any]

    def decision_function(self, X) -> np.ndarray:
        """Logits: (n,) for two classes (positive means classes_[1]), else (n, n_classes)."""
        raw = self._raw(X)
        return raw[:, 0] if len(self.classes_) == 2 else raw

    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes) class probabilities, in the order of `classes_`."""
        raw = self._raw(X)  # first: it checks that the estimator is fitted
        return self._predictor().probabilities(raw)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it checks that the estimator is fitted
        return self.classes_[proba.argmax(axis=1)]

    def _fit_target(self, y, classes=None):
        check_classification_targets(y)
        self.classes_ = np.unique(y if classes is None else np.asarray(classes))
        k = len(self.classes_)
        if k < 2:
            raise ValueError(
                f"{type(self).__name__} needs rows of at least 2 classes; got 1 class ({self.classes_[0]!r})"
            )
        return self._encode_target(y), (1 if k == 2 else k), ("bce" if k == 2 else "cross_entropy")

    def _encode_target(self, y) -> np.ndarray:
        """Class codes: (n, 1) float32 for bce, (n,) int64 for cross-entropy."""
        check_classification_targets(y)
        codes = np.searchsorted(self.classes_, y)
        known = (codes < len(self.classes_)) & (self.classes_[np.minimum(codes, len(self.classes_) - 1)] == y)
        if not known.all():
            raise ValueError(
                f"y holds the label {y[~known][:1].tolist()[0]!r}, which is not in classes_ {self.classes_.tolist()}"
            )
        if len(self.classes_) == 2:
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int64)

    def _task(self, features):
        return TaskInfo(type="classification", target="target", features=features, classes=self.classes_.tolist())

    def _target_encoder(self):
        encoder = TargetEncoder("classification")
        encoder.classes = self.classes_.tolist()
        return encoder


class NeuralClassifier(ClassifierMixin, ClassTargets, NeuralEstimator):
    """A multilayer perceptron classifier with scikit-learn's API.

    Two classes train one logit with binary cross-entropy; more train k logits with
    softmax cross-entropy. The parameters are those of an experiment's `model` and
    `train` sections (`hidden` is `model.hidden`, `lr` is `train.lr`, and so on) and are
    validated in `fit` with the config's messages. `optimizer__momentum` and
    `optimizer__nesterov` apply to sgd (momentum also to rmsprop).

    `early_stopping=True` holds out a stratified `validation_fraction` of the rows, stops
    after `patience` epochs without a lower validation loss, and keeps the best epoch's
    weights. `random_state` seeds the weights, batch order and that split.

    Fitted attributes: `classes_`, `n_features_in_`, `feature_names_in_` (DataFrames),
    `module_` (the torch network), `history_` (one dict per epoch), `n_iter_`, `best_epoch_`.

    Pickling works, as scikit-learn expects, but unpickling runs code: share a model as a
    bundle instead (`to_bundle(path)`, then `layerwise.load(path)`), safetensors and JSON.
    """

    _stratify = True

    def __init__(
        self,
        hidden=(64, 64),
        activation="relu",
        dropout=0.0,
        norm="none",
        init="auto",
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

    def partial_fit(self, X, y, classes=None):
        """One epoch over X, y, continuing the network (a new one on the first call).

        `classes`, every label y will ever hold, is required on the first call.
        """
        if not hasattr(self, "_trainer") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit, "
                "e.g. partial_fit(X, y, classes=np.unique(y_all))"
            )
        return self._partial_fit(X, y, classes)
