"""Paired bootstrap intervals: against scipy's bootstrap, pairing, and blocks for series."""

import numpy as np
import pytest
from scipy import stats

from layerwise.evaluation import block_length, paired_bootstrap
from layerwise.evaluation.bootstrap import resample_indices


def test_mae_interval_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    p = y + rng.normal(scale=0.5, size=300)
    ours = paired_bootstrap("regression", y, p, np.zeros(300), ["mae"], samples=4000, seed=1).model["mae"]
    ref = stats.bootstrap(
        (np.abs(y - p),), np.mean, n_resamples=4000, method="percentile", random_state=2
    ).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.01)
    assert ours[1] == pytest.approx(ref.high, abs=0.01)


def test_paired_difference_is_narrower_than_the_two_intervals_suggest():
    # Rows differ a lot in difficulty; the model is a little better on every row.
    rng = np.random.default_rng(3)
    y = np.zeros(200)
    hard = rng.exponential(5.0, 200)
    model, base = hard * 0.95, hard
    ci = paired_bootstrap("regression", y, model, base, ["mae"], samples=500)
    lo, hi = ci.difference["mae"]
    assert hi < 0  # the model is better on the same rows, every resample
    assert ci.model["mae"][1] > ci.baseline["mae"][0]  # while the separate intervals overlap


def test_block_resampling_keeps_runs_of_consecutive_rows():
    idx = resample_indices(100, 3, np.random.default_rng(0), block=5)
    assert idx.shape == (3, 100)
    runs = idx.reshape(3, 20, 5)
    assert (np.diff(runs, axis=2) == 1).all()
    assert block_length(500, horizon=1) == 8 and block_length(500, horizon=12) == 12


def test_classification_intervals_hold_the_point_estimate():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 150)
    proba = np.clip(np.stack([1 - y, y], 1) * 0.7 + rng.uniform(0, 0.3, (150, 2)), 0, 1)
    proba /= proba.sum(1, keepdims=True)
    prior = np.repeat([[0.5, 0.5]], 150, axis=0)
    ci = paired_bootstrap("classification", y, proba, prior, ["accuracy", "roc_auc"], samples=300)
    accuracy = (proba.argmax(1) == y).mean()
    assert ci.model["accuracy"][0] <= accuracy <= ci.model["accuracy"][1]
    assert ci.difference["roc_auc"][0] > 0
