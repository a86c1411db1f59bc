"""Center-and-scale statistics shared by the feature, target and series transforms.

Each is a pair (center, scale) of plain floats, so it is stored in JSON as it is and applied
the same way everywhere: (x - center) / scale.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, did_you_mean

NORMALIZE = ("standard", "minmax", "robust", "none")
# The largest magnitude a value may have, raw in training and once scaled at prediction: below
# float32's largest (3.4e38) with room for rounding, since the network computes in float32.
FLOAT32_SAFE = 1e38


def check_normalize(normalize: str, key: str = "data.normalize") -> str:
    if normalize not in NORMALIZE:
        raise ConfigError(
            f"{key}: unknown normalization '{normalize}'{did_you_mean(normalize, NORMALIZE)}; choose one of {NORMALIZE}"
        )
    return normalize


def fit_scale(values: np.ndarray, normalize: str) -> tuple[float, float]:
    """(center, scale) of the finite `values`; a zero or undefined scale becomes 1."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if normalize == "none" or finite.size == 0:
        return 0.0, 1.0
    if normalize == "standard":
        center, scale = finite.mean(), finite.std()
    elif normalize == "minmax":
        center, scale = finite.min(), finite.max() - finite.min()
    else:  # robust: the median and interquartile range ignore outliers
        q1, center, q3 = np.percentile(finite, [25, 50, 75])
        scale = q3 - q1
    # A constant column would divide by zero; scale 1 leaves it centred at 0 instead.
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    return float(center), float(scale)
