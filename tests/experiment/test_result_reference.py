"""The summary (experiment/result.py) beside the classical reference: network, naive baseline and
gradient-boosted trees in one table, and the plain words for both outcomes, from judge() on arrays."""

from __future__ import annotations

import numpy as np

from layerwise.evaluation import judge
from layerwise.evaluation.classical import TABLE_REFERENCE
from layerwise.experiment.result import summary

N = 300


def values(y: np.ndarray, noise: float, seed: int) -> np.ndarray:
    return y + np.random.default_rng(seed).normal(0, noise, len(y))


def judged(network: float, trees: float, tree_seed: int = 2) -> dict:
    """Regression metrics of a network and trees with errors of these sizes, beside the training median."""
    y = np.random.default_rng(0).normal(10, 3, N)
    m = judge(
        "regression",
        y,
        values(y, network, 1),
        np.full(N, np.median(y)),
        samples=200,
        reference={"name": TABLE_REFERENCE, "out": values(y, trees, tree_seed).reshape(-1, 1)},
    )
    m["rows"] = {"train": 700, "val": 150, "test": N}
    return m


def test_the_summary_puts_the_trees_beside_the_network_and_the_baseline():
    m = judged(network=0.5, trees=2.0)
    text = summary(m)
    header, *rows = text.splitlines()[: 1 + len(m["test"])]
    assert header.split() == ["metric", "network", "95%", "interval", "baseline", "difference", "interval", "reference"]
    mae = next(r for r in rows if r.startswith("mae *"))
    assert mae.split()[-1] == f"{m['reference']['test']['mae']:,.4g}"
    lo, hi = m["reference"]["difference"]
    trees = m["reference"]["test"]["mae"]
    assert (
        f"classical reference: {TABLE_REFERENCE}, fitted on the same training rows: mae {trees:,.4g}; "
        f"network - reference {m['test']['mae'] - trees:+,.4g}, 95% interval [{lo:,.4g}, {hi:,.4g}]: "
        "the network beats it"
    ) in text
    assert text.endswith(m["reference"]["finding"])
    assert "consider the simpler model" not in text.lower()


def test_the_summary_says_plainly_when_the_trees_do_better():
    m = judged(network=2.0, trees=0.5)
    text = summary(m)
    assert m["reference"]["beats_reference"] is False
    assert ": it beats the network: consider the simpler model" in text
    assert text.endswith(
        f"Consider the simpler model instead: {TABLE_REFERENCE}, faster to fit and at least as good here."
    )
    assert summary(m, table=False) == m["headline"]


def test_a_tie_is_said_as_one():
    m = judged(1.0, 1.0, tree_seed=1)  # the network's very outputs
    assert m["reference"]["difference"] == [0.0, 0.0]
    assert ": the network is not shown to beat it" in summary(m)


def test_without_a_reference_the_summary_has_no_reference_column():
    m = judged(network=0.5, trees=2.0)
    del m["reference"]
    assert "reference" not in summary(m)
