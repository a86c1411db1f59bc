"""Cut a time series into (lookback inputs -> horizon targets) windows, one split part at a time.

Windows are built on each part separately, so a window never straddles a split boundary.
The model predicts, for each step k = 1..h, the target relative to the last observed value
y_t (see SeriesTransform), which `last` in each window makes invertible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError, DataError
from .series import (
    SeriesTransform as SeriesTransform,  # re-exported: the brief places it here
)


@dataclass
class Windows:
    x: np.ndarray  # (n, lookback, n_features) float32
    y: np.ndarray  # (n, horizon) float32, in the model's (transformed, scaled) target space
    last: np.ndarray  # (n,) float64: last observed raw target of each window
    end: np.ndarray  # (n,) int64: row (within the arrays given) of each window's last input row
    actual: np.ndarray  # (n, horizon) float64: the raw target values being forecast

    def __len__(self) -> int:
        return len(self.end)


def windows(
    inputs: np.ndarray,
    target_raw: np.ndarray,
    target_tf,
    lookback: int,
    horizon: int,
    stride: int = 1,
    *,
    start: int = 0,
    to_model: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    part: str = "data",
) -> Windows:
    """All windows whose inputs are rows start.. of `inputs` and whose targets follow them.

    `target_tf` is either a fitted SeriesTransform (the usual case: `y` is then its
    `target_to_model(actual, last)` and its `warmup` rows are skipped) or a (T,) array already in
    model space, whose next `horizon` values become `y`. `to_model` overrides both.
    `start` skips leading rows, e.g. the first row of a differenced part, which has no predecessor.
    """
    if hasattr(target_tf, "target_to_model"):
        to_model = to_model or target_tf.target_to_model
        start = max(start, int(getattr(target_tf, "warmup", 0)))
        target_tf = None
    _check_counts(lookback=(lookback, 1), horizon=(horizon, 1), stride=(stride, 1), start=(start, 0))
    inputs = np.asarray(inputs, dtype=np.float64)
    target_raw = np.asarray(target_raw, dtype=np.float64)
    if inputs.ndim != 2 or len(target_raw) != len(inputs):
        raise ValueError(f"inputs must be (T, F) and target_raw (T,); got {inputs.shape} and {target_raw.shape}")
    if to_model is None and target_tf is None:
        raise ValueError("give target_tf or to_model")
    rows = len(inputs)
    # t is the last input row; it needs lookback rows up to it and horizon rows after it.
    ends = np.arange(start + lookback - 1, rows - horizon, stride, dtype=np.int64)
    if ends.size == 0:
        raise DataError(
            f"{part}: {rows} rows make no window: one needs {start + lookback + horizon} rows "
            f"({start + lookback} of inputs and {horizon} to forecast)",
            hint="use a shorter lookback or horizon, a smaller data.split.gap, or a larger fraction for this part",
        )
    x = sliding_window_view(inputs, lookback, axis=0)[ends - lookback + 1]  # (n, F, lookback)
    actual = sliding_window_view(target_raw, horizon)[ends + 1]  # (n, horizon)
    last = target_raw[ends]
    if to_model is not None:
        y = to_model(actual, last)
    else:
        y = sliding_window_view(np.asarray(target_tf, dtype=np.float64), horizon)[ends + 1]
    return Windows(
        x=np.ascontiguousarray(x.transpose(0, 2, 1), dtype=np.float32),  # (n, lookback, F)
        y=np.ascontiguousarray(y, dtype=np.float32),
        last=last.copy(),
        end=ends,
        actual=actual.copy(),
    )


def _check_counts(**values: tuple[int, int]) -> None:
    for key, (value, least) in values.items():
        if not isinstance(value, (int, np.integer)) or value < least:
            raise ConfigError(f"{key}: must be a whole number of at least {least}, got {value!r}")
