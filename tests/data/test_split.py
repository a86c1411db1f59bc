"""split and kfold: sizes, partitions, stratification, determinism, time order and gaps, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_iris

from layerwise.data import kfold, split
from layerwise.errors import ConfigError, DataError


def parts_of(s):
    return [s.train, s.val, s.test]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(60, 400),
    method=st.sampled_from(["random", "time"]),
    val=st.sampled_from([0.0, 0.1, 0.2]),
    test=st.sampled_from([0.1, 0.25]),
    gap=st.integers(0, 3),
    seed=st.integers(0, 5),
)
def test_parts_are_sorted_disjoint_and_cover_all_but_the_gaps(n, method, val, test, gap, seed):
    s = split(n, method=method, train=1 - val - test, val=val, test=test, gap=gap, seed=seed)
    together = np.concatenate(parts_of(s))
    assert len(np.unique(together)) == len(together)
    assert all(p.dtype == np.int64 and np.all(np.diff(p) > 0) for p in parts_of(s))
    boundaries = (val > 0) + 1 if method == "time" else 0
    assert len(together) == n - gap * boundaries
    assert (len(s.val) == 0) == (val == 0)
    if method == "time":
        assert s.train[-1] < (s.val[0] if len(s.val) else s.test[0])
        nxt = s.val if len(s.val) else s.test
        assert nxt[0] - s.train[-1] - 1 == gap
        assert np.all(np.diff(together) >= 1)


def test_sizes_follow_the_fractions():
    s = split(1000, train=0.6, val=0.25, test=0.15)
    assert s.sizes == {"train": 600, "val": 250, "test": 150}


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = split(500, seed=7), split(500, seed=7), split(500, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(parts_of(a), parts_of(b)))
    assert not np.array_equal(a.test, c.test)


@pytest.mark.parametrize("load", [load_breast_cancer, load_iris])
def test_stratified_keeps_class_proportions(load):
    y = load(as_frame=True).frame["target"].to_numpy()
    s = split(len(y), method="stratified", y=y, seed=0)
    overall = np.bincount(y) / len(y)
    for part in parts_of(s):
        share = np.bincount(y[part], minlength=len(overall)) / len(part)
        np.testing.assert_allclose(share, overall, atol=2 / len(part))  # whole rows: off by rounding
    assert s.sizes == split(len(y)).sizes


def test_stratified_refuses_a_class_with_one_row():
    y = np.array(["a"] * 20 + ["b"] * 20 + ["lonely"])
    with pytest.raises(DataError, match="(?s)class 'lonely' has only 1 row.*method: random"):
        split(len(y), method="stratified", y=y)
    with pytest.raises(ConfigError, match="needs the target labels"):
        split(10, method="stratified")


def test_fractions_must_add_up_to_one():
    with pytest.raises(ConfigError, match=r"data.split: train \+ val \+ test must add up to 1"):
        split(100, train=0.7, val=0.2, test=0.2)
    with pytest.raises(ConfigError, match="data.split.method.*did you mean 'random'"):
        split(100, method="randm")


def test_too_few_rows_says_what_each_part_needs():
    with pytest.raises(
        DataError, match="(?s)100 rows are too few.*train 56, val 12, test 12.*at least 20 rows.*shorter lookback"
    ):
        split(100, method="time", gap=10, min_rows=20)


def test_kfold_random_and_stratified_cover_every_row_once():
    y = load_iris(as_frame=True).frame["target"].to_numpy()
    for method in ("random", "stratified"):
        folds = kfold(len(y), 5, method=method, y=y, seed=2)
        held = np.concatenate([val for _, val in folds])
        assert sorted(held.tolist()) == list(range(len(y)))
        for train, val in folds:
            assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(y)
        if method == "stratified":
            assert all(np.bincount(y[val]).tolist() == [10, 10, 10] for _, val in folds)


def test_kfold_time_expands_forward_with_a_gap():
    folds = kfold(100, 4, method="time", gap=3)
    assert [len(val) for _, val in folds] == [20, 20, 20, 20]
    for (train, _val), (next_train, _) in zip(folds, folds[1:]):
        assert len(next_train) > len(train)
    for train, val in folds:
        assert train[0] == 0 and val[0] - train[-1] - 1 == 3
    with pytest.raises(DataError, match="first fold has no training rows"):
        kfold(10, 4, method="time", gap=3)
