"""Data requirements: the validation score against the size of the training split.

The model is retrained on growing nested parts of the training split (same config, same seed)
and scored on the same validation split. A trend `score = a + b * log2(rows)` is fitted: `b` is
the change per doubling of the data, the figure that answers "would more data help?".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .metrics import HIGHER_IS_BETTER

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
# A doubling that improves the score by less than this share of it counts as levelled off.
FLAT = 0.01


@dataclass
class DataCurve:
    metric: str
    sizes: list[int]
    scores: list[float]
    slope: float  # change of the score per doubling of the training rows
    intercept: float  # score at log2(rows) = 0, of the fitted trend
    still_rising: bool
    finding: str
    fractions: list[float] = field(default_factory=list)

    def trend(self, sizes: Sequence[float] | np.ndarray) -> np.ndarray:
        """The fitted score at each of `sizes` rows."""
        return self.intercept + self.slope * np.log2(np.asarray(sizes, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def nested_subsets(
    n: int, fractions: Sequence[float] = FRACTIONS, *, order: str = "random", seed: int = 0
) -> list[np.ndarray]:
    """Row positions 0..n-1 of each fraction, each part containing the smaller ones.

    `order="recent"` takes the last rows (a series: the history nearest the validation period,
    whose behaviour is closest to it); `"random"` a seeded random part.
    """
    ranking = np.arange(n)[::-1] if order == "recent" else np.random.default_rng(seed).permutation(n)
    return [np.sort(ranking[: max(1, round(f * n))]) for f in fractions]


def data_curve(
    n_train: int,
    fit_and_score: Callable[[np.ndarray], float],
    *,
    metric: str,
    fractions: Sequence[float] = FRACTIONS,
    order: str = "random",
    seed: int = 0,
    known: dict[float, float] | None = None,
) -> DataCurve:
    """Validation scores when training on each fraction of the `n_train` training rows.

    Args:
        fit_and_score: trains on the given training-row positions and returns the validation
            score on `metric`.
        known: scores already measured for some fractions (the full run's, for 1.0).
    """
    known = known or {}
    subsets = nested_subsets(n_train, fractions, order=order, seed=seed)
    sizes, scores = [], []
    for fraction, rows in zip(fractions, subsets):
        sizes.append(len(rows))
        scores.append(float(known[fraction]) if fraction in known else float(fit_and_score(rows)))
    return fit_trend(sizes, scores, metric=metric, fractions=list(fractions))


def fit_trend(
    sizes: Sequence[int], scores: Sequence[float], *, metric: str, fractions: list[float] | None = None
) -> DataCurve:
    """Fit the log-linear trend and say whether the score is still improving with more rows."""
    x = np.log2(np.asarray(sizes, dtype=np.float64))
    y = np.asarray(scores, dtype=np.float64)
    ok = np.isfinite(y)
    if ok.sum() >= 2 and np.ptp(x[ok]) > 0:
        slope, intercept = (float(v) for v in np.polyfit(x[ok], y[ok], 1))
    else:
        slope, intercept = float("nan"), float("nan")
    higher = HIGHER_IS_BETTER[metric]
    gain = slope if higher else -slope  # improvement per doubling, > 0 is better
    level = abs(y[ok][-1]) if ok.any() else float("nan")
    rising = bool(np.isfinite(gain) and gain > FLAT * level)
    return DataCurve(
        metric=metric,
        sizes=[int(s) for s in sizes],
        scores=[float(s) for s in y],
        slope=slope,
        intercept=intercept,
        still_rising=rising,
        finding=_finding(metric, sizes, y, gain, level, rising),
        fractions=fractions or [],
    )


def _finding(metric: str, sizes, scores, gain: float, level: float, rising: bool) -> str:
    if not np.isfinite(gain):
        return f"not enough scored sizes to fit a trend of validation {metric}"
    span = f"validation {metric} went from {scores[0]:.4g} at {sizes[0]} rows to {scores[-1]:.4g} at {sizes[-1]}"
    share = gain / level * 100 if level else float("nan")
    if rising:
        return (
            f"still improving with more data: {span}; each doubling of the rows improves it by about "
            f"{gain:.3g} ({share:.1f}%) on the fitted trend, so more data would likely help"
        )
    return (
        f"levelled off: {span}; the fitted trend improves by {gain:+.3g} ({share:+.1f}%) per doubling of "
        f"the rows, under {FLAT:.0%}: more of the same data is unlikely to help much; a better model or "
        "features may"
    )
