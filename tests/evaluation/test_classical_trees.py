"""The tables' classical reference (evaluation/classical.py table_reference): scikit-learn's
HistGradientBoosting with its defaults, checked against the estimator fitted in one go; categories
as native splits coded from the training categories; the time budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from layerwise.evaluation.classical import MAX_CATEGORIES, TABLE_REFERENCE, OverBudget, table_reference


@pytest.fixture(autouse=True)
def one_thread():
    """The oracles on one OpenMP thread, as the reference fits (classical.TREE_THREADS)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def numbers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


@pytest.mark.parametrize("n", [400, 10_500])  # above 10,000 rows the estimator's early stopping is on
def test_chunked_fit_equals_the_default_estimator_fitted_in_one_go(n):
    frame = numbers(n)
    # noisy enough that early stopping ends the big fit inside a chunk (68 and 73 iterations)
    values = (frame["a"] * np.sin(3 * frame["b"])).to_numpy() + np.random.default_rng(1).normal(0, 1.0, n)
    test = frame.iloc[:200]
    out, name = table_reference("regression", frame, values, test, kinds={}, seed=3)
    oracle = HistGradientBoostingRegressor(random_state=3).fit(frame.to_numpy(), values)
    assert (oracle.n_iter_ < 100) == (n > 10_000)
    assert name == TABLE_REFERENCE and "HistGradientBoosting" in name
    assert out.shape == (200, 1)
    np.testing.assert_allclose(out[:, 0], oracle.predict(test.to_numpy()))

    codes = (values > 0).astype(np.int64)
    proba = table_reference("classification", frame, codes, test, kinds={}, classes=2, seed=3)[0]
    oracle = HistGradientBoostingClassifier(random_state=3).fit(frame.to_numpy(), codes)
    assert (oracle.n_iter_ < 100) == (n > 10_000)
    np.testing.assert_allclose(proba, oracle.predict_proba(test.to_numpy()))


def test_every_class_code_has_a_column_even_one_absent_from_training():
    frame = numbers(300)
    codes = np.where(frame["a"] > 0, 2, 0)  # class 1 has no training row
    out = table_reference("classification", frame, codes, frame.iloc[:50], kinds={}, classes=4)[0]
    assert out.shape == (50, 4)
    assert np.all(out[:, [1, 3]] == 0.0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert np.mean(out.argmax(axis=1) == codes[:50]) > 0.9


def test_one_training_class_is_the_answer():
    frame = numbers(60)
    out = table_reference("classification", frame, np.full(60, 1), frame.iloc[:5], kinds={}, classes=3)[0]
    np.testing.assert_array_equal(out, np.tile([0.0, 1.0, 0.0], (5, 1)))


def test_categories_split_natively_and_an_unseen_one_reads_as_missing():
    rng = np.random.default_rng(0)
    shop = rng.choice(["north", "south", "east"], 600).astype(object)
    shop[::10] = None
    frame = pd.DataFrame({"shop": shop, "a": rng.normal(size=600)})
    values = np.select([frame["shop"] == "north", frame["shop"] == "south"], [10.0, -10.0], 0.0) + frame["a"]
    test = pd.DataFrame({"shop": ["north", "south", "east", "west", None], "a": [0.0] * 5})
    out = table_reference("regression", frame, values.to_numpy(), test, kinds={"shop": "categorical"})[0][:, 0]
    assert out[0] == pytest.approx(10.0, abs=1.0) and out[1] == pytest.approx(-10.0, abs=1.0)
    assert out[2] == pytest.approx(0.0, abs=1.0)
    assert out[3] == out[4]  # a category training never saw goes down the missing branch

    # the same as the estimator given the codes of the sorted training categories, NaN for missing
    code = {"east": 0.0, "north": 1.0, "south": 2.0}
    coded = np.column_stack([[code.get(s, np.nan) for s in frame["shop"]], frame["a"]])
    oracle = HistGradientBoostingRegressor(categorical_features=[True, False], random_state=0).fit(coded, values)
    test_coded = np.column_stack([[code.get(s, np.nan) for s in test["shop"]], test["a"]])
    np.testing.assert_allclose(out, oracle.predict(test_coded))


def test_more_categories_than_native_splits_take_are_codes_as_numbers():
    rng = np.random.default_rng(0)
    labels = np.array([f"c{i:04d}" for i in range(MAX_CATEGORIES + 45)], dtype=object)
    frame = pd.DataFrame({"id": rng.choice(labels, 3000)})
    values = frame["id"].str[1:].astype(float).to_numpy()  # the code's order carries the value
    out = table_reference("regression", frame, values, frame.iloc[:100], kinds={"id": "categorical"})[0]
    # as plain numbers the trees split on the order of the sorted categories; native splits would refuse 300
    assert np.corrcoef(out[:, 0], values[:100])[0, 1] > 0.99


def test_past_the_budget_the_fit_stops_and_says_how_far_it_got():
    frame = numbers(200)
    with pytest.raises(OverBudget) as caught:
        table_reference("regression", frame, frame["a"].to_numpy(), frame, kinds={}, seconds=1e-9)
    assert caught.value.iterations == 20 and caught.value.seconds == 1e-9
    assert "past 1e-09 s" in str(caught.value)
