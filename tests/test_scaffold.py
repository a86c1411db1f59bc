"""`layerwise init`: the header says whether the task was the user's choice or a guess, and from what."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes

from layerwise.config.scaffold import Frequency, chosen_task, series_frequency, write_config
from layerwise.config.schema import ExperimentConfig
from layerwise.data import read_table
from layerwise.errors import DataError, UsageError


def _csv(tmp_path, loader, target, name):
    frame = loader(as_frame=True).frame.rename(columns={"target": target})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_inferred_task_says_it_was_inferred_and_from_what(cli, tmp_path):
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    code, _, err = cli("init", data, "--target", "diagnosis", "-o", config)
    assert code == 0, err
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: classification (inferred: target 'diagnosis' looks binary, 2 distinct values")
    assert "you chose" not in line and "--task" in line  # how to override the guess


def test_continuous_target_is_inferred_as_regression(cli, tmp_path):
    data = _csv(tmp_path, load_diabetes, "progression", "diabetes")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "progression", "-o", config)[0] == 0
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: regression (inferred: target 'progression' looks continuous")


def test_task_given_on_the_command_line_says_so(cli, tmp_path):
    # A 0/1 target the user wants treated as a number: their choice wins and the header says so.
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "diagnosis", "--task", "regression", "-o", config)[0] == 0
    text = config.read_text()
    assert text.splitlines()[1].startswith("# Task: regression (you chose it with --task)")
    assert "inferred" not in text.splitlines()[1]
    assert "  type: regression" in text


# Names from the data are hostile input: a header may hold YAML, line breaks, markup, words YAML reads as
# other things. `init` writes each as a value that reads back as exactly that name, and comments stay comments.
SECTIONS = {"data", "task", "model", "train"}
DATA_KEYS = {"path", "target", "split", "normalize"}
INJECTED = "z\nevaluate: {gates: {beat_baseline: false}}\n#"


def _noise(path, names, rows=12, quoting=csv.QUOTE_MINIMAL):
    """A CSV of Gaussian noise under `names`, written by pandas (which writes any header as it is)."""
    values = np.random.default_rng(0).normal(size=(rows, len(names)))
    pd.DataFrame(values, columns=names).to_csv(path, index=False, quoting=quoting)
    return path


def test_a_column_name_cannot_inject_config(cli, tmp_path):
    data = _noise(tmp_path / "noise.csv", ["a", INJECTED, "y"])
    config = tmp_path / "noise.yaml"
    code, _, err = cli("init", data, "--target", "y", "-o", config)
    assert code == 0, err
    raw = yaml.safe_load(config.read_text())
    assert set(raw) == SECTIONS  # the header's `evaluate:` stayed inside a comment
    assert ExperimentConfig.from_yaml(config).evaluate.gates.beat_baseline is True
    assert '#   "z\\nevaluate: {gates: {beat_baseline: false}}\\n#": numeric' in config.read_text()


@pytest.mark.parametrize("target", ["true", "null", "12", "[/]", "x\u2028y"])
def test_a_target_name_reads_back_as_itself(cli, tmp_path, target):
    data = _noise(tmp_path / "d.csv", ["a", target])
    config = tmp_path / "d.yaml"
    code, _, err = cli("init", data, f"--target={target}", "-o", config)
    assert code == 0, err  # "[/]" is not rich markup either: the echoed header line is plain text
    assert yaml.safe_load(config.read_text())["data"]["target"] == target
    assert ExperimentConfig.from_yaml(config).data.target == target


def test_a_hostile_file_name_stays_one_path(cli, tmp_path):
    folder = tmp_path / "my data #1"
    folder.mkdir()
    data = _noise(folder / "x\nevaluate: {}.csv", ["a", "y"])
    config = tmp_path / "exp.yaml"
    code, _, err = cli("init", data, "--target", "y", "-o", config)
    assert code == 0, err
    raw = yaml.safe_load(config.read_text())
    assert set(raw) == SECTIONS and raw["data"]["path"] == "my data #1/x\nevaluate: {}.csv"
    assert ExperimentConfig.from_yaml(config).data.path == str(data.resolve())


# Characters that break YAML or lines, words YAML reads as other things, and any other text.
HOSTILE = st.sampled_from(
    [
        "\n",
        "\r",
        "\r\n",
        "\t",
        '"',
        "'",
        "#",
        ":",
        ": ",
        " #",
        "-",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        "\\",
        "\x85",
        "\u2028",
        "\x7f",
        "\x1b",
        "é",
        "ß",
        "日本",
        "\U0001f600",
        " ",
    ]
)
WORDS = st.sampled_from(["true", "False", "null", "~", "yes", "on", "1e3", "12", "0x1F", ".inf", "NaN", "...", "---"])
NAME = st.one_of(
    WORDS, st.lists(st.one_of(HOSTILE, st.text(min_size=1, max_size=3)), min_size=1, max_size=5).map("".join)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAME, min_size=2, max_size=4, unique_by=str.strip), with_time=st.booleans())
def test_random_column_names_round_trip_through_init(cli, tmp_path, names, with_time):
    # The reader strips a name's outer spaces and refuses a blank one; NUL ends a C string.
    assume(all(n.strip() and "\x00" not in n for n in names))
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        # every field quoted: pandas leaves a lone "\r" unquoted, which no CSV reader takes back; 40 rows:
        # a target and a time alone are one series, and a forecast needs 21 rows at least
        data = _noise(Path(folder) / "d.csv", names, rows=40, quoting=csv.QUOTE_ALL)
        config = Path(folder) / "d.yaml"
        try:
            columns = list(read_table(data).columns)
        except DataError:  # a header the reader refuses (a quoted tab can look like a tab-separated file)
            assert cli("init", data, f"--target={names[0].strip()}", "-o", config)[0] == 3
            return
        assume(columns == [n.strip() for n in names])  # a leading BOM is the file's, not the name's
        target, time = columns[0], columns[1] if with_time else None
        code, _, err = cli("init", data, f"--target={target}", *([f"--time={time}"] if time else []), "-o", config)
        assert code == 0, err
        text = config.read_text()
    raw = yaml.safe_load(text)
    assert set(raw) == SECTIONS
    forecast = {"window", "transform"} if raw["task"]["type"] == "forecast" else set()
    assert set(raw["data"]) == DATA_KEYS | ({"time"} if time else set()) | forecast
    assert set(raw["task"]) == {"type"}
    train = {"optimizer", "lr", "batch_size", "epochs", "patience", "weight_decay", "seed"}
    if raw["task"]["type"] == "forecast":  # an MLP over the window
        assert set(raw["model"]) == {"type", "hidden", "activation", "dropout", "init"}
        assert set(raw["train"]) == train
    else:  # the table recipe
        assert set(raw["model"]) == {"type", "hidden", "members", "numeric_embedding", "embedding", "dropout"}
        smoothing = {"label_smoothing"} if raw["task"]["type"] == "classification" else set()
        assert set(raw["train"]) == train | {"schedule", "stop_on"} | smoothing
    assert raw["data"]["target"] == target and raw["data"].get("time") == time
    # the kind comments: one line per feature, each itself YAML `name: kind` naming the column exactly
    features = [c for c in columns if c not in (target, time)]
    lines = text.splitlines()
    start = (
        lines.index("# Column kinds as inferred (id-like, constant and free-text columns are dropped by cleaning):") + 1
    )
    assert lines[start + len(features)] == ""
    shown = [yaml.safe_load(line.removeprefix("#   ")) for line in lines[start : start + len(features)]]
    assert [next(iter(entry)) for entry in shown] == features


# `init --time`: a dated series is read as a forecast with a lookback from its step; a table with other
# inputs says which reading it wrote and the key that switches to the other.


def _init(cli, data, *args):
    config = data.with_suffix(".yaml")
    code, _, err = cli("init", data, *args, "-o", config)
    assert code == 0, err
    text = config.read_text()
    return yaml.safe_load(text), text


def _dated(path, values, freq="D", **columns):
    dates = pd.date_range("2021-01-04", periods=len(values), freq=freq).strftime("%Y-%m-%d %H:%M")
    pd.DataFrame({"date": dates, "y": values, **columns}).to_csv(path, index=False)
    return path


def test_a_dated_series_alone_is_forecast_with_a_daily_lookback_and_runs(cli, tmp_path, btc_slice):
    # The BTC file reduced to Date and Close: before, init wrote a regression that failed with
    # "no feature column is left"
    data = tmp_path / "close.csv"
    pd.read_csv(btc_slice)[["Date", "Close"]].to_csv(data, index=False)
    raw, text = _init(cli, data, "--target", "Close", "--time", "Date")
    assert raw["task"]["type"] == "forecast"
    assert raw["data"]["window"] == {"lookback": 28, "horizon": 1, "stride": 1}  # daily: four weeks
    assert raw["data"]["transform"] == "log_return" and raw["data"]["split"]["method"] == "time"
    assert "# Lookback: daily rows, so 28: four weeks" in text
    assert "#   The rule: hourly 48 rows (two days), daily 28 (four weeks), weekly 13" in text
    assert ExperimentConfig.from_yaml(data.with_suffix(".yaml")).task.type == "forecast"
    out = tmp_path / "run"
    code, stdout, err = cli("run", data.with_suffix(".yaml"), "--out", out, "--set", "train.epochs=2")
    assert code == 0, err
    assert "baseline: persistence ('tomorrow = today')" in stdout + err


def test_same_day_prices_make_a_forecast_from_the_past_and_the_comment_names_the_switch(cli, tmp_path, btc_slice):
    # Open, High, Low and Adj Close are the same day's values of Close: a regression on them copies the answer
    raw, text = _init(cli, btc_slice, "--target", "Close", "--time", "Date")
    assert raw["task"]["type"] == "forecast" and raw["data"]["window"]["lookback"] == 28
    lines = text.splitlines()
    assert lines[1].startswith("# Task: forecast (inferred: 'Open', 'High', 'Low', 'Adj Close' move with 'Close'")
    assert (
        "# Reading: forecast 'Close' from its own past and the past of 'Open', 'High', 'Low', 'Adj Close', "
        "'Volume' (numeric columns only)."
    ) in lines
    assert (
        "#   Switch: for a regression of 'Close' on the other columns at the same time, set task.type: regression"
        in lines
    )
    assert "#   and data.transform: none (the window is then unused), or rerun init with --task regression." in lines
    # the switch as the comment says it gives a regression that runs
    code, stdout, err = cli(
        "run",
        btc_slice.with_suffix(".yaml"),
        "--out",
        tmp_path / "run",
        "--set",
        "task.type=regression",
        "--set",
        "data.transform=none",
        "--set",
        "train.epochs=1",
    )
    assert code == 0, err
    assert "baseline: the training median" in stdout + err  # judged on MAE, the default


def test_a_dated_table_with_other_inputs_is_a_regression_that_says_how_to_forecast(cli, tmp_path):
    rng = np.random.default_rng(0)
    temp, promo = rng.normal(20, 5, 300), rng.integers(0, 2, 300)
    data = _dated(tmp_path / "sales.csv", 100 + 3 * temp + 20 * promo + rng.normal(0, 5, 300), temp=temp, promo=promo)
    raw, text = _init(cli, data, "--target", "y", "--time", "date")
    assert raw["task"]["type"] == "regression" and "window" not in raw["data"]
    lines = text.splitlines()
    assert (
        "# Reading: regression of 'y' on the other columns at the same time ('temp', 'promo'); rows ordered by "
        "'date'." in lines
    )
    assert (
        "#   Why: no column moves with 'y' closely enough (correlation >= 0.95) to be a same-time copy of it." in lines
    )
    assert (
        "#   Switch: to forecast 'y' from its own past and the other numeric columns' past, set task.type: forecast"
    ) in lines
    # daily rows call for 28; 300 rows leave a test part of 20 windows at 18. promo is 0/1: no log return
    assert (
        "#   and add data.window: {lookback: 18, horizon: 1} (daily rows call for 28, and 300 rows leave room "
        "for 18) and data.transform: diff (predict the change, not the level), or rerun init with --task "
        "forecast."
    ) in lines


def test_repeated_time_stamps_are_events_not_one_series(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    dates = np.repeat(pd.date_range("2021-01-01", periods=20).strftime("%Y-%m-%d"), 3)
    data = tmp_path / "events.csv"
    pd.DataFrame({"date": dates, "x": x, "y": x * 0.99 + rng.normal(0, 0.01, 60)}).to_csv(data, index=False)
    raw, text = _init(cli, data, "--target", "y", "--time", "date")
    assert raw["task"]["type"] == "regression"  # x tracks y, but 20 days of 3 rows each are not one series
    assert (
        "#   Why: 60 rows share a time stamp with another: a table of events measured over time, not one series."
        in text.splitlines()
    )


def test_a_series_with_values_below_zero_predicts_differences(cli, tmp_path):
    data = _dated(tmp_path / "temp.csv", np.sin(np.arange(400) / 7) * 10)
    raw, _ = _init(cli, data, "--target", "y", "--time", "date")
    assert raw["task"]["type"] == "forecast" and raw["data"]["transform"] == "diff"


def test_a_short_series_shortens_the_lookback_and_says_why(cli, tmp_path):
    data = _dated(tmp_path / "short.csv", np.linspace(1, 2, 200))
    raw, text = _init(cli, data, "--target", "y", "--time", "date")
    assert raw["data"]["window"]["lookback"] == 7
    assert (
        "#   Shortened from 28 to 7, so that the test part of these 200 rows holds 20 windows (the deploy "
        "gate's minimum); never below 7."
    ) in text.splitlines()


def test_a_series_too_short_to_judge_keeps_a_weeks_lookback_and_says_so(cli, tmp_path):
    data = _dated(tmp_path / "short.csv", np.linspace(1, 2, 100))
    raw, text = _init(cli, data, "--target", "y", "--time", "date")
    assert raw["data"]["window"]["lookback"] == 7
    assert (
        "#   Too short to judge: at lookback 7, a quarter of 28, the test part of these 100 rows holds 5 windows, "
        "and the deploy gate needs 20. A longer series gives a verdict."
    ) in text.splitlines()


def test_a_series_too_short_for_any_window_is_refused_with_the_rows_it_needs(cli, tmp_path):
    data = _dated(tmp_path / "tiny.csv", np.linspace(1, 2, 12))
    code, _, err = cli("init", data, "--target", "y", "--time", "date", "-o", tmp_path / "tiny.yaml")
    assert code == 3
    assert "tiny.csv: 12 rows of 'y' are too few to forecast" in err and "at least 21 rows" in err
    assert "gather a longer series" in err and not (tmp_path / "tiny.yaml").exists()


def _stamps(freq, n=40, start="2021-01-04"):
    return pd.Series(pd.date_range(start, periods=n, freq=freq).strftime("%Y-%m-%d %H:%M:%S"))


@pytest.mark.parametrize(
    ("times", "name", "lookback"),
    [
        (_stamps("h"), "hourly", 48),
        (_stamps("D"), "daily", 28),
        (_stamps("B"), "daily", 28),  # weekdays only: the weekend step is the exception
        (_stamps("W-MON"), "weekly", 13),
        (_stamps("MS"), "monthly", 24),
        (_stamps("ME"), "monthly", 24),  # 28 to 31 days apart
        (_stamps("QS"), "quarterly", 8),
        (pd.Series(range(1981, 2021)), "yearly", 10),  # whole numbers one apart: years
        (_stamps("15min"), "every 15 minutes", 96),  # two days would be 192 rows: kept to 96
        (_stamps("6h"), "every 6 hours", 8),
        (pd.Series(np.arange(40) * 0.5), "every 0.5", 30),  # numbers, not dates
    ],
)
def test_series_frequency_sizes_the_lookback_from_the_step(times, name, lookback):
    frequency = series_frequency(times)
    assert (frequency.name, frequency.lookback) == (name, lookback)
    assert str(lookback) in frequency.rule


def test_series_frequency_reads_the_step_whatever_the_row_order_and_repeats():
    times = _stamps("W-MON")
    shuffled = pd.concat([times, times.iloc[:5]]).sample(frac=1, random_state=0)
    assert series_frequency(shuffled).name == "weekly"


def test_irregular_steps_and_too_few_stamps_get_the_default_lookback():
    rng = np.random.default_rng(0)
    irregular = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(np.cumsum(rng.exponential(3, 60)), unit="D"))
    frequency = series_frequency(irregular)
    assert (frequency.name, frequency.lookback) == ("irregular", 30)
    assert frequency.rule.startswith("irregular steps (usual 2.") and "resampling to a regular step" in frequency.rule
    assert series_frequency(_stamps("D", n=2)) == Frequency("unknown", 30, "too few time stamps to find a step, so 30")


# --- which task.type init writes: chosen_task, the one place it reads the data's shape ------------------


def test_an_unknown_task_is_refused_with_the_schemas_choices(tmp_path):
    with pytest.raises(UsageError, match=r"^--task 'forcast': use classification, regression, forecast or generation$"):
        chosen_task(tmp_path / "x.csv", target="y", task="forcast")


def test_a_folder_of_class_folders_is_classified_and_refuses_another_task(tmp_path):
    (tmp_path / "cats").mkdir()
    assert chosen_task(tmp_path, target=None, task=None) == "classification"
    with pytest.raises(
        UsageError, match="--task regression: a folder of class folders is classified; use --task classification"
    ):
        chosen_task(tmp_path, target=None, task="regression")


def test_a_text_file_without_a_target_is_generation_and_a_table_needs_its_target(tmp_path):
    assert chosen_task(tmp_path / "story.txt", target=None, task=None) == "generation"
    assert chosen_task(tmp_path / "story.txt", target="y", task=None) is None  # a column to predict: rows
    assert chosen_task(tmp_path / "prices.csv", target="close", task="forecast") == "forecast"
    with pytest.raises(
        UsageError,
        match=r"--target is required \(the column to predict\), except with --task "
        "generation",
    ):
        chosen_task(tmp_path / "prices.csv", target=None, task="regression")


def test_write_config_called_without_a_target_on_a_table_names_the_flag(tmp_path):
    # the Python entry point skips chosen_task: it must say what is missing, not fail on a None column
    data = _csv(tmp_path, load_diabetes, "progression", "diabetes")
    out = tmp_path / "diabetes.yaml"
    with pytest.raises(UsageError, match=r"--target is required \(the column to predict\)"):
        write_config(data, target=None, task="regression", out=out)
    assert not out.exists()


# --- each kind writes its own sections: a split of rows, a forecast's window, text, images ---------------


@pytest.mark.parametrize(
    ("task", "time", "split"),
    [
        ("classification", None, "stratified"),  # each class's share in every part
        ("regression", None, "random"),
        ("classification", "day", "time"),  # rows ordered by time are never shuffled, whatever the task
        ("regression", "day", "time"),
    ],
)
def test_rows_are_split_by_their_task_unless_ordered_by_time(tmp_path, task, time, split):
    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "y"})
    frame["y"] = frame["y"] > frame["y"].median()  # a target either task can read
    frame.insert(0, "day", pd.date_range("2020-01-01", periods=len(frame)).strftime("%Y-%m-%d"))
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    text = write_config(data, target="y", task=task, time=time, out=tmp_path / "rows.yaml")
    raw = yaml.safe_load(text)
    assert raw["task"] == {"type": task}
    # 442 rows: below SMALL_TABLE, a fifth each to validate and to test
    assert raw["data"]["split"] == {"method": split, "train": 0.6, "val": 0.2, "test": 0.2}
    assert "window" not in raw["data"] and "# Lookback:" not in text
    assert ExperimentConfig.from_yaml(tmp_path / "rows.yaml").task.type == task


def test_a_forecast_without_a_time_column_reads_rows_in_file_order(tmp_path):
    data = tmp_path / "level.csv"
    pd.DataFrame({"y": np.linspace(1, 2, 1000)}).to_csv(data, index=False)  # room for the full lookback
    text = write_config(data, target="y", task="forecast", out=tmp_path / "level.yaml")
    raw = yaml.safe_load(text)
    assert raw["data"]["window"] == {"lookback": 30, "horizon": 1, "stride": 1}
    assert raw["data"]["split"]["method"] == "time" and raw["data"]["transform"] == "log_return"
    assert "# Lookback: no --time, rows are read in file order, so 30." in text.splitlines()
    assert "# Reading:" not in text  # no time column: no other reading to switch to


def test_task_generation_reads_any_file_as_lines_of_text(tmp_path):
    # --task generation picks the text writer whatever the file's name: a table's lines are its examples
    data = tmp_path / "lines.csv"
    data.write_text("first line\nsecond, longer line\n")
    text = write_config(data, target=None, task="generation", out=tmp_path / "lines.yaml")
    raw = yaml.safe_load(text)
    assert raw["task"] == {"type": "generation"} and raw["data"]["text"] == {"mode": "lines"}
    assert text.startswith("# layerwise experiment: generate text like the 2 lines of lines.csv (longest 19 ")
