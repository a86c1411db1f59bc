"""Make a time series stationary and scaled for a forecaster, and map forecasts back to units.

transform "none" | "diff" | "log_return" applies along time to every input column, and to the
target relative to the last observed value: for step k the model learns
    none:        scale(y[t+k])
    diff:        scale(y[t+k] - y[t])
    log_return:  scale(log(y[t+k] / y[t]))
Statistics come from the training part only. A differenced part's first row has no
predecessor inside the part (looking into the previous part would leak across the split), so
it is set to "no change" and `warmup` = 1 tells windows() to start after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, did_you_mean
from .scaling import check_normalize, fit_scale

TRANSFORMS = ("none", "diff", "log_return")


class SeriesTransform:
    """Input and target transforms for forecasting, fitted on the training part."""

    def __init__(self, columns: list[str], target: str, transform: str = "none", normalize: str = "standard"):
        if transform not in TRANSFORMS:
            raise ConfigError(
                f"data.transform: unknown transform '{transform}'"
                f"{did_you_mean(transform, TRANSFORMS)}; choose one of {TRANSFORMS}"
            )
        self.columns = list(columns)
        self.target = target
        self.transform_name = transform
        self.normalize = check_normalize(normalize)
        self.inputs: list[list[float]] | None = None  # [center, scale] per input column
        self.target_scale: list[float] | None = None  # [center, scale] of the one-step target change
        self.last_filled: dict[str, int] = {}

    @property
    def warmup(self) -> int:
        """Leading rows of each part that windows must not use as inputs."""
        return 0 if self.transform_name == "none" else 1

    def rows_needed(self, lookback: int, horizon: int) -> int:
        """The fewest rows a split part needs for one window: pass it to split(min_rows=...)."""
        return self.warmup + lookback + horizon

    def fit(self, df_train: pd.DataFrame) -> SeriesTransform:
        steps = self._steps(self._raw_inputs(df_train, "training part"), df_train, "training part")
        self.inputs = [list(fit_scale(steps[self.warmup :, j], self.normalize)) for j in range(steps.shape[1])]
        y = self._raw_target(df_train, "training part")
        one_step = self._target_steps(y, df_train, "training part")
        self.target_scale = list(fit_scale(one_step, self.normalize))
        return self

    def transform(self, df: pd.DataFrame, *, source: str = "data") -> tuple[np.ndarray, np.ndarray]:
        """(inputs (T, F) float64 scaled, target (T,) float64 raw) for one split part.

        Missing inputs are forward-filled then back-filled within `df`; counts in `last_filled`.
        """
        if self.inputs is None:
            raise RuntimeError("SeriesTransform.transform called before fit")
        steps = self._steps(self._raw_inputs(df, source), df, source)
        center = np.array([c for c, _ in self.inputs])
        scale = np.array([s for _, s in self.inputs])
        return (steps - center) / scale, self._raw_target(df, source)

    def target_to_model(self, window_target_raw: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(n, h) raw future values -> (n, h) model targets, relative to `last` (n,)."""
        actual = np.asarray(window_target_raw, dtype=np.float64)
        last = np.asarray(last, dtype=np.float64)[:, None]
        if self.transform_name == "diff":
            change = actual - last
        elif self.transform_name == "log_return":
            change = np.log(actual / last)
        else:
            change = actual
        center, scale = self._target_scale("target_to_model")
        return (change - center) / scale

    def target_from_model(self, pred: np.ndarray, last: np.ndarray) -> np.ndarray:
        """(n, h) model outputs -> (n, h) forecasts in the target's original units."""
        center, scale = self._target_scale("target_from_model")
        change = np.asarray(pred, dtype=np.float64) * scale + center
        last = np.asarray(last, dtype=np.float64)[:, None]
        if self.transform_name == "diff":
            return last + change
        if self.transform_name == "log_return":
            return last * np.exp(change)
        return change

    def windows(self, df: pd.DataFrame, lookback: int, horizon: int, stride: int = 1, *, part: str = "data"):
        """Transform one split part and cut it into windows (the usual way to call windows())."""
        from .windows import windows

        inputs, target = self.transform(df, source=part)
        return windows(inputs, target, self, lookback, horizon, stride, part=part)

    def to_dict(self) -> dict:
        return {
            "columns": list(self.columns),
            "target": self.target,
            "transform": self.transform_name,
            "normalize": self.normalize,
            "inputs": self.inputs,
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SeriesTransform:
        self = cls(d["columns"], d["target"], d["transform"], d["normalize"])
        self.inputs = None if d["inputs"] is None else [list(pair) for pair in d["inputs"]]
        self.target_scale = None if d["target_scale"] is None else list(d["target_scale"])
        return self

    def _target_scale(self, method: str) -> list[float]:
        if self.target_scale is None:
            raise RuntimeError(f"SeriesTransform.{method} called before fit")
        return self.target_scale

    def _raw_inputs(self, df: pd.DataFrame, part: str) -> np.ndarray:
        missing = [c for c in self.columns + [self.target] if c not in df.columns]
        if missing:
            raise DataError(
                f"{part}: missing column '{missing[0]}'{did_you_mean(missing[0], [str(c) for c in df.columns])}",
                hint=f"the forecaster expects the columns: {', '.join(self.columns)} and target {self.target}",
            )
        frame = df[self.columns].apply(_numbers_or_nan)
        bad = df[self.columns].notna() & frame.isna()
        if bad.to_numpy().any():
            name = bad.any().idxmax()
            row = int(np.flatnonzero(bad[name].to_numpy())[0])
            raise DataError(
                f"{part}: forecasting input '{name}' must hold numbers, but {_row(df, row)} holds "
                f"{df[name].iloc[row]!r}",
                hint="forecasting uses numeric inputs only: fix the value or drop the column from data.features",
            )
        frame = frame.mask(np.isinf(frame.to_numpy(dtype=np.float64)))
        # Forward-fill, then back-fill the part's leading gap; never across parts.
        self.last_filled = {str(c): int(n) for c, n in frame.isna().sum().items() if n}
        return frame.ffill().bfill().fillna(0.0).to_numpy(dtype=np.float64)

    def _raw_target(self, df: pd.DataFrame, part: str) -> np.ndarray:
        y = pd.to_numeric(df[self.target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(y).all():
            row = int(np.flatnonzero(~np.isfinite(y))[0])
            raise DataError(
                f"{part}: target '{self.target}' is missing or not a number at {_row(df, row)}",
                hint="clean the data first (data.clean.drop_missing_target), or fix the value",
            )
        return y

    def _steps(self, raw: np.ndarray, df: pd.DataFrame, part: str) -> np.ndarray:
        """Each column along time: value, x_t - x_{t-1} or log(x_t / x_{t-1}); row 0 = no change."""
        if self.transform_name == "none":
            return raw
        if self.transform_name == "log_return":
            for j, name in enumerate(self.columns):
                _check_positive(raw[:, j], name, df, part)
            raw = np.log(raw)
        steps = np.diff(raw, axis=0, prepend=raw[:1])
        return steps

    def _target_steps(self, y: np.ndarray, df: pd.DataFrame, part: str) -> np.ndarray:
        if self.transform_name == "none":
            return y
        if self.transform_name == "log_return":
            _check_positive(y, self.target, df, part)
            return np.diff(np.log(y))
        return np.diff(y)


def _check_positive(values: np.ndarray, name: str, df: pd.DataFrame, part: str) -> None:
    bad = np.flatnonzero(values <= 0)
    if len(bad):
        raise DataError(
            f"{part}: column '{name}' holds {values[bad[0]]:g} at {_row(df, int(bad[0]))} "
            f"({len(bad)} value{'s' if len(bad) > 1 else ''} <= 0): a log return needs positive values",
            hint="use data.transform: diff, or drop that column from data.features",
        )


def _row(df: pd.DataFrame, position: int) -> str:
    """'row 5 of this part (Date 2020-01-05)': the time stamp finds the row in the user's file."""
    stamps = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    when = f" ({stamps[0]} {df[stamps[0]].iloc[position]})" if stamps else ""
    return f"row {position + 1} of this part{when}"


def _numbers_or_nan(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce")
