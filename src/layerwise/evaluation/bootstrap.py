"""95% bootstrap intervals of the test metrics, and the paired interval of model minus baseline.

A test score is one draw: a different test set of the same size would give another. Resampling
the test rows with replacement shows how much. The model and the baseline are resampled with
the same rows (paired), so the interval of their difference leaves out the rows' shared
difficulty and is much narrower than the two intervals side by side suggest.

Forecast windows of neighbouring days are correlated; resampling them one by one would
understate the spread, so series are resampled in moving blocks of consecutive windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .batched import BATCHED

# Keep one chunk of resampled predictions near 32 MB of float64.
_CHUNK_VALUES = 4_000_000


@dataclass
class Intervals:
    """Percentile intervals per metric: of the model, the baseline, and model minus baseline."""

    level: float
    samples: int
    block: int
    unit: str = "rows"  # what is resampled: rows (windows of a series), or a text's examples
    model: dict[str, list[float]] = field(default_factory=dict)
    baseline: dict[str, list[float]] = field(default_factory=dict)
    difference: dict[str, list[float]] = field(default_factory=dict)

    @property
    def method(self) -> str:
        if self.block > 1:
            return f"paired moving-block bootstrap, blocks of {self.block} consecutive test windows"
        return f"paired bootstrap of the test {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "samples": self.samples,
            "block": self.block,
            "method": self.method,
            "model": self.model,
            "baseline": self.baseline,
            "difference": self.difference,
        }


def block_length(n: int, horizon: int = 1) -> int:
    """Blocks for a series: n^(1/3) windows (the usual rate), and never shorter than the horizon,
    since windows `horizon` apart share forecast targets."""
    return max(int(horizon), math.ceil(n ** (1 / 3))) if n > 0 else 1


def resample_indices(n: int, samples: int, rng: np.random.Generator, block: int = 1) -> np.ndarray:
    """(samples, n) row indices drawn with replacement, in moving blocks of `block` rows."""
    if block <= 1 or n <= block:
        return rng.integers(0, n, size=(samples, n))
    starts = rng.integers(0, n - block + 1, size=(samples, math.ceil(n / block)))
    return (starts[..., None] + np.arange(block)).reshape(samples, -1)[:, :n]


def paired_bootstrap(
    task: str,
    y_true: np.ndarray,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
    metrics: list[str],
    *,
    samples: int = 1000,
    level: float = 0.95,
    block: int = 1,
    seed: int = 0,
) -> Intervals:
    """Intervals for `metrics` of both predictions, resampling the same rows for each.

    For classification `y_true` holds class codes and the outputs are (n, k) probabilities;
    for generation `y_true` holds the (n, steps) next-token ids (0 = padding) and the outputs
    each token's negative log-likelihood, (n, steps), and whole examples are resampled;
    otherwise all three hold values in the target's units, (n,) or (n, outputs).
    """
    y, model, base = _shaped(task, y_true, model_out, baseline_out)
    n = len(y)
    out = Intervals(level=level, samples=samples, block=block, unit="examples" if task == "generation" else "rows")
    if n == 0 or samples < 1:
        return out
    rng = np.random.default_rng(seed)
    idx = resample_indices(n, samples, rng, block)
    width = int(np.prod(model.shape[1:])) if model.ndim > 1 else 1
    step = max(1, _CHUNK_VALUES // max(1, n * width))
    # per metric: the model's and the baseline's score chunks, each (chunk,)
    scores: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in metrics}
    for start in range(0, samples, step):
        rows = idx[start : start + step]  # (chunk, n)
        y_b, m_b, b_b = y[rows], model[rows], base[rows]
        for name in metrics:
            scores[name][0].append(BATCHED[name](y_b, m_b))
            scores[name][1].append(BATCHED[name](y_b, b_b))
    tail = (1 - level) / 2 * 100
    for name, (m_parts, b_parts) in scores.items():
        m, b = np.concatenate(m_parts), np.concatenate(b_parts)
        out.model[name] = _percentiles(m, tail)
        out.baseline[name] = _percentiles(b, tail)
        out.difference[name] = _percentiles(m - b, tail)
    return out


def _percentiles(values: np.ndarray, tail: float) -> list[float]:
    finite = values[np.isfinite(values)]
    if len(finite) < 0.5 * len(values):  # undefined on most resamples: no honest interval
        return [float("nan"), float("nan")]
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return [float(lo), float(hi)]


def _shaped(task: str, y_true, model_out, baseline_out) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if task == "classification":
        return (
            np.asarray(y_true, dtype=np.int64),
            np.asarray(model_out, dtype=np.float64),
            np.asarray(baseline_out, dtype=np.float64),
        )
    if task == "generation":
        # (n,) per example: targets scored and summed losses; a resample's score is the ratio of their sums
        counts = (np.asarray(y_true) != 0).sum(axis=1).astype(np.float64)
        return (
            counts,
            np.asarray(model_out, dtype=np.float64).sum(axis=1),
            np.asarray(baseline_out, dtype=np.float64).sum(axis=1),
        )
    n = len(y_true)
    # (n, outputs): the batched regression metrics average over rows and outputs
    y, model, base = (np.asarray(a, dtype=np.float64).reshape(n, -1) for a in (y_true, model_out, baseline_out))
    return y, model, base
