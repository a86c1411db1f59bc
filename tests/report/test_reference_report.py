"""The report's "Classical reference" section (report/sections.py): the network, the naive baseline and
the gradient-boosted trees in one table, and the plain words for both outcomes, from judge() on arrays."""

from __future__ import annotations

import re
from html import unescape

import numpy as np

from layerwise.evaluation import judge
from layerwise.evaluation.classical import TABLE_REFERENCE
from layerwise.report import sections
from layerwise.report.run import RunRecord

N = 300


def metrics(network: float, trees: float) -> dict:
    """Two-class probabilities right for a share `network` (`trees`) of the rows, beside the majority class."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N)

    def proba(right: float, seed: int) -> np.ndarray:
        guess = np.where(np.random.default_rng(seed).random(N) < right, y, 1 - y)
        out = np.full((N, 2), 0.2)
        out[np.arange(N), guess] = 0.8
        return out

    return judge(
        "classification",
        y,
        proba(network, 1),
        np.tile(np.bincount(y, minlength=2) / N, (N, 1)),
        samples=200,
        reference={"name": TABLE_REFERENCE, "out": proba(trees, 2)},
    )


def section(m: dict, tmp_path) -> str:
    """The results section's classical reference, as text (tags dropped, entities read)."""
    html = sections.results(RunRecord(tmp_path, m))
    part = html[html.index("<h3>Classical reference</h3>") :]
    part = part[: part.index("<h3>", 4)] if "<h3>" in part[4:] else part
    return unescape(re.sub(r"<[^>]+>", " ", part))


def test_the_report_shows_network_baseline_and_trees_and_that_the_network_wins(tmp_path):
    m = metrics(network=0.95, trees=0.7)
    text = " ".join(section(m, tmp_path).split())
    assert text.startswith(f"Classical reference {TABLE_REFERENCE}, fitted on the same training rows")
    assert "The network beats it." in text and "consider the simpler model" not in text.lower()
    # one row per metric: network, the majority class, the trees
    accuracy = f"accuracy (decides) {m['test']['accuracy']:.4g} {m['baseline']['accuracy']:.4g} "
    assert accuracy + f"{m['reference']['test']['accuracy']:.4g}" in text
    assert f"metric network {m['baseline_name']} {TABLE_REFERENCE}" in text
    assert text.endswith(m["reference"]["finding"])


def test_the_report_says_plainly_when_the_trees_do_better(tmp_path):
    m = metrics(network=0.7, trees=0.95)
    text = " ".join(section(m, tmp_path).split())
    assert "It beats the network: consider the simpler model." in text
    assert text.endswith(
        f"Consider the simpler model instead: {TABLE_REFERENCE}, faster to fit and at least as good here."
    )


def test_no_reference_no_section(tmp_path):
    m = metrics(network=0.95, trees=0.7)
    del m["reference"]
    assert "Classical reference" not in sections.results(RunRecord(tmp_path, m))
