"""The reference input that Integrated Gradients and ablation compare each row with.

For a bundle it comes from training statistics saved in the bundle, so explaining needs no
training data: every tabular column at the value it is imputed with (the training median, or
mean, and the most frequent category), every series input at its fitted centre (the training
mean of its scaled steps under `normalize: standard`). A text column has no text: every token id
[PAD] (explain/tokens.py).
"""

from __future__ import annotations

import numpy as np

from ..bundle.predictor import Predictor
from ..data.kinds import TEXT
from ..data.transforms import DATE_PARTS
from ..models.text import PAD


def training_baseline(predictor: Predictor) -> tuple[np.ndarray, str]:
    """(one model-space input, a sentence saying what it is)."""
    shape = tuple(predictor.model["input_shape"])
    if predictor.series is not None:  # a forecast
        return np.zeros(shape, dtype=np.float32), "every input at its training centre (scaled value 0)"
    if predictor.features is None:
        return np.zeros(shape, dtype=np.float32), "zeros"
    assert predictor.features.columns is not None, "a Predictor's preprocessor is fitted"
    parts = []
    for state in predictor.features.columns.values():
        kind = state["kind"]
        if kind == TEXT:  # its ids follow every dense column: added below
            continue
        if kind == "numeric":
            parts.append([_scaled(state["fill"], state)])
        elif kind == "boolean":
            parts.append([state["fill"]])
        elif kind == "datetime":
            parts.append([_scaled(state["parts"][p]["fill"], state["parts"][p]) for p in DATE_PARTS])
        else:
            categories = state["categories"]
            code = categories.index(state["fill"]) if state["fill"] in categories else -1
            if state["encoding"] == "onehot":
                parts.append([float(i == code) for i in range(len(categories))])
            else:
                parts.append([code / max(len(categories) - 1, 1) if code >= 0 else -1.0])
    texts = predictor.features.layout["texts"]
    parts.append([float(PAD)] * sum(t["length"] for t in texts))  # no text: every id [PAD]
    row = np.array([v for part in parts for v in part], dtype=np.float32)
    described = "every feature at its training fill value: the median (numeric), the most frequent category"
    return row, described + ("; every text empty (each token [PAD])" if texts else "")


def data_baseline(x: np.ndarray, how: str | np.ndarray | float = "zeros") -> tuple[np.ndarray, str]:
    """For a plain module: 'zeros', 'mean' (of `x`), a number, or an array shaped like one sample."""
    if isinstance(how, str):
        if how == "zeros":
            return np.zeros(x.shape[1:], dtype=np.float32), "zeros"
        if how == "mean":
            return x.mean(axis=0).astype(np.float32), "the mean of the explained inputs"
        raise ValueError(f"baseline {how!r}: use 'zeros', 'mean', a number or an array")
    value = np.broadcast_to(np.asarray(how, dtype=np.float32), x.shape[1:]).copy()
    return value, "the given baseline"


def _scaled(value: float, state: dict) -> float:
    return (value - state["center"]) / state["scale"]
