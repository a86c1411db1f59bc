"""Metrics against scikit-learn, baselines on the same rows, and the finding's honesty."""

import numpy as np
import pytest
from sklearn import metrics as skm

from layerwise.evaluation import (
    classification_metrics,
    majority_baseline,
    mean_baseline,
    persistence,
    regression_metrics,
    score,
)


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.uniform(1, 10, 50), rng.uniform(1, 10, 50)
    got, notes = regression_metrics(y, p)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert got["r2"] == pytest.approx(skm.r2_score(y, p))
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    assert notes == []


def test_several_outputs_and_a_constant_output_are_scored_as_sklearn_scores_them():
    rng = np.random.default_rng(2)
    y, p = rng.uniform(1, 10, (40, 3)), rng.uniform(1, 10, (40, 3))  # a forecast of 3 steps
    y[:, 2] = 5.0  # a constant target column: R² 0 unless predicted exactly
    got, _ = regression_metrics(y, p)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert got["r2"] == pytest.approx(skm.r2_score(y, p))
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, p))
    p[:, 2] = 5.0
    assert regression_metrics(y, p)[0]["r2"] == pytest.approx(skm.r2_score(y, p))


def test_mape_is_skipped_with_a_note_when_the_target_crosses_zero():
    got, notes = regression_metrics(np.array([-1.0, 2.0, 3.0]), np.array([0.0, 2.0, 2.0]))
    assert "mape" not in got
    assert "MAPE skipped" in notes[0]


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    proba = rng.dirichlet([1, 1], 80)
    got, _ = classification_metrics(y, proba)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, proba.argmax(1)))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, proba.argmax(1)))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, proba.argmax(1), average="macro"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))


@pytest.mark.parametrize("k", [2, 4])
def test_classification_metrics_match_sklearn_with_absent_classes_ties_and_float32(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k - 1, 60)  # the last class never occurs in the test split
    proba = rng.dirichlet([1] * k, 60).astype(np.float32)
    proba[:10] = np.float32(1 / k)  # tied scores (and argmax ties to class 0)
    labels = np.arange(k)
    pred = proba.argmax(1)
    got, notes = classification_metrics(y, proba)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0))
    as64 = np.clip(proba.astype(np.float64), 1e-15, 1.0)
    as64 /= as64.sum(1, keepdims=True)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, as64, labels=labels), rel=1e-12)
    if k == 2:  # y holds one class only: no ROC AUC, and a note says why
        assert "roc_auc" not in got and "one class" in notes[0]


def test_roc_auc_matches_sklearn_with_tied_scores():
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    p1 = np.array([0.2, 0.2, 0.9, 0.5, 0.5, 0.5, 0.1, 0.9])
    got, _ = classification_metrics(y, np.stack([1 - p1, p1], axis=1))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))


def test_baselines():
    assert mean_baseline(np.array([1.0, 3.0]), 3).tolist() == [[2.0]] * 3
    priors = majority_baseline(np.array([0, 1, 1, 1]), 3, 2)
    assert priors.tolist() == [[0.25, 0.75, 0.0]] * 2
    assert persistence(np.array([5.0, 7.0]), 2).tolist() == [[5.0, 5.0], [7.0, 7.0]]


def test_finding_says_plainly_when_the_network_loses():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    out = score("forecast", y, y + 1.0, y + 0.5)
    assert out["beats_baseline"] is False
    assert out["primary_metric"] == "mae"
    assert "does NOT beat persistence" in out["finding"]
    assert "1 vs 0.5" in out["finding"]
    won = score("regression", y, y + 0.1, y + 1.0)  # judged on MAE: beside the training median
    assert won["beats_baseline"] is True
    assert won["finding"].startswith("The network beats the training median")
    squared = score("regression", y, y + 0.1, y + 1.0, metric="rmse")
    assert squared["baseline_name"] == "the training mean" and "beats the training mean" in squared["finding"]
