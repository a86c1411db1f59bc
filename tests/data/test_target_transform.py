"""TargetEncoder's transforms of a regression target: log and standardized, auto's choice, bounds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from layerwise.data import TargetEncoder, split
from layerwise.errors import ConfigError, DataError


def lognormal(n: int = 400, seed: int = 0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).lognormal(10, 1, n), name="price")


def test_log_round_trip_in_the_target_units():
    y = lognormal()
    enc = TargetEncoder("regression", transform="log").fit(y)
    z = enc.encode(y)
    assert enc.log and z.dtype == np.float32 and abs(z.mean()) < 1e-4 and z.std() == pytest.approx(1, abs=1e-4)
    np.testing.assert_allclose(enc.decode(z), y, rtol=1e-5)
    logs = np.log(y.to_numpy())
    np.testing.assert_allclose(z, (logs - logs.mean()) / logs.std(), rtol=1e-5, atol=1e-6)


def test_auto_takes_the_log_of_a_positive_skewed_target_and_standardizes_others():
    assert TargetEncoder("regression", transform="auto").fit(lognormal()).log
    diabetes = load_diabetes(as_frame=True).frame["target"]  # skewness 0.44
    assert not TargetEncoder("regression", transform="auto").fit(diabetes).log
    shifted = lognormal() - 30_000  # as skewed, but with values <= 0
    assert (shifted <= 0).any() and not TargetEncoder("regression", transform="auto").fit(shifted).log
    standard = TargetEncoder("regression", transform="standard").fit(diabetes)
    assert TargetEncoder("regression", transform="auto").fit(diabetes).to_dict()["center"] == standard.center
    none = TargetEncoder("regression", transform="none").fit(diabetes)
    np.testing.assert_allclose(none.encode(diabetes), diabetes, rtol=1e-6)
    assert TargetEncoder("classification", transform="auto").fit(pd.Series(["a", "b"])).classes == ["a", "b"]


def test_log_of_a_non_positive_value_names_the_target_and_row():
    y = pd.Series([3.0, 5.0, 0.0, -1.0], name="price")
    with pytest.raises(DataError, match=r"target 'price': data row 3 holds 0.*2 values are not"):
        TargetEncoder("regression", transform="log").fit(y)
    with pytest.raises(ConfigError, match="data.target_transform: unknown value 'logg'.*did you mean 'log'"):
        TargetEncoder("regression", transform="logg")


def test_decoded_predictions_stay_finite_and_within_the_margin():
    y = lognormal()
    enc = TargetEncoder("regression", transform="auto").fit(y)
    decoded = enc.decode(np.array([1e30, -1e30, 0.0], dtype=np.float32))
    assert np.isfinite(decoded).all()
    assert decoded[0] == pytest.approx(y.max() * np.e) and decoded[1] == pytest.approx(y.min() / np.e)
    # a held-out value <= 0 is encoded at the lower bound, not as -inf or NaN
    held = enc.encode(pd.Series([0.0, -5.0, np.nan, float(y.iloc[0])]))
    assert np.isfinite(held[:2]).all() and np.isnan(held[2]) and held[0] == held[1]


def test_json_round_trip_fit_on_train_only_and_older_states():
    y = lognormal(300)
    parts = split(len(y), seed=4)
    enc = TargetEncoder("regression", transform="auto").fit(y.iloc[parts.train])
    again = TargetEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    z = np.linspace(-4, 4, 9).astype(np.float32)
    np.testing.assert_array_equal(again.decode(z), enc.decode(z))
    np.testing.assert_array_equal(again.encode(y), enc.encode(y))
    changed = y.copy()
    changed.iloc[parts.test] = -1e9  # would turn auto away from the log, and widen the bounds
    assert TargetEncoder("regression", transform="auto").fit(changed.iloc[parts.train]).to_dict() == enc.to_dict()
    # a state written before target transforms: standardized (or not), no log
    old = TargetEncoder.from_dict(
        {"task": "regression", "normalize": True, "classes": None, "center": 2.0, "scale": 4.0}
    )
    assert old.transform == "standard" and not old.log
    assert old.decode(np.array([1.0])).tolist() == [6.0] and old.encode(pd.Series([6.0])).tolist() == [1.0]
    raw = TargetEncoder.from_dict(
        {"task": "regression", "normalize": False, "classes": None, "center": 0.0, "scale": 1.0}
    )
    assert raw.transform == "none" and raw.decode(np.array([7.0])).tolist() == [7.0]
    assert TargetEncoder("regression", normalize=False).transform == "none"
