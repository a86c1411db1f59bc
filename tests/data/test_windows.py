"""windows(): shapes and values, and on the BTC file no window crosses a split boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerwise.data import SeriesTransform, clean, read_table, split, windows
from layerwise.errors import ConfigError, DataError

BTC = Path(__file__).resolve().parents[2] / "examples" / "data" / "btc-usd-daily.csv"


def test_windows_hold_the_right_rows():
    t = np.arange(20, dtype=float)
    inputs = np.column_stack([t, -t])  # (T, 2)
    w = windows(inputs, t * 10, t * 100, lookback=4, horizon=2, stride=3)
    assert w.x.shape == (len(w), 4, 2) and w.y.shape == (len(w), 2)
    assert w.end.tolist() == [3, 6, 9, 12, 15]
    assert w.x[1, :, 0].tolist() == [3, 4, 5, 6] and w.x[1, :, 1].tolist() == [-3, -4, -5, -6]
    assert w.actual[1].tolist() == [70, 80] and w.last[1] == 60 and w.y[1].tolist() == [700, 800]
    assert (w.x.dtype, w.y.dtype, w.last.dtype, w.end.dtype) == (np.float32, np.float32, np.float64, np.int64)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 60),
    lookback=st.integers(1, 10),
    horizon=st.integers(1, 5),
    stride=st.integers(1, 4),
    start=st.integers(0, 2),
)
def test_every_window_lies_inside_the_arrays(rows, lookback, horizon, stride, start):
    t = np.arange(rows, dtype=float)
    try:
        w = windows(t[:, None], t, t, lookback, horizon, stride, start=start)
    except DataError:
        assert rows < start + lookback + horizon
        return
    assert np.all(w.end - lookback + 1 >= start) and np.all(w.end + horizon <= rows - 1)
    assert np.all(w.x[:, -1, 0] == w.end) and np.all(w.actual[:, -1] == w.end + horizon)
    assert len(w) == len(range(start + lookback - 1, rows - horizon, stride))


def test_too_short_part_and_bad_sizes():
    with pytest.raises(DataError, match="(?s)val: 5 rows make no window: one needs 9 rows.*shorter lookback"):
        windows(np.zeros((5, 1)), np.zeros(5), np.zeros(5), 7, 2, part="val")
    with pytest.raises(ConfigError, match="lookback"):
        windows(np.zeros((5, 1)), np.zeros(5), np.zeros(5), 0, 2)


@pytest.mark.parametrize("transform", ["none", "diff", "log_return"])
def test_btc_windows_never_cross_a_split_boundary(transform):
    df, kinds, _ = clean(read_table(BTC), target="Close", task="forecast", time="Date", source=str(BTC))
    lookback, horizon = 30, 7
    series = SeriesTransform(["Close", *kinds], "Close", transform=transform)
    gap = lookback + horizon
    parts = split(len(df), method="time", gap=gap, min_rows=series.rows_needed(lookback, horizon))
    assert parts.val[0] - parts.train[-1] - 1 == gap and parts.test[0] - parts.val[-1] - 1 == gap
    series.fit(df.iloc[parts.train])
    for name in ("train", "val", "test"):
        rows = getattr(parts, name)
        w = windows(*series.transform(df.iloc[rows].reset_index(drop=True)), series, lookback, horizon)
        first_input = rows[w.end - lookback + 1]
        last_target = rows[w.end + horizon]
        # Inputs and targets of every window come from this part, after the differenced first row.
        assert first_input.min() >= rows[0] + series.warmup and last_target.max() <= rows[-1]
        np.testing.assert_array_equal(w.actual[:, 0], df["Close"].to_numpy()[rows[w.end + 1]])
        np.testing.assert_allclose(series.target_from_model(w.y.astype(np.float64), w.last), w.actual, rtol=1e-5)
        assert np.isfinite(w.x).all()
