"""The reference input that Integrated Gradients and ablation compare each row with.

For a bundle it comes from training statistics saved in the bundle, so explaining needs no
training data: the preprocessing's own fill row (`Preprocessor.fill_row`), every tabular column
at the value a missing one is imputed with: a number at its training median (or mean, or 0, as
data.clean.impute_numeric says), a category at its most frequent training value (one-hot,
ordinal or embedded code alike), a date at its fill year with its cyclic parts at the circle's
centre, every missing-value indicator 0. Every series input sits at its fitted centre (the
training mean of its scaled steps under `normalize: standard`). A text column has no text:
every token id [PAD] (explain/tokens.py).
"""

from __future__ import annotations

import numpy as np

from ..bundle.predictor import Predictor
from ..models.text import PAD

# data.clean.impute_numeric -> what a missing number is filled with
NUMERIC_FILL = {"median": "the training median", "mean": "the training mean", "zero": "0"}


def training_baseline(predictor: Predictor) -> tuple[np.ndarray, str]:
    """(one model-space input, a sentence saying what it is)."""
    shape = tuple(predictor.model["input_shape"])
    if predictor.series is not None:  # a forecast
        return np.zeros(shape, dtype=np.float32), "every input at its training centre (scaled value 0)"
    features = predictor.features
    if features is None:
        return np.zeros(shape, dtype=np.float32), "zeros"
    assert features.columns is not None, "a Predictor's preprocessor is fitted"
    texts = features.layout["texts"]
    # (dense columns, embedded codes), then each text's ids: no text, every id [PAD]
    pads = np.full(sum(t["length"] for t in texts), float(PAD), dtype=np.float32)
    row = np.concatenate([features.fill_row(), pads]).astype(np.float32)
    return row, _described(features.columns, features.impute_numeric)


def _described(columns: dict[str, dict], impute_numeric: str) -> str:
    """What the fill row holds, naming only the kinds of column the table has."""
    kinds = {state["kind"] for state in columns.values()}
    parts = []
    if "numeric" in kinds:
        parts.append(f"a number at {NUMERIC_FILL.get(impute_numeric, 'its training fill')}")
    if "boolean" in kinds:
        parts.append("a true/false at its more frequent training value")
    if "categorical" in kinds:
        parts.append("a category at its most frequent training value")
    if "datetime" in kinds:
        cyclic = any("cycles" in s for s in columns.values() if s["kind"] == "datetime")
        # bundles written before cyclic date parts: year, month, day and weekday each at its fill
        parts.append(
            "a date at its fill year, its cyclic parts (month, weekday, day) at the centre of their circles"
            if cyclic
            else "a date's year, month, day and weekday at their training fill values"
        )
    if any(state.get("missing") for state in columns.values()):
        parts.append("every missing-value indicator 0")
    described = "every feature at its training fill value" + (f": {', '.join(parts)}" if parts else "")
    return described + ("; every text empty (each token [PAD])" if "text" in kinds else "")


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
