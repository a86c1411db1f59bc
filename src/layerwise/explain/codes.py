"""Embedded category codes: attributed by what replacing them does, since no gradient reaches them.

A table model that embeds a categorical column (model.type tabular, Preprocessor `embed`)
reads one code per column, rounded to pick its embedding: the gradient through a code is zero,
so Integrated Gradients and saliency would give every embedded column 0 however much the
model uses it. With Integrated Gradients an explained row x is therefore split in two at x',
the row x with every embedded code set to the baseline's (the training fill category):

    f(x) - f(baseline) = [f(x') - f(baseline)]   the dense columns: Integrated Gradients
                                                   from the baseline to x' (codes fixed)
                       + [f(x) - f(x')]           the embedded columns: each one's Shapley
                                                   value of putting its own code back

The Shapley values of a set of codes add up to f(x) - f(x') exactly, so the completeness check
still measures only Integrated Gradients' integration error. With one embedded column its value
is f(x) - f(x with that code at the baseline's): the ablation of that column. With up to
EXACT_CODES columns every order is counted (exact); with more, SAMPLED_ORDERS random orders
(still complete: each order's contributions add up to f(x) - f(x')). Ablation replaces a code
by the baseline's already (Captum's FeatureAblation); saliency, a gradient, has nothing to say
about a code and is refused for such a table.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from ..errors import UsageError
from .attribute import PER_CALL, Attribution, attribute
from .output import Output

# Up to this many embedded columns every order of them is counted (6! = 720 orders, 64 coalitions).
EXACT_CODES = 6
SAMPLED_ORDERS = 64  # beyond EXACT_CODES: random orders of the embedded columns, seeded


def attribute_table(
    output: Output,
    x: np.ndarray,
    target: np.ndarray,
    *,
    method: str,
    baseline: np.ndarray,
    steps: int,
    mask: np.ndarray,
    codes: list[int],
    seed: int = 0,
) -> Attribution:
    """`attribute` for a row of dense columns and embedded codes (at positions `codes`)."""
    if not codes or method == "ablation":
        return attribute(output, x, target, method=method, baseline=baseline, steps=steps, mask=mask)
    if method == "saliency":
        raise saliency_refused()
    x = np.ascontiguousarray(x, dtype=np.float32)
    base = np.asarray(baseline, dtype=np.float32)
    held = x.copy()
    held[:, codes] = base[codes]  # x': the row's dense values, the baseline's codes
    dense = attribute(output, held, target, method="ig", baseline=base, steps=steps)
    values = dense.values.copy()  # the codes' positions hold 0 here: x' and the baseline share them
    values[:, codes] = code_shares(output, x, target, base, codes, seed=seed)
    explained = _pick(output.values(x), target)
    delta = values.reshape(len(x), -1).sum(axis=1, dtype=np.float64) - (explained - dense.baseline_output)
    return Attribution(values, explained, dense.baseline_output, delta, target)


def code_shares(
    output: Output, x: np.ndarray, target: np.ndarray, baseline: np.ndarray, codes: list[int], *, seed: int = 0
) -> np.ndarray:
    """(n, len(codes)) each code's Shapley value of f(x) - f(x with every code at the baseline's),
    the dense columns held at the row's own values."""
    k = len(codes)
    if k <= EXACT_CODES:
        orders = [list(order) for order in permutations(range(k))]
    else:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(k).tolist() for _ in range(SAMPLED_ORDERS)]
    # every coalition some order passes through, as a bit mask of the codes put back
    seen: dict[int, None] = {}
    for order in orders:
        mask = 0
        seen[mask] = None
        for j in order:
            mask |= 1 << j
            seen[mask] = None
    value = dict(zip(seen, _coalition_values(output, x, target, baseline, codes, list(seen))))
    shares = np.zeros((len(x), k), dtype=np.float64)
    for order in orders:
        mask = 0
        for j in order:
            shares[:, j] += value[mask | 1 << j] - value[mask]
            mask |= 1 << j
    return shares / len(orders)


def saliency_refused() -> UsageError:
    return UsageError(
        "--method saliency: this model embeds category codes, and a gradient through a code (rounded to "
        "pick its embedding) is always 0, so saliency cannot say how much an embedded column matters",
        hint="use --method ig (embedded columns by their Shapley value of replacing the code) or ablation",
    )


def _coalition_values(
    output: Output, x: np.ndarray, target: np.ndarray, baseline: np.ndarray, codes: list[int], masks: list[int]
) -> list[np.ndarray]:
    """The explained output of each row with only the codes in each mask its own, the others the baseline's."""
    n, m = len(x), len(masks)
    keep = np.array([[bool(mask >> j & 1) for j in range(len(codes))] for mask in masks])  # (masks, codes)
    own = x[:, codes]  # (n, codes)
    found = np.empty((m, n), dtype=np.float64)
    per = max(1, PER_CALL // max(m, 1))  # rows per call: (rows x masks) inputs
    for i in range(0, n, per):
        rows = x[i : i + per]
        batch = np.repeat(rows[None], m, axis=0)  # (masks, rows, width)
        batch[:, :, codes] = np.where(keep[:, None, :], own[None, i : i + per], baseline[codes])
        flat = output.values(batch.reshape(-1, x.shape[1])).reshape(m, len(rows), -1)
        found[:, i : i + per] = flat[:, np.arange(len(rows)), target[i : i + per]]
    return list(found)


def _pick(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    return values[np.arange(len(values)), target].astype(np.float64)
