"""Encode the target for the model (class codes, or standardized values) and decode predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, did_you_mean
from .scaling import fit_scale

TASKS = ("classification", "regression", "forecast")


class TargetEncoder:
    """Class labels <-> int64 codes, or values <-> float32 (value - mean) / std. Fitted on train."""

    def __init__(self, task: str, normalize: bool = True):
        if task not in TASKS:
            raise ConfigError(f"task: unknown task '{task}'{did_you_mean(task, TASKS)}; choose one of {TASKS}")
        self.task = task
        self.normalize = bool(normalize)
        self.classes: list | None = None
        self.center = 0.0
        self.scale = 1.0

    def fit(self, y) -> TargetEncoder:
        y = pd.Series(y)
        if self.task == "classification":
            self.classes = sorted_labels({json_value(v) for v in y.dropna().tolist()})
        else:
            values = _values(y)
            if self.normalize:
                self.center, self.scale = fit_scale(values, "standard")
        return self

    def encode(self, y) -> np.ndarray:
        """int64 class codes (classification) or float32 scaled values (regression, forecast)."""
        y = pd.Series(y).reset_index(drop=True)
        if self.task != "classification":
            return ((_values(y) - self.center) / self.scale).astype(np.float32)
        if self.classes is None:
            raise RuntimeError("TargetEncoder.encode called before fit")
        index = {c: i for i, c in enumerate(self.classes)}
        codes = np.empty(len(y), dtype=np.int64)
        for row, value in enumerate(y.tolist()):
            label = None if pd.isna(value) else json_value(value)
            if label not in index:
                raise DataError(
                    f"target: data row {row + 1} holds the label {value!r}, which was not seen in training"
                    f"{did_you_mean(str(value), [str(c) for c in self.classes])}",
                    hint=f"the known classes are {self.classes}; fix the label or retrain with it",
                )
            codes[row] = index[label]
        return codes

    def decode(self, encoded) -> np.ndarray:
        """Class codes back to labels, or model outputs back to the target's units (float64)."""
        encoded = np.asarray(encoded)
        if self.task == "classification":
            return np.array(self.classes, dtype=object)[encoded.astype(np.int64)]
        return encoded.astype(np.float64) * self.scale + self.center

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "normalize": self.normalize,
            "classes": self.classes,
            "center": self.center,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, d: dict) -> TargetEncoder:
        self = cls(d["task"], d["normalize"])
        self.classes = None if d["classes"] is None else list(d["classes"])
        self.center, self.scale = float(d["center"]), float(d["scale"])
        return self


def json_value(value):
    """A NumPy scalar as the Python value JSON stores (np.int64(3) -> 3)."""
    return value.item() if isinstance(value, np.generic) else value


def sorted_labels(labels: set) -> list:
    try:
        return sorted(labels)
    except TypeError:  # labels of mixed types (1 and "a") have no natural order
        return sorted(labels, key=lambda v: (type(v).__name__, str(v)))


def _values(y: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(y, errors="coerce")
    bad = np.flatnonzero((y.notna() & numbers.isna()).to_numpy())
    if len(bad):
        raise DataError(
            f"target: data row {bad[0] + 1} holds {y.iloc[bad[0]]!r}, which is not a number",
            hint="fix the value, or use task: classification if the target is a label",
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
