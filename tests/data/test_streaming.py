"""Streaming a table larger than memory (data/streaming.py, experiment/streamed.py), checked against the
in-memory path on the same small files: the fitted statistics, the batches, and a whole run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from layerwise import Experiment
from layerwise.data import Preprocessor, TargetEncoder
from layerwise.data.streaming import open_stream, part_codes, wants_stream
from layerwise.errors import ConfigError, DataError

FRACTIONS = (0.7, 0.15, 0.15)
# A streamed run splits by a row hash, the in-memory run stratifies: different test rows of a few
# hundred, so the test metrics differ by sampling noise alone. Measured gaps are under 0.01.
TOLERANCE = {"accuracy": 0.04, "r2": 0.03}


def _table(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(3, 2, size=n),
            "c": rng.choice(["x", "y", "z"], n),
            "d": rng.choice([True, False], n),
        }
    )
    df["label"] = np.where(df.a + 0.5 * (df.b - 3) + (df.c == "x") > 0.3, "yes", "no")
    df["value"] = 2 * df.a + df.b + rng.normal(0, 0.1, n)
    df.loc[[3, 50, 300], "a"] = np.nan
    df.loc[[9, 80], "b"] = np.inf
    df.loc[[4, 90], "c"] = None
    return df


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "t.parquet"
    _table().to_parquet(path)
    return path


def _config(path, target: str, drop: str, enabled, **stream) -> dict:
    task = "classification" if target == "label" else "regression"
    return {
        "data": {
            "path": str(path),
            "target": target,
            "drop": [drop],
            "stream": {"enabled": enabled, "shuffle_buffer": 500, "batch_rows": 700, **stream},
        },
        "task": {"type": task},
        "model": {"type": "mlp", "hidden": [32]},
        "train": {"epochs": 6, "lr": 0.01, "batch_size": 64, "device": "cpu", "patience": None, "threads": 1},
        "evaluate": {"bootstrap": 0, "report": False},
    }


@pytest.mark.parametrize("normalize", ["standard", "minmax", "robust"])
def test_one_pass_statistics_equal_the_in_memory_fit(parquet, normalize):
    stream = open_stream(
        parquet,
        target="value",
        task="regression",
        seed=3,
        fractions=FRACTIONS,
        features=["a", "b", "c", "d"],
        batch_rows=400,
    ).fit(normalize=normalize)
    df = _table()
    train = df[part_codes(np.arange(len(df)), 3, FRACTIONS) == 0]
    assert stream.rows["train"] == len(train)
    fitted = Preprocessor(stream.kinds, normalize=normalize).fit(train[list(stream.kinds)].replace(np.inf, np.nan))
    assert stream.kinds == {"a": "numeric", "b": "numeric", "c": "categorical", "d": "boolean"}
    for name, state in fitted.columns.items():
        mine = stream.features.columns[name]
        assert mine.keys() == state.keys()
        for key, value in state.items():
            assert mine[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value), (name, key)
    target = TargetEncoder("regression").fit(train["value"])
    assert (stream.encoder.center, stream.encoder.scale) == pytest.approx((target.center, target.scale), rel=1e-9)


def test_the_shuffle_buffer_yields_every_training_row_once_in_an_order_fixed_by_seed_and_epoch(parquet):
    stream = open_stream(
        parquet, target="value", task="regression", seed=0, fractions=FRACTIONS, batch_rows=300, shuffle_buffer=500
    ).fit()

    def epoch(e):
        return [(x, y) for x, y in stream.batches("train", 64, epoch=e)]

    first, again, second = epoch(1), epoch(1), epoch(2)
    assert all(len(x) == 64 for x, _ in first[:-1]) and sum(len(x) for x, _ in first) == stream.rows["train"]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))  # same seed and epoch: same order
    ordered = np.concatenate([x for x, _ in stream.batches("train", 64)])  # file order
    shuffled = np.concatenate([x for x, _ in first])
    assert not np.array_equal(shuffled, ordered)
    assert not np.array_equal(shuffled, np.concatenate([x for x, _ in second]))  # each epoch its own order
    key = lambda m: m[np.lexsort(m.T[::-1])]  # noqa: E731  the same rows, as a set
    np.testing.assert_array_equal(key(shuffled), key(ordered))


@pytest.mark.parametrize("target,drop,metric", [("label", "value", "accuracy"), ("value", "label", "r2")])
def test_a_streamed_run_matches_the_in_memory_run_and_writes_the_same_files(parquet, tmp_path, target, drop, metric):
    import layerwise.bundle

    runs = {}
    for enabled in (True, False):
        out = tmp_path / f"run-{enabled}"
        runs[enabled] = Experiment(_config(parquet, target, drop, enabled)).run(out)
    streamed, memory = runs[True], runs[False]
    assert streamed.metrics["streamed"] is True and "streamed" not in memory.metrics
    assert streamed.metrics["test"][metric] == pytest.approx(memory.metrics["test"][metric], abs=TOLERANCE[metric])
    assert streamed.metrics["beats_baseline"] == memory.metrics["beats_baseline"] is True
    files = {p.name for p in (tmp_path / "run-True").iterdir()}
    assert files == {p.name for p in (tmp_path / "run-False").iterdir()}
    assert {"metrics.json", "predictions.csv", "bundle", "history.csv", "run.log"} <= files
    log = (tmp_path / "run-True" / "run.log").read_text(encoding="utf-8")
    assert "stratification is not possible in one pass" in log and "duplicate rows not removed" in log
    assert "leakage audit and data-size curve skipped" in log
    predictions = pd.read_csv(tmp_path / "run-True" / "predictions.csv")
    assert len(predictions) == streamed.metrics["rows"]["test"]
    # the streamed bundle predicts through the same Predictor as any other run's
    rows = _table().head(20).drop(columns=[target])
    pd.testing.assert_frame_equal(
        layerwise.bundle.load(tmp_path / "run-True" / "bundle").predict(rows), streamed.predictor.predict(rows)
    )
    saved = json.loads((tmp_path / "run-True" / "metrics.json").read_text(encoding="utf-8"))
    assert saved["rows"] == streamed.metrics["rows"]


def test_auto_streams_a_csv_file_above_the_threshold(tmp_path):
    path = tmp_path / "t.csv"
    _table(1500).drop(columns=["value"]).to_csv(path, index=False)
    size_mb = path.stat().st_size / 2**20
    assert wants_stream(path, "auto", size_mb / 2) and not wants_stream(path, "auto", size_mb * 2)
    assert not wants_stream(path, False, 0.001)
    cfg = _config(path, "label", "d", "auto", above_mb=size_mb / 2)
    cfg["train"]["epochs"] = 2
    result = Experiment(cfg).run()
    assert any("as a stream of record batches" in line for line in result.log)
    assert result.metrics["rows"]["train"] + result.metrics["rows"]["val"] + result.metrics["rows"]["test"] == 1500
    assert result.metrics["test"]["accuracy"] > 0.7
    cfg["data"]["stream"]["above_mb"] = size_mb * 2  # below the threshold: in memory
    assert not any("as a stream" in line for line in Experiment(cfg).run().log)


def test_streaming_a_forecast_or_a_dataframe_is_a_config_error(parquet):
    cfg = _config(parquet, "value", "label", True)
    cfg["task"]["type"] = "forecast"
    with pytest.raises(ConfigError, match="data.stream.enabled: streaming covers tabular"):
        Experiment(cfg).run()
    with pytest.raises(ConfigError, match="not data= passed in memory"):
        Experiment(_config(parquet, "value", "label", True), data=_table()).run()


def test_a_time_split_needs_the_file_sorted_by_time(tmp_path):
    df = _table(400).drop(columns=["value"])
    df["when"] = pd.date_range("2020-01-01", periods=len(df), freq="D")
    df.loc[250, "when"] = pd.Timestamp("2019-01-01")
    df.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="goes back in time at data row 251"):
        open_stream(
            tmp_path / "t.parquet",
            target="label",
            task="classification",
            seed=0,
            fractions=FRACTIONS,
            time="when",
            batch_rows=100,
        ).fit()
    sorted_df = df.sort_values("when", kind="stable").reset_index(drop=True)
    sorted_df.to_parquet(tmp_path / "s.parquet")
    stream = open_stream(
        tmp_path / "s.parquet",
        target="label",
        task="classification",
        seed=0,
        fractions=FRACTIONS,
        time="when",
        batch_rows=100,
    ).fit()
    assert stream.rows == {"train": 280, "val": 60, "test": 60}  # consecutive runs of rows, in file order
    assert "when" not in stream.kinds


def test_streamed_numbers_written_as_text_read_as_in_memory_and_decimal_commas_refused(tmp_path):
    frame = _table(1500).drop(columns=["label"])
    # value = 2a + b + noise, with b written as "3,141.59" (x1000): read as missing, b explains nothing
    frame["b"] = [f"{1000 * v:,.2f}" if np.isfinite(v) else "n/a" for v in frame["b"]]
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    cfg = _config(path, "value", "d", True)
    streamed = Experiment(cfg).run()
    assert any("as a stream of record batches" in line for line in streamed.log)
    assert streamed.metrics["test"]["r2"] > 0.9, streamed.metrics["test"]
    cfg["data"]["decimal"] = ","
    with pytest.raises(ConfigError, match="data.decimal: ',' is read in memory only"):
        Experiment(cfg).run()
