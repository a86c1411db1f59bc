"""The baselines and the multi-output metrics against plain oracles: numpy's median, a pandas
shift for seasonal naive, scikit-learn's root_mean_squared_error."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from layerwise.evaluation import batched, judge, median_baseline, paired_bootstrap, regression_metrics, seasonal_naive
from layerwise.evaluation.baselines import constant_kind


def test_the_constant_follows_the_deciding_metric():
    assert [constant_kind(m) for m in ("mae", "mape", "rmse", "r2")] == ["median", "median", "mean", "mean"]
    skewed = np.random.default_rng(0).lognormal(0, 1, 501)
    assert median_baseline(skewed, 2).tolist() == [[np.median(skewed)]] * 2
    # the median is the best constant under absolute error, the mean under squared error
    mae = {
        kind: regression_metrics(skewed, np.full(501, getattr(np, kind)(skewed)))[0]["mae"]
        for kind in ("mean", "median")
    }
    assert mae["median"] < mae["mean"] * 0.95


def test_judge_names_the_constant_of_its_metric_unless_told():
    y = np.arange(30.0)
    assert judge("regression", y, y, y + 1, samples=0)["baseline_name"] == "the training median"
    assert judge("regression", y, y, y + 1, samples=0, metric="r2")["baseline_name"] == "the training mean"
    named = judge("forecast", y, y, y + 1, samples=0, baseline_name="seasonal naive", beside={"persistence": y + 2})
    assert named["baseline_name"] == "seasonal naive" and named["finding"].startswith(
        "The network beats seasonal naive"
    )
    (other,) = named["other_baselines"]
    assert other["name"] == "persistence" and other["baseline"]["mae"] == 2.0 and other["beats_baseline"] is True


@pytest.mark.parametrize("horizon", [1, 3, 9])
def test_seasonal_naive_repeats_the_value_one_season_before_each_step(horizon):
    series = pd.Series(np.random.default_rng(1).normal(size=60))
    season, ends = 7, np.arange(10, 50 - horizon)
    recent = np.stack([series.to_numpy()[t - season + 1 : t + 1] for t in ends])  # (n, season)
    got = seasonal_naive(recent, horizon)
    for k in range(1, horizon + 1):
        # the oracle: y[t+k] forecast by y[t+k-7], or for steps past the season the season before that
        back = season * -(-k // season)
        np.testing.assert_array_equal(got[:, k - 1], series.shift(back).to_numpy()[ends + k])


def test_multi_output_rmse_is_scikit_learns():
    rng = np.random.default_rng(2)
    # later steps err more, where the pooled root and the mean of roots differ most
    y = rng.normal(size=(80, 4))
    p = y + rng.normal(size=(80, 4)) * np.array([0.1, 0.5, 1.0, 3.0])
    got, _ = regression_metrics(y, p)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert got["rmse"] == pytest.approx(np.mean([skm.root_mean_squared_error(y[:, k], p[:, k]) for k in range(4)]))
    assert got["rmse"] != pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-3)  # not the pooled root
    assert got["r2"] == pytest.approx(skm.r2_score(y, p)) and got["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    idx = np.random.default_rng(3).integers(0, 80, (5, 80))
    for b, rows in enumerate(idx):
        assert batched.rmse(y[idx], p[idx])[b] == pytest.approx(skm.root_mean_squared_error(y[rows], p[rows]))
    # the interval is of the same quantity as the point estimate
    low, high = paired_bootstrap("forecast", y, p, y + 5, ["rmse"], samples=300).model["rmse"]
    assert low < got["rmse"] < high
