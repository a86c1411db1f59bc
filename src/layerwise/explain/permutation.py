"""Permutation importance: how much worse the model scores when one feature's values are shuffled.

Shuffled across rows in the model's input space, all of a feature's columns with the same
permutation: since preprocessing works row by row this equals shuffling the user's original
column (a one-hot group moves as one category, a series input moves as whole windows).
Repeated with fresh permutations; the interval is a t-interval over the repeats.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats


def permutation_importance(
    score: Callable[[np.ndarray], float],
    x: np.ndarray,
    groups: list[list[int]],
    names: list[str],
    *,
    higher_is_better: bool,
    repeats: int = 10,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """`feature, importance, ci_low, ci_high, method`, most important first.

    Args:
        score: the metric of the model on model-space inputs (n, ...), e.g. test MAE.
        groups: per feature, its indices along the last axis of `x`.
        higher_is_better: the metric's direction; importance is always "worse by", so positive
            means the model relies on the feature.
    """
    if repeats < 2:
        raise ValueError("repeats: at least 2, for an interval")
    rng = np.random.default_rng(seed)
    base = score(x)
    rows = []
    for name, group in zip(names, groups):
        worsened = []
        for _ in range(repeats):
            shuffled = x.copy()
            order = rng.permutation(len(x))
            shuffled[..., group] = x[order][..., group]
            change = score(shuffled) - base
            worsened.append(-change if higher_is_better else change)
        drops = np.asarray(worsened)
        mean, half = drops.mean(), stats.t.ppf((1 + level) / 2, repeats - 1) * drops.std(ddof=1) / np.sqrt(repeats)
        rows.append((name, mean, mean - half, mean + half))
    frame = pd.DataFrame(rows, columns=["feature", "importance", "ci_low", "ci_high"])
    frame["method"] = "permutation"
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def mean_abs_importance(
    values: np.ndarray, names: list[str], method: str, *, samples: int = 1000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Mean absolute attribution per feature over the explained rows, with a bootstrap interval.

    `values` is (n, features) or (n, steps, features); a series feature sums its steps.
    """
    per_row = np.abs(values) if values.ndim == 2 else np.abs(values).sum(axis=1)  # (n, features)
    rng = np.random.default_rng(seed)
    n = len(per_row)
    # how often each row is drawn in each resample, (samples, n): the means without copying rows
    counts = rng.multinomial(n, np.full(n, 1 / n), size=samples)
    draws = counts @ per_row / n  # (samples, features)
    tail = (1 - level) / 2 * 100
    frame = pd.DataFrame(
        {
            "feature": names,
            "importance": per_row.mean(axis=0),
            "ci_low": np.percentile(draws, tail, axis=0),
            "ci_high": np.percentile(draws, 100 - tail, axis=0),
            "method": method,
        }
    )
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
