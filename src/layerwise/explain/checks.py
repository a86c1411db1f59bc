"""Checks that keep explanations honest.

Completeness: Integrated Gradients' attributions of a row must add up to f(x) - f(baseline);
what is left over (Captum's convergence delta) says whether the integral was approximated
well enough to trust.

Model randomization (Adebayo et al., "Sanity checks for saliency maps", 2018): attributions
of the same rows from a model with re-initialized weights must differ clearly from the
trained model's; if they do not, the method shows the input, not what the model learned.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

# Completeness passes when the leftover is under 1% of |f(x) - f(baseline)| over the rows.
COMPLETENESS_LIMIT = 0.01
# Randomization passes when the trained and random models' rankings agree less than this.
RANK_LIMIT = 0.5


def completeness(delta: np.ndarray, output: np.ndarray, baseline_output: np.ndarray) -> dict[str, Any]:
    """The convergence delta beside f(x) - f(baseline), summed over rows so that rows whose output
    barely differs from the baseline's do not dominate; and the share of rows under the limit."""
    gap = np.abs(output - baseline_output)
    leftover = np.abs(delta)
    relative = float(leftover.sum() / max(gap.sum(), 1e-12))
    per_row = leftover / np.maximum(gap, 1e-12)
    return {
        "check": "completeness",
        "relative_delta": relative,
        "max_abs_delta": float(leftover.max(initial=0.0)),
        "rows_under_limit": float((per_row < COMPLETENESS_LIMIT).mean()) if len(gap) else 1.0,
        "limit": COMPLETENESS_LIMIT,
        "passed": bool(relative < COMPLETENESS_LIMIT),
        "detail": f"sum |delta| is {relative:.3%} of sum |f(x) - f(baseline)| (limit {COMPLETENESS_LIMIT:.0%})",
    }


def randomization(
    trained: np.ndarray | Sequence[np.ndarray], random: np.ndarray | Sequence[np.ndarray]
) -> dict[str, Any]:
    """Spearman rank correlation of |attribution| between the trained and a re-initialized model:
    per row over its features (median reported), and of the mean |attribution| per feature.

    Rows of different lengths (prompts) come as sequences of 1-d arrays; their global
    correlation is over every (row, position) at once, as positions differ between rows.
    """
    if isinstance(trained, np.ndarray):
        a = np.abs(trained.reshape(len(trained), -1))
        b = np.abs(np.asarray(random).reshape(len(random), -1))
        overall = _spearman(a.mean(axis=0), b.mean(axis=0))
    else:
        a, b = [np.abs(np.ravel(u)) for u in trained], [np.abs(np.ravel(v)) for v in random]
        overall = _spearman(np.concatenate(a), np.concatenate(b)) if a else float("nan")
    per_row = [_spearman(u, v) for u, v in zip(a, b) if len(u) > 1]
    per_row = [r for r in per_row if np.isfinite(r)]
    median = float(np.median(per_row)) if per_row else float("nan")
    passed = bool(np.isfinite(median) and median < RANK_LIMIT)
    return {
        "check": "randomization",
        "rank_correlation": median,
        "global_rank_correlation": overall,
        "limit": RANK_LIMIT,
        "passed": passed,
        "detail": f"median per-row Spearman correlation with a re-initialized model {median:.2f} "
        f"(global {overall:.2f}); must be under {RANK_LIMIT}",
    }


def reinitialized(module: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of `module` with every layer's parameters drawn afresh (torch's reset_parameters),
    leaving torch's global random state as it was."""
    clone = copy.deepcopy(module)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for sub in clone.modules():
            reset = getattr(sub, "reset_parameters", None)  # a layer's own initialization, not on nn.Module
            if callable(reset) and sub is not clone:
                reset()
    return clone.eval()


def _spearman(u: np.ndarray, v: np.ndarray) -> float:
    if np.ptp(u) == 0 or np.ptp(v) == 0:
        return float("nan")  # a constant ranking correlates with nothing
    return float(stats.spearmanr(u, v).statistic)
