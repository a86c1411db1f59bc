"""The batched bootstrap metrics against scikit-learn's, resample by resample."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.metrics import balanced_accuracy_score

from layerwise.evaluation import batched


def _resamples(n, b=5, seed=0):
    return np.random.default_rng(seed).integers(0, n, size=(b, n))


def test_regression_metrics_match_sklearn_per_resample():
    rng = np.random.default_rng(0)
    y, p = rng.uniform(1, 10, (60, 2)), rng.uniform(1, 10, (60, 2))
    idx = _resamples(60)
    got = {name: batched.BATCHED[name](y[idx], p[idx]) for name in ("mae", "rmse", "r2", "mape")}
    for b, rows in enumerate(idx):
        assert got["mae"][b] == pytest.approx(skm.mean_absolute_error(y[rows], p[rows]))
        assert got["rmse"][b] == pytest.approx(skm.root_mean_squared_error(y[rows], p[rows]))
        assert got["r2"][b] == pytest.approx(skm.r2_score(y[rows], p[rows]))
        assert got["mape"][b] == pytest.approx(skm.mean_absolute_percentage_error(y[rows], p[rows]))


@pytest.mark.parametrize("k", [2, 3])
def test_classification_metrics_match_sklearn_per_resample(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 80)
    proba = rng.dirichlet(np.ones(k), 80)
    idx = _resamples(80)
    labels = np.arange(k)
    for rows in idx:
        yt, pr = y[rows], proba[rows]

        def one(name, yt=yt, pr=pr):
            return batched.BATCHED[name](yt[None], pr[None])[0]

        assert one("accuracy") == pytest.approx(skm.accuracy_score(yt, pr.argmax(1)))
        assert one("balanced_accuracy") == pytest.approx(balanced_accuracy_score(yt, pr.argmax(1)))
        assert one("f1_macro") == pytest.approx(
            skm.f1_score(yt, pr.argmax(1), labels=labels, average="macro", zero_division=0)
        )
        assert one("log_loss") == pytest.approx(skm.log_loss(yt, pr, labels=labels))
        if k == 2:
            assert one("roc_auc") == pytest.approx(skm.roc_auc_score(yt, pr[:, 1]))


def test_roc_auc_counts_ties_half_and_is_nan_with_one_class():
    y = np.array([[0, 1, 0, 1]])
    flat = np.full((1, 4, 2), 0.5)
    assert batched.roc_auc(y, flat)[0] == pytest.approx(0.5)
    assert np.isnan(batched.roc_auc(np.zeros((1, 4), dtype=int), flat))[0]


def test_average_ranks_match_scipy_rankdata_with_ties():
    from scipy.stats import rankdata

    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, size=(7, 40)).astype(np.float64) / 5  # many ties
    scores[0] = 0.5  # one row all tied
    assert np.array_equal(batched.average_ranks(scores), rankdata(scores, axis=1))
