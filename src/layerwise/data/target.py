"""Encode the target for the model (class codes, or standardized values) and decode predictions.

A regression target may be transformed first (data.target_transform), fitted on the training
rows only:
- standard: (y - mean) / std.
- log: (ln y - mean) / std of ln y; every training value must be > 0. The natural log, not
  log1p: once standardized, ln(c * y) = ln c + ln y loses the unit c, so the transform does not
  depend on whether prices are in dollars or thousands; log1p would be near-linear for small
  values and near-log for large ones, a choice made by the units. A prediction is decoded with
  its log clipped to the training range of ln y widened by LOG_MARGIN on both sides (a factor
  e beyond the extremes), so exp never overflows; a value <= 0 among held-out rows is encoded
  at that lower bound.
- auto: log when every training value is > 0, their skewness is above SKEWED_TARGET and the
  log makes it smaller in magnitude (e.g. house prices, incomes, counts of a few large
  events); else standard. Measured: scikit-learn's diabetes target (skew 0.44) stays
  standard; a log-normal target (sigma 1, skew about 6) goes to log.
- none: the values as they are.
Predictions and metrics are always in the target's units (decode).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BundleError, ConfigError, DataError, did_you_mean
from .scaling import fit_scale, skewness

TASKS = ("classification", "regression", "forecast")
TRANSFORMS = ("auto", "standard", "log", "none")
SKEWED_TARGET = 1.0  # auto: log above this skewness (when every training value is > 0)
LOG_MARGIN = 1.0  # decoded logs lie within the training range of ln y +- this


class TargetEncoder:
    """Class labels <-> int64 codes, or values <-> float32 (value - mean) / std, of ln value
    where `transform` says so. Fitted on train.

    `normalize=False` is the older spelling of transform="none"; `transform` (data.target_transform)
    decides when given.
    """

    def __init__(self, task: str, normalize: bool = True, transform: str | None = None):
        if task not in TASKS:
            raise ConfigError(f"task: unknown task '{task}'{did_you_mean(task, TASKS)}; choose one of {TASKS}")
        if transform is None:
            transform = "standard" if normalize else "none"
        if transform not in TRANSFORMS:
            raise ConfigError(
                f"data.target_transform: unknown value '{transform}'{did_you_mean(str(transform), TRANSFORMS)}; "
                f"choose one of {TRANSFORMS}"
            )
        if transform == "log" and task == "forecast":
            raise ConfigError(
                "data.target_transform: log is for regression; a forecast's target has data.transform (log_return)"
            )
        self.task = task
        self.transform = transform
        self.normalize = transform != "none"
        self.log = False  # fitted: whether ln y is what is standardized
        self.clip: list[float] | None = None  # with log: the bounds of a decoded ln y
        self.classes: list | None = None
        self.center = 0.0
        self.scale = 1.0

    def fit(self, y) -> TargetEncoder:
        y = pd.Series(y)
        if self.task == "classification":
            self.classes = sorted_labels({json_value(v) for v in y.dropna().tolist()})
            return self
        values = _values(y)
        self.log = self.task == "regression" and self._takes_log(y, values)
        if self.log:
            logs = np.log(values[np.isfinite(values)])
            self.clip = [float(logs.min() - LOG_MARGIN), float(logs.max() + LOG_MARGIN)] if logs.size else None
            values = np.log(values)
        if self.normalize:
            self.center, self.scale = fit_scale(values, "standard")
        return self

    def _takes_log(self, y: pd.Series, values: np.ndarray) -> bool:
        if self.transform not in ("auto", "log"):
            return False
        finite = values[np.isfinite(values)]
        positive = finite > 0
        if self.transform == "log":
            bad = np.flatnonzero(np.isfinite(values) & ~(values > 0))
            if len(bad):
                name = f" '{y.name}'" if y.name is not None else ""
                raise DataError(
                    f"target{name}: data row {_row(y, bad[0])} holds {values[bad[0]]:g}, but data.target_transform "
                    f"log needs every training value > 0 ({len(bad)} value{'s are' if len(bad) > 1 else ' is'} not)",
                    hint="set data.target_transform: standard (or auto, which takes the log only where it can)",
                )
            return finite.size > 0
        if finite.size < 3 or not positive.all():
            return False
        skew = skewness(finite)
        return skew > SKEWED_TARGET and abs(skewness(np.log(finite))) < skew

    def encode(self, y) -> np.ndarray:
        """int64 class codes (classification) or float32 scaled values (regression, forecast)."""
        y = pd.Series(y).reset_index(drop=True)
        if self.task != "classification":
            values = _values(y)
            if self.log:
                low = self.clip[0] if self.clip else 0.0
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), low)
                values = np.where(np.isnan(_values(y)), np.nan, values)
            return ((values - self.center) / self.scale).astype(np.float32)
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
        values = encoded.astype(np.float64) * self.scale + self.center
        if not self.log:
            return values
        if self.clip is not None:
            values = np.clip(values, self.clip[0], self.clip[1])
        return np.exp(values)

    def to_dict(self) -> dict:
        state = {
            "task": self.task,
            "normalize": self.normalize,
            "transform": self.transform,
            "classes": self.classes,
            "center": self.center,
            "scale": self.scale,
        }
        if self.log:  # absent: no log, as in bundles written before target transforms
            state.update(log=True, clip=self.clip)
        return state

    @classmethod
    def from_dict(cls, d: dict) -> TargetEncoder:
        # bundles written before data.target_transform have "normalize" only
        transform = d.get("transform")
        if transform is not None and transform not in TRANSFORMS:
            raise BundleError(f"preprocessing.target.transform: {str(transform)[:20]!r} is not one of {TRANSFORMS}")
        self = cls(d["task"], d["normalize"], transform)
        self.classes = None if d["classes"] is None else list(d["classes"])
        self.center, self.scale = float(d["center"]), float(d["scale"])
        self.log = d.get("log") is True
        clip = d.get("clip")
        if clip is not None:
            if not (isinstance(clip, list) and len(clip) == 2 and all(np.isfinite(float(v)) for v in clip)):
                raise BundleError("preprocessing.target.clip: must be [low, high], two finite numbers")
            self.clip = [float(clip[0]), float(clip[1])]
        return self


def json_value(value):
    """A NumPy scalar as the Python value JSON stores (np.int64(3) -> 3)."""
    return value.item() if isinstance(value, np.generic) else value


def sorted_labels(labels: set) -> list:
    try:
        return sorted(labels)
    except TypeError:  # labels of mixed types (1 and "a") have no natural order
        return sorted(labels, key=lambda v: (type(v).__name__, str(v)))


def _row(y: pd.Series, position: int) -> int:
    """The data row (from 1) of a position in `y`: its index label where that is a row number."""
    label = y.index[position]
    return int(label) + 1 if isinstance(label, (int, np.integer)) else position + 1


def _values(y: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(y, errors="coerce")
    bad = np.flatnonzero((y.notna() & numbers.isna()).to_numpy())
    if len(bad):
        raise DataError(
            f"target: data row {bad[0] + 1} holds {y.iloc[bad[0]]!r}, which is not a number",
            hint="fix the value, or use task: classification if the target is a label",
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)
