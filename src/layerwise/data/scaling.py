"""Center-and-scale statistics shared by the feature, target and series transforms.

Each is a pair (center, scale) of plain floats, so it is stored in JSON as it is and applied
the same way everywhere: (x - center) / scale. `normalize: auto` chooses per table column
(data/transforms.py); for a series, images and the target it means standard.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, did_you_mean

NORMALIZE = ("auto", "standard", "minmax", "robust", "none")
# The largest magnitude a value may have, raw in training and once scaled at prediction: below
# float32's largest (3.4e38) with room for rounding, since the network computes in float32.
FLOAT32_SAFE = 1e38
# The interquartile range of a standard normal: IQR / 1.349 estimates its standard deviation.
NORMAL_IQR = 1.349


def check_normalize(normalize: str, key: str = "data.normalize") -> str:
    if normalize not in NORMALIZE:
        raise ConfigError(
            f"{key}: unknown normalization '{normalize}'{did_you_mean(normalize, NORMALIZE)}; choose one of {NORMALIZE}"
        )
    return normalize


def fit_scale(values: np.ndarray, normalize: str) -> tuple[float, float]:
    """(center, scale) of the finite `values`; a zero or undefined scale becomes 1.

    "auto" is "standard" here: the per-column choice of a table is the Preprocessor's.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if normalize == "none" or finite.size == 0:
        return 0.0, 1.0
    if normalize in ("standard", "auto"):
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


def robust_normal_scale(finite: np.ndarray) -> tuple[float, float]:
    """(median, IQR / 1.349) of finite values, the scale falling back to the standard
    deviation, then 1, where it is 0 (a column mostly one value)."""
    if finite.size == 0:
        return 0.0, 1.0
    q1, center, q3 = np.percentile(finite, [25, 50, 75])
    scale = (q3 - q1) / NORMAL_IQR
    if not np.isfinite(scale) or scale <= 0:
        scale = finite.std()
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    return float(center), float(scale)


# ---------------------------------------------------------------- normalize: auto (tables)
# A column whose training values are this skewed is quantile-transformed; below, robust scaling
# with smooth clipping (the rule and its measurements: data/transforms.py's docstring).
SKEWED = 2.0
# A column with at most this many distinct training values is never quantile-transformed: a few
# values (counts, ratings, flags) keep their spacing rather than jump between normal scores.
FEW_VALUES = 20
QUANTILES = 256  # quantile points stored per column (fewer when fewer values were seen)
NORMAL_LIMIT = 5.0  # quantile outputs lie in [-5, 5]
CLIP = 3.0  # smooth clipping: x / sqrt(1 + (x / 3)^2) tends to +-3


def fit_auto(finite: np.ndarray) -> dict:
    """The `normalize: auto` state of one table column from its finite training values:
    {"method": "quantile", center, scale, quantiles, normals} or {"method": "robust_clip", center, scale}.

    center and scale (median, IQR / 1.349) are kept for both: messages and bounds read them.
    """
    center, scale = robust_normal_scale(finite)
    if np.unique(finite).size <= FEW_VALUES or abs(skewness(finite)) <= SKEWED:
        return {"method": "robust_clip", "center": center, "scale": scale}
    quantiles, normals = _quantile_points(finite)
    return {"method": "quantile", "center": center, "scale": scale, "quantiles": quantiles, "normals": normals}


def apply_auto(filled: np.ndarray, state: dict) -> np.ndarray:
    """A fitted `fit_auto` state applied to finite values (missing ones filled already)."""
    if state["method"] == "quantile":
        # beyond the training extremes: the extreme normal scores (np.interp holds the ends)
        return np.interp(filled, state["quantiles"], state["normals"])
    return smooth_clip((filled - state["center"]) / state["scale"])


def smooth_clip(z: np.ndarray) -> np.ndarray:
    """z / sqrt(1 + (z / 3)^2) (RealMLP's): about z near 0, tending to +-3, order kept."""
    # Past 1e6 every value is +-3 in float64 already; the cap keeps (z / 3)^2 finite (inf -> 3).
    z = np.clip(z, -1e6, 1e6)
    return z / np.sqrt(1.0 + (z / CLIP) ** 2)


def skewness(finite: np.ndarray) -> float:
    """The sample skewness (biased, as scipy.stats.skew); 0 for a constant or empty column."""
    if finite.size < 3:
        return 0.0
    deviations = finite - finite.mean()
    spread = np.mean(deviations**2)
    if not spread > 0:
        return 0.0
    return float(np.mean(deviations**3) / spread**1.5)


def _quantile_points(finite: np.ndarray) -> tuple[list[float], list[float]]:
    """Strictly increasing training quantiles and the normal scores they map to.

    The normal score of probability p is clipped to the plotting positions of the extremes
    (0.5 / n, 1 - 0.5 / n) and to +-NORMAL_LIMIT. Tied quantiles (a value repeated across many
    probabilities) become one point at the mean of their normal scores, so np.interp sees
    increasing abscissae and every copy of the value gets the same output.
    """
    from scipy.special import ndtri

    n = finite.size
    points = min(QUANTILES, n)
    probabilities = np.linspace(0.0, 1.0, points)
    values = np.quantile(finite, probabilities)
    edge = 0.5 / n
    normals = np.clip(ndtri(np.clip(probabilities, edge, 1.0 - edge)), -NORMAL_LIMIT, NORMAL_LIMIT)
    unique, inverse = np.unique(values, return_inverse=True)
    merged = np.bincount(inverse, weights=normals) / np.bincount(inverse)
    return [float(v) for v in unique], [float(v) for v in merged]
