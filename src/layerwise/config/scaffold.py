"""`layerwise init`: a commented starting config inferred from the data.

Column, class and file names come from the data, and data can be hostile: a header
"z\nevaluate: {gates: ...}" must not become live YAML. Every name goes through `_quote`
(a value that reads back as exactly that string) or `_printable` (comment text on one line).

With `--time`, the table may be one dated series rather than rows to regress: `_read_with_time`
decides which, and `series_frequency` sizes the forecast's lookback from the time column's step.

The kind is chosen once: `write_config` picks a whole-file kind (text to imitate, a folder of
images) or reads the table and picks its task.type's writer from `_TABLE_KINDS`; each writer
adds its own sections to the ones every kind shares.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, get_args

import numpy as np
import pandas as pd
import yaml

from ..atomic import write_text
from ..data import infer_kinds, read_examples, read_table, split, target_kind
from ..data.images import header_choice, is_image_folder, list_image_folder, read_headers
from ..data.kinds import TEXT, detect_decimal, parse_dates, parse_numbers
from ..errors import DataError, LayerwiseError, UsageError, did_you_mean
from ..evaluation.gate import MIN_TEST_ROWS
from .schema import TaskType


def chosen_task(data: str | Path, *, target: str | None, task: str | None) -> str | None:
    """The task.type `init` writes for `data`: --task as given, checked against the data's shape;
    a folder of class folders is classified, a .txt file with no target is text to imitate.
    None: the target's values decide (write_config)."""
    named = [t for t in get_args(TaskType) if t != "auto"]
    if task is not None and task not in named:
        raise UsageError(f"--task {task!r}: use {', '.join(named[:-1])} or {named[-1]}")
    if is_image_folder(data) and target is None:
        # a folder of class folders: image classification, the one task.type written for one
        if task is not None and task != _IMAGES.type:
            raise UsageError(f"--task {task}: a folder of class folders is classified; use --task {_IMAGES.type}")
        return _IMAGES.type
    if Path(data).suffix.lower() == ".txt" and task is None and target is None:
        return _GENERATION.type  # a plain text file with no column to predict: text to imitate
    if target is None and task not in _WHOLE_FILE:
        raise UsageError("--target is required (the column to predict), except with --task generation")
    return task


def write_config(
    data: str | Path,
    *,
    target: str | None,
    task: str | None = None,
    time: str | None = None,
    out: str | Path,
    delimiter: str = ",",
) -> str:
    """Infer the task and column kinds of `data`, write a commented YAML to `out`, return it."""
    # the one place the kind is chosen: by --task (generation reads any file as text), by the
    # data's shape (a folder of class folders), or, for a table, by its target (_write_table)
    whole = _WHOLE_FILE.get(task) if task is not None else None
    if whole is None and is_image_folder(data):
        whole = _IMAGES
    text = whole.render(data, out) if whole is not None else _write_table(data, target, task, time, out, delimiter)
    write_text(out, text)
    return text


def _write_table(
    data: str | Path, target: str | None, task: str | None, time: str | None, out: str | Path, delimiter: str
) -> str:
    """A table's config: the task as given, or inferred from the target's values and the time column."""
    if target is None:  # a table needs the column to predict (chosen_task says so before the CLI gets here)
        raise UsageError("--target is required (the column to predict), except with --task generation")
    frame = read_table(data, delimiter=delimiter)
    for flag, column in (("--target", target), ("--time", time)):
        if column is not None and column not in frame.columns:
            # names escaped: a message is one line, and sends no control characters to the terminal
            close = did_you_mean(_printable(column), [_printable(str(c)) for c in frame.columns])
            raise DataError(
                f"{_printable(str(data))}: {flag} {_shown(column)} is not a column{close}",
                hint=f"columns are: {', '.join(_quote(str(c)) for c in frame.columns)}",
            )
    decimal = detect_decimal(frame)  # "2228,66": numbers with decimal commas, not 300 classes
    kinds = infer_kinds(frame, target=target, time=time, decimal=decimal)
    values = frame[target].dropna()
    kind = target_kind(values, decimal=decimal)
    reading = _read_with_time(frame, kinds, target=target, time=time, kind=kind, decimal=decimal)
    chosen = task is not None
    if task is None:
        # Say what the guess rests on, so a wrong guess is easy to spot and to override.
        why = (
            f"inferred: target {_shown(target)} looks {kind}, {values.nunique()} distinct values; override with --task"
        )
        task = "regression" if kind == "continuous" else "classification"
        if reading is not None and reading.task is not None:
            task, why = reading.task, f"inferred: {reading.why}; override with --task"
    else:
        why = "you chose it with --task"
    text = plan_text(frame, kinds) if task in _READS_TEXT else None
    table = _Table(frame, kinds, data, out, target, time, delimiter, decimal, why, reading, chosen=chosen, text=text)
    return _TABLE_KINDS.get(task, _Rows(task, "random")).write(table)


# --- one dated series, or rows to regress? ------------------------------------------------------

# Input kinds a run reads (ids and constants are dropped; free text goes to a text encoder): the
# table's other readings.
_INPUT_KINDS = ("numeric", "categorical", "boolean", "datetime", "text")
# A column this correlated with the target at the same time is a same-moment copy of it (a day's
# Open/High/Low beside its Close): known only when the target is, so regressing on it copies the answer.
SAME_TIME_COPY = 0.95
# Columns named in a comment line before "and N more".
_SHOWN_COLUMNS = 5


@dataclass(frozen=True)
class Reading:
    """How `init --time` read a table: `task` is its pick (None: the target's kind decides)."""

    task: str | None
    why: str
    target: str
    time: str
    inputs: list[str]  # the columns beside target and time that cleaning would keep
    numeric: list[str]  # of those, the ones a forecast reads the past of
    because: str  # one sentence: why this reading

    def forecast_notes(self, *, chosen: bool = False) -> list[str]:
        """Comment lines naming the forecast written and the exact keys that switch to a regression."""
        target = _shown(self.target)
        past = f" and the past of {_names(self.numeric)}" if self.numeric else ""
        return [
            f"# Reading: forecast {target} from its own past{past} (numeric columns only).",
            f"#   Why: {self._why(chosen)}.",
            f"#   Switch: for a regression of {target} on the other columns at the same time, set "
            "task.type: regression",
            "#   and data.transform: none (the window is then unused), or rerun init with --task regression.",
        ]

    def regression_notes(self, plan: SeriesPlan, *, chosen: bool = False) -> list[str]:
        """Comment lines naming the regression written and the exact keys that switch to a forecast."""
        target, time = _shown(self.target), _shown(self.time)
        return [
            f"# Reading: regression of {target} on the other columns at the same time ({_names(self.inputs)}); "
            f"rows ordered by {time}.",
            f"#   Why: {self._why(chosen)}.",
            f"#   Switch: to forecast {target} from its own past and the other numeric columns' past, set "
            "task.type: forecast",
            f"#   {_window_advice(plan)}, or rerun init with --task forecast.",
        ]

    def _why(self, chosen: bool) -> str:
        if chosen:
            left = self.task or "regression"
            return f"you chose it with --task; left to itself init reads it as a {left}: {self.because}"
        return self.because


def _window_advice(plan: SeriesPlan) -> str:
    if plan.lookback is None:
        return f"(these {plan.rows} rows are too few for a time-ordered split of forecast windows)"
    fitted = (
        f"{plan.frequency.name} rows call for {plan.frequency.lookback}, and {plan.rows} rows leave room for "
        f"{plan.lookback}"
        if plan.lookback < plan.frequency.lookback
        else plan.frequency.rule
    )
    return (
        f"and add data.window: {{lookback: {plan.lookback}, horizon: 1}} ({fitted}) and "
        f"data.transform: {plan.transform} (predict the change, not the level)"
    )


class _Columns(TypedDict):
    """The columns a Reading names, the same whichever reading it is."""

    target: str
    time: str
    inputs: list[str]
    numeric: list[str]


def _read_with_time(
    frame: pd.DataFrame, kinds: dict[str, str], *, target: str, time: str | None, kind: str, decimal: str
) -> Reading | None:
    """With a time column and a numeric target: one series to forecast, or rows to regress? None without one."""
    if time is None or kinds.get(target) != "numeric" or kind == "binary":
        return None
    inputs = [c for c in frame.columns if c not in (target, time) and kinds.get(c) in _INPUT_KINDS]
    numeric = [c for c in inputs if kinds.get(c) in ("numeric", "boolean")]
    read: _Columns = {"target": target, "time": time, "inputs": inputs, "numeric": numeric}
    if not inputs:
        # No other input: a regression has nothing to read, so the only model is one of the past.
        return Reading(
            "forecast",
            f"{_shown(target)} is one series over {_shown(time)} with no other input column",
            because="no other input column",
            **read,
        )
    stamps = frame[time].dropna()
    if stamps.duplicated().any():
        repeated = int(stamps.duplicated(keep=False).sum())
        return Reading(
            None,
            "",
            because=f"{repeated} rows share a time stamp with another: a table of events "
            "measured over time, not one series",
            **read,
        )
    copies = _same_time_copies(frame, target, numeric, decimal) if kind == "continuous" else []
    if copies:
        because = (
            f"{_names(copies)} move with {_shown(target)} at the same time (correlation >= {SAME_TIME_COPY}); "
            f"known only once {_shown(target)} is, they would let a regression copy the answer"
        )
        return Reading(
            "forecast",
            f"{_names(copies)} move with {_shown(target)} at the same time, so it is forecast from the past",
            because=because,
            **read,
        )
    return Reading(
        None,
        "",
        because=f"no column moves with {_shown(target)} closely enough "
        f"(correlation >= {SAME_TIME_COPY}) to be a same-time copy of it",
        **read,
    )


def _same_time_copies(frame: pd.DataFrame, target: str, columns: list[str], decimal: str) -> list[str]:
    y = _numbers(frame[target], decimal)
    copies = []
    with np.errstate(all="ignore"):  # a constant column has no correlation: NaN, not a warning
        for name in columns:
            r = y.corr(_numbers(frame[name], decimal))
            if np.isfinite(r) and abs(r) >= SAME_TIME_COPY:
                copies.append(name)
    return copies


def _numbers(column: pd.Series, decimal: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):  # booleans too
        return column.astype(float)
    return pd.to_numeric(parse_numbers(column.astype(str), decimal), errors="coerce").where(column.notna())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(names: list[str]) -> str:
    shown = ", ".join(_shown(str(n)) for n in names[:_SHOWN_COLUMNS])
    return shown + (f" and {len(names) - _SHOWN_COLUMNS} more" if len(names) > _SHOWN_COLUMNS else "")


# --- the series' step, and the lookback that suits it -------------------------------------------


@dataclass(frozen=True)
class Frequency:
    """How often a series is observed, and the lookback (past rows per forecast) that suits it."""

    name: str  # hourly, daily, weekly, monthly, quarterly, yearly; "every 15 minutes"; irregular; unknown
    lookback: int
    rule: str  # the reason for `lookback`, for the config comment


# name, the shortest and longest step that still counts as it, lookback, why: each covers the
# frequency's natural season at least twice, so the network sees the cycle it must predict.
_CALENDAR = (
    ("hourly", pd.Timedelta(minutes=50), pd.Timedelta(minutes=70), 48, "two days, the daily cycle twice"),
    ("daily", pd.Timedelta(hours=20), pd.Timedelta(hours=28), 28, "four weeks, the weekly cycle four times"),
    ("weekly", pd.Timedelta(days=6), pd.Timedelta(days=8), 13, "a quarter of a year"),
    ("monthly", pd.Timedelta(days=27), pd.Timedelta(days=32), 24, "two years, the yearly cycle twice"),
    ("quarterly", pd.Timedelta(days=85), pd.Timedelta(days=95), 8, "two years, the yearly cycle twice"),
    ("yearly", pd.Timedelta(days=360), pd.Timedelta(days=370), 10, "ten years"),
)
# Other steps under a day cover two days, within these bounds; anything else gets the default.
_SUB_DAILY = (8, 96)
DEFAULT_LOOKBACK = 30
# A series is regular when at least this share of its steps is its usual step.
_REGULAR_SHARE = 0.5
# The rule as the config states it.
LOOKBACK_RULE = (
    "hourly 48 rows (two days), daily 28 (four weeks), weekly 13 (a quarter), monthly 24 "
    "(two years), quarterly 8, yearly 10; other steps under a day cover two days (8 to 96 rows); "
    f"any other step, irregular steps or numbers {DEFAULT_LOOKBACK}"
)


def series_frequency(times: pd.Series) -> Frequency:
    """The step of a time column (dates, or numbers such as years) and the lookback it suggests.

    Repeated stamps are counted once (a forecast keeps the first row of each); the usual step is
    the median; the series is irregular when fewer than half its steps are near it.
    """
    values = times.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        values = parse_dates(values).dropna()
    ordered = values.drop_duplicates().sort_values()
    if len(ordered) < 3:
        return Frequency("unknown", DEFAULT_LOOKBACK, f"too few time stamps to find a step, so {DEFAULT_LOOKBACK}")
    steps = ordered.diff().iloc[1:]
    if pd.api.types.is_numeric_dtype(steps):
        return _number_frequency(ordered.to_numpy(dtype=float), steps.to_numpy(dtype=float))
    return _date_frequency(steps)


def _date_frequency(steps: pd.Series[pd.Timedelta]) -> Frequency:
    usual = steps.median()
    for name, low, high, lookback, why in _CALENDAR:
        if low <= usual <= high:
            return _if_regular(
                steps.between(low, high).mean(), name, lookback, f"{name} rows, so {lookback}: {why}", _duration(usual)
            )
    near = ((steps - usual).abs() <= usual * 0.1).mean()
    if usual < pd.Timedelta(hours=20):
        lookback = int(np.clip(math.ceil(pd.Timedelta(days=2) / usual), *_SUB_DAILY))
        span = _duration(usual * lookback)
        return _if_regular(
            near,
            f"every {_duration(usual)}",
            lookback,
            f"rows every {_duration(usual)}, so {lookback}: {span} (two days' worth, kept within 8 to 96 rows)",
            _duration(usual),
        )
    return _if_regular(
        near,
        f"every {_duration(usual)}",
        DEFAULT_LOOKBACK,
        f"rows every {_duration(usual)}, no usual calendar step, so {DEFAULT_LOOKBACK}",
        _duration(usual),
    )


def _number_frequency(values: np.ndarray, steps: np.ndarray) -> Frequency:
    usual = float(np.median(steps))
    years = np.all(np.mod(values, 1) == 0) and values.min() >= 1000 and values.max() <= 3000 and usual == 1
    if years:  # whole numbers from 1000 to 3000, one apart: years
        return _if_regular(
            float(np.mean(steps == 1)),
            "yearly",
            10,
            "yearly rows (the time column holds years), so 10: ten years",
            "1 year",
        )
    near = float(np.mean(np.abs(steps - usual) <= abs(usual) * 0.1))
    return _if_regular(
        near,
        f"every {usual:g}",
        DEFAULT_LOOKBACK,
        f"the time column holds numbers, not dates: no calendar to size the lookback by, so {DEFAULT_LOOKBACK}",
        f"{usual:g}",
    )


def _if_regular(share: float, name: str, lookback: int, rule: str, usual: str) -> Frequency:
    if share >= _REGULAR_SHARE:
        return Frequency(name, lookback, rule)
    return Frequency(
        "irregular",
        DEFAULT_LOOKBACK,
        f"irregular steps (usual {usual}, but only {share:.0%} of steps near it), so {DEFAULT_LOOKBACK}: "
        "a lookback counts rows, not time; resampling to a regular step reads the series better",
    )


def _duration(step: pd.Timedelta) -> str:
    """'15 minutes', '1 day', '2.3 days': the largest unit the step holds, to two figures."""
    seconds = step.total_seconds()
    unit, size = next(
        ((u, n) for u, n in (("day", 86400), ("hour", 3600), ("minute", 60)) if seconds >= n), ("second", 1)
    )
    count = float(f"{seconds / size:.2g}") if seconds % size else int(seconds // size)
    return f"{count:g} {unit}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class SeriesPlan:
    """The forecast window `init` writes: the frequency's lookback, shortened to fit the data if need be."""

    frequency: Frequency
    lookback: int | None  # None: too few rows for even one window per part
    rows: int  # rows the forecast keeps: one per time stamp, with a target
    test_windows: int  # windows the test part holds at `lookback`
    transform: str  # log_return when every input is positive, else diff


def _plan_series(table: _Table) -> SeriesPlan:
    """The window and transform a forecast of the table's target would use; lookback None when none fits."""
    frame, target, time = table.frame, table.target, table.time
    frequency = (
        series_frequency(frame[time])
        if time
        else Frequency("unknown", DEFAULT_LOOKBACK, f"no --time, rows are read in file order, so {DEFAULT_LOOKBACK}")
    )
    kept = frame[frame[target].notna()]
    rows = int(kept[time].nunique()) if time else len(kept)
    lookback, windows = _fit_lookback(rows, frequency.lookback)
    # the columns a forecast reads, as the run picks them: the target and the numeric inputs
    inputs = [target] + [
        c for c in frame.columns if c not in (target, time) and table.kinds.get(c) in ("numeric", "boolean")
    ]
    return SeriesPlan(frequency, lookback, rows, windows, _transform(frame[inputs], table.decimal))


def _fit_lookback(rows: int, preferred: int) -> tuple[int | None, int]:
    """(lookback, test windows): the longest lookback from `preferred` down to its quarter whose test
    part holds MIN_TEST_ROWS windows (the gate's minimum). A series too short for that is too short to
    judge whatever the window; shortening further would only starve the model, so it gets the quarter,
    or less when every part needs it to hold a window. (None, 0) when even 1 leaves a part without one."""
    shortest = _shortest(preferred)
    for lookback in range(preferred, shortest - 1, -1):
        test, fewest = _windows(rows, lookback)
        if test >= MIN_TEST_ROWS and fewest >= 1:
            return lookback, test
    for lookback in range(shortest, 0, -1):
        test, fewest = _windows(rows, lookback)
        if fewest >= 1:
            return lookback, test
    return None, 0


def _shortest(preferred: int) -> int:
    """The shortest lookback `init` shortens to for the gate: a quarter of the frequency's (daily 28: a week)."""
    return max(1, preferred // 4)


def _windows(rows: int, lookback: int) -> tuple[int, int]:
    """(windows in the test part, windows in the smallest part) of `rows` split as the run splits them."""
    # time-ordered, the fractions `init` writes, a gap of lookback + horizon at each boundary; a
    # differenced part spends its first row, so a window of horizon 1 needs lookback + 2 rows
    try:
        parts = split(rows, method="time", train=0.7, val=0.15, test=0.15, gap=lookback + 1)
    except LayerwiseError:
        return 0, 0
    fewest = min(len(parts.train), len(parts.val), len(parts.test))
    return len(parts.test) - lookback - 1, fewest - lookback - 1


def _rows_for_one() -> int:
    """The fewest rows a forecast with lookback 1 can be split into."""
    return next(n for n in range(3, 10_000) if _windows(n, 1)[1] >= 1)


def _transform(inputs: pd.DataFrame, decimal: str) -> str:
    # log_return applies to every input column and needs positive values; diff takes any
    for name in inputs.columns:
        if (_numbers(inputs[name], decimal).dropna() <= 0).any():
            return "diff"
    return "log_return"


# --- free-text columns: which, why, and the tokens that suit them ------------------------------

# The task.types whose runs read text columns with a text encoder (a forecast drops them).
_READS_TEXT = ("classification", "regression")
# What the text pre-tokenizer splits on: runs of word characters, and each punctuation mark.
_WORD_OR_MARK = r"\w+|[^\w\s]"
# BPE cuts a rare word into pieces: on real descriptions and reviews, the 95th percentile of BPE
# tokens per text is 1.1 to 1.2 times that of words and marks; this leaves room for it.
_PIECES = 1.25
# data.text.max_tokens is rounded up to one of these (the run's length is the longest training text
# within it, so a generous value costs nothing); 256 is the config's default and the cap.
_ROUND_TOKENS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256)
# Texts whose median holds fewer words than this are not split by spaces (Chinese, Japanese, codes):
# they are read one character at a time.
_SPACED_WORDS = 2


@dataclass(frozen=True)
class TextColumn:
    """One column `init` read as free text, and the figures that say why."""

    name: str
    distinct: float  # share of distinct values among the non-missing ones
    words: float  # median words (split at spaces) per text
    chars: float  # median characters per text
    tokens: float  # 95th percentile of tokens per text: words and marks, or characters for `char`

    def why(self) -> str:
        """'free text: 97% distinct, median 12 words' (characters when there are few words)."""
        size = f"median {self.words:g} words" if self.words >= _SPACED_WORDS else f"median {self.chars:g} characters"
        return f"free text: {self.distinct:.0%} distinct, {size}"


@dataclass(frozen=True)
class TextPlan:
    """The data.text settings `init` writes for a table's free-text columns, and why."""

    columns: list[TextColumn]
    tokenizer: str  # word, or char for text not split by spaces
    max_tokens: int
    words: int  # distinct words (characters for `char`) seen at least twice, over every text column

    def tokenizer_note(self) -> str:
        if self.tokenizer == "char":
            return "the texts are not split by spaces (median under 2 words): one token per character"
        return (
            "words and punctuation marks, as TF-IDF counts them; bpe splits words unseen in training into "
            "known pieces instead of reading them as unknown"
        )

    def max_tokens_note(self) -> str:
        unit = "characters" if self.tokenizer == "char" else "words and marks"
        longest = max(c.tokens for c in self.columns)
        if self.max_tokens == _ROUND_TOKENS[-1] and longest * self._factor > _ROUND_TOKENS[-1]:
            return f"95% of texts hold up to {longest:g} {unit}; capped at {self.max_tokens}, longer texts are cut"
        room = f" x {_PIECES} for sub-word pieces" if self._factor != 1 else ""
        return f"95% of texts hold up to {longest:g} {unit}{room}; longer texts are cut"

    def vocab_note(self) -> str:
        unit = "characters" if self.tokenizer == "char" else "words"
        return (
            f"a cap ({self.words} distinct {unit} occur at least twice); "
            "the vocabulary stops growing where tokens are rarer than min_frequency"
        )

    @property
    def _factor(self) -> float:
        return _PIECES if self.tokenizer in ("bpe", "wordpiece") else 1.0


def plan_text(frame: pd.DataFrame, kinds: dict[str, str]) -> TextPlan | None:
    """The text settings for the columns `infer_kinds` read as free text; None when there are none."""
    names = [c for c, kind in kinds.items() if kind == TEXT]
    if not names:
        return None
    columns, counts = [], pd.Series(dtype="int64")
    texts = {name: frame[name].dropna().astype(str) for name in names}
    char = all(t.str.split().map(len).median() < _SPACED_WORDS for t in texts.values())
    for name, values in texts.items():
        words = values.str.findall(_WORD_OR_MARK)
        tokens = values.str.len() if char else words.map(len)
        columns.append(
            TextColumn(
                str(name),
                distinct=values.nunique() / max(len(values), 1),
                words=float(values.str.split().map(len).median()),
                chars=float(values.str.len().median()),
                tokens=float(np.ceil(tokens.quantile(0.95))),
            )
        )
        pieces = values.map(list) if char else words  # what the vocabulary counts: characters or words
        counts = counts.add(pieces.explode().dropna().str.lower().value_counts(), fill_value=0)
    wanted = max(c.tokens for c in columns)  # words and marks, or characters: one token each
    max_tokens = next((n for n in _ROUND_TOKENS if n >= wanted), _ROUND_TOKENS[-1])
    return TextPlan(columns, "char" if char else "word", max_tokens, int((counts >= 2).sum()))


# --- the sections each kind writes: rows to classify or regress, a forecast, images, text -------


@dataclass(frozen=True)
class _Table:
    """What `init` read from a table, the same whichever task.type it writes."""

    frame: pd.DataFrame
    kinds: dict[str, str]  # column -> inferred kind
    data: str | Path
    out: str | Path
    target: str
    time: str | None
    delimiter: str
    decimal: str
    why: str  # why this task.type, for the header
    reading: Reading | None  # with --time: how the table reads, one series or rows
    chosen: bool  # the task.type came from --task
    text: TextPlan | None = None  # the free-text columns a classification or regression reads


@dataclass(frozen=True)
class _Rows:
    """Rows to classify or regress one by one: split by time when there is a time column, else by `method`."""

    type: str
    method: str  # stratified keeps each class's share in every part; random for numbers

    def write(self, table: _Table) -> str:
        method = "time" if table.time else self.method
        why = ""
        if method == "stratified":  # each class's share in every part needs two rows of it at least
            counts = table.frame[table.target].dropna().astype(str).value_counts()
            single = list(counts.index[counts < 2])
            if single:
                classes = "1 class" if len(single) == 1 else f"{len(single)} classes"
                method, why = "random", f"# random: {classes} with one row cannot be stratified"
        rows = len(table.frame)
        if rows < SMALL_TABLE:
            # a larger validation and test share: early stopping and the intervals need rows to stand on
            split = (
                f"  split: {{method: {method}, train: 0.6, val: 0.2, test: 0.2}}   "
                f"{why or f'# {rows} rows: a fifth each to validate and to test'}"
            )
        else:
            split = f"  split: {{method: {method}, train: 0.7, val: 0.15, test: 0.15}}   {why}".rstrip()
        return _render(
            table,
            self.type,
            comments=self.comments(table),
            split=[split],
            normalize=_AUTO_SCALING,
            model=_table_recipe(self.type, rows),
        )

    def comments(self, table: _Table) -> list[str]:
        """Comment lines between the header and the column kinds."""
        return []


class _Regression(_Rows):
    """A regression of a dated table with other inputs says so, and how to forecast it instead."""

    def comments(self, table: _Table) -> list[str]:
        if table.reading is None or not table.reading.inputs:
            return []
        return table.reading.regression_notes(_plan_series(table), chosen=table.chosen)


@dataclass(frozen=True)
class _Forecast:
    """One series forecast from its past: a window and a transform in place of a split of rows."""

    type: str = "forecast"

    def write(self, table: _Table) -> str:
        plan = _plan_series(table)
        if plan.lookback is None:
            raise DataError(
                f"{_printable(str(table.data))}: {plan.rows} rows of {_shown(table.target)} are too few to forecast: "
                "a time-ordered split into train, validation and test with 1 past row per window needs at least "
                f"{_rows_for_one()} rows",
                hint="gather a longer series (one row per time step)",
            )
        reading = table.reading
        notes = reading.forecast_notes(chosen=table.chosen) if reading is not None and reading.inputs else []
        why_transform = (
            "every input is positive"
            if plan.transform == "log_return"
            else "some values are <= 0, which a log return cannot take"
        )
        window = [
            "  split: {method: time, train: 0.7, val: 0.15, test: 0.15}  # gap defaults to lookback + horizon",
            f"  window: {{lookback: {plan.lookback}, horizon: 1, stride: 1}}   "
            f"# {_count(plan.lookback, 'past row')} predict the next one",
            f"  transform: {plan.transform}   # predict the change, not the level ({why_transform}): "
            "none | diff | log_return",
        ]
        return _render(table, self.type, comments=[*notes, *_lookback_notes(plan, plan.lookback)], split=window)


# The kinds a table is written as, by task.type; another name (auto) gets a plain split of rows.
_TABLE_KINDS: dict[str, _Rows | _Forecast] = {
    "classification": _Rows("classification", "stratified"),
    "regression": _Regression("regression", "random"),
    "forecast": _Forecast(),
}


def _render(
    table: _Table,
    task: str,
    *,
    comments: Sequence[str],
    split: Sequence[str],
    normalize: str = "",
    model: Sequence[str] = (),
) -> str:
    """A table's config: the sections every kind shares around its own comments and split lines."""
    frame, target, time = table.frame, table.target, table.time
    rel = os.path.relpath(Path(table.data).resolve(), Path(table.out).resolve().parent)
    columns = [c for c in frame.columns if c not in (target, time)]
    text = table.text if task in _READS_TEXT else None
    why = {c.name: c.why() for c in text.columns} if text is not None else {}
    # each line reads as YAML `name: kind` (a text column's reason is a YAML comment after it),
    # so a name shows exactly as a key would hold it
    kind_lines = "\n".join(
        f"#   {_quote(str(c))}: {table.kinds.get(c, '?')}" + (f"   # {why[str(c)]}" if str(c) in why else "")
        for c in columns
    )
    dropped = (
        "id-like and constant columns are dropped by cleaning; text columns are read by a text encoder"
        if text is not None
        else "id-like, constant and free-text columns are dropped by cleaning"
    )
    lines = [
        f"# layerwise experiment: {task} of {_shown(target)} from {_printable(Path(table.data).name)} "
        f"({len(frame)} rows).",
        f"# Task: {task} ({table.why}). Run it with: layerwise run {_printable(Path(table.out).name)}",
        *comments,
        f"# Column kinds as inferred ({dropped}):",
        kind_lines,
        "",
        "data:",
        f"  path: {_quote(rel)}",
        f"  target: {_quote(target)}",
    ]
    if time:
        lines.append(f"  time: {_quote(time)}        # rows are ordered by this column; splits never shuffle time")
    if table.delimiter != ",":
        lines.append(f"  delimiter: {_quote(table.delimiter)}")
    if table.decimal != ".":
        lines.append(f"  decimal: {_quote(table.decimal)}            # numbers are written 1.234,5: a decimal comma")
    lines += split
    lines += [
        normalize or _STANDARD_SCALING,
        *(_text_lines(text) if text is not None else []),
        "",
        "task:",
        f"  type: {task}",
        "",
        *(_TEXT_MODEL if text is not None else model or _FORECAST_MODEL),
    ]
    return "\n".join(lines)


_KINDS = ("numeric", "categorical", "boolean", "datetime", "text")  # data.columns' kinds


def _text_lines(text: TextPlan) -> list[str]:
    """data.columns naming every text column, and data.text sized from the texts."""
    return [
        _commented("  columns:", f"a column's kind, overriding inference: {' | '.join(_KINDS)}"),
        *(f"    {_quote(c.name)}: text" for c in text.columns),
        _commented("  text:", "how text columns become token ids, fitted on the training split only"),
        _commented(f"    tokenizer: {text.tokenizer}", f"bpe | wordpiece | word | char: {text.tokenizer_note()}"),
        _commented("    vocab_size: 16000", text.vocab_note()),
        _commented("    min_frequency: 2", "fewest training occurrences a token needs"),
        "    lowercase: true",
        _commented(f"    max_tokens: {text.max_tokens}", text.max_tokens_note()),
    ]


def _commented(line: str, comment: str) -> str:
    """`line` with its comment starting at column 27, as the other settings' comments do."""
    return f"{line:<26} # {comment}"


SMALL_TABLE = 500  # rows below which `init` splits 60/20/20 instead of 70/15/15
# The table recipe's budget: about this many optimizer updates in all, in batches of a size
# that grows with the training rows (a step's cost is mostly fixed on a CPU), within bounds.
TABLE_UPDATES = 2500
TABLE_BATCH = (32, 256)
TABLE_EPOCHS = (30, 300)
# Members (TabM-style) below this many training rows, one network from there: on the suite
# (benchmarks/tabular_suite.py) 8 members helped on small noisy tables (Boston housing, diabetes,
# Vehicle: 3 seeds) and not measurably on 4,500+ training rows (Satellite, nlschools), where they
# cost 3x the time.
MEMBERS_BELOW = 5000


# Periodic numeric embeddings from this many training rows, plain scaled numbers below. On the
# suite (3 seeds, the same splits) embeddings cost 9 points on Sonar (125 training rows, 60
# columns: about 260 parameters a column) and 1 on Vehicle (507), tied on the other classification
# tables under 2,000 training rows, and gained 1.4 on Satellite (4,500) and 1.8 on LetterRecognition
# (13,000). Regression, mean test RMSE: cpus 60.4 with them, 57.3 without; diabetes 57.2, 55.8;
# BostonHousing 3.66, 3.66; Ozone 3.79, 3.91 (the one small table they helped); nlschools
# (1,600) 6.66, 6.64 (2 seeds).
EMBED_FROM = 1000


def _embedding_line(train: int) -> str:
    if train >= EMBED_FROM:
        return _commented("  numeric_embedding: periodic", "periodic | piecewise | none: a number as a vector")
    return _commented(
        "  numeric_embedding: none", f"{train} training rows: embeddings overfit; periodic from {EMBED_FROM}"
    )


def _members_line(train: int) -> str:
    if train < MEMBERS_BELOW:
        return _commented("  members: 8", "predictions of one network with 8 light adapters, averaged")
    return _commented("  members: 1", f"one network: {train} training rows; 8 members cost 3x the time")


def table_budget(rows: int, train_share: float) -> tuple[int, int, int]:
    """(batch_size, epochs, patience) for a table of `rows` rows, `train_share` of them trained on."""
    train = max(int(rows * train_share), 1)
    low, high = TABLE_BATCH
    batch = int(min(max(2 ** round(math.log2(max(train / 64, 1))), low), high))
    epochs = int(min(max(TABLE_UPDATES // math.ceil(train / batch), TABLE_EPOCHS[0]), TABLE_EPOCHS[1]))
    return batch, epochs, max(epochs // 4, 10)


_STANDARD_SCALING = "  normalize: standard      # standard | minmax | robust | none (fitted on the training split only)"
_AUTO_SCALING = _commented(
    "  normalize: auto", "auto (quantile or robust per column) | standard | minmax | robust | none; fitted on train"
)


# Early stopping on the validation loss for classes too: ranking epochs by validation accuracy
# (train.stop_on: metric, the loss breaking ties) measured no better on the suite's small
# classification tables (3 seeds, mean accuracy over 5 tables: 0.797 by the loss, 0.792 by
# accuracy; 0.816 and 0.817 without numeric embeddings) and worse on Satellite (0.920 by the
# loss, 0.914 by accuracy): accuracy moves in steps, the loss sees every row's confidence.


def _table_recipe(task: str, rows: int) -> list[str]:
    """The model and train sections of rows to classify or regress: the table recipe, sized to the rows."""
    share = 0.6 if rows < SMALL_TABLE else 0.7
    batch, epochs, patience = table_budget(rows, share)
    train = max(int(rows * share), 1)
    smoothing = _SMOOTHING.get(task, [])
    return [
        "model:",
        _commented("  type: tabular", "the table recipe (the guide's tables page); mlp for a plain network"),
        _commented("  hidden: [128, 128]", "widths of the hidden layers the members share"),
        _members_line(train),
        _embedding_line(train),
        _commented("  embedding: 8", f"width of each {'numeric and ' * (train >= EMBED_FROM)}category column's vector"),
        "  dropout: 0.1",
        "",
        "train:",
        "  optimizer: adamw         # sgd | adam | adamw | rmsprop",
        "  lr: 0.002",
        _commented(f"  batch_size: {batch}", f"scaled to the {train} training rows"),
        _commented(f"  epochs: {epochs}", f"about {TABLE_UPDATES} updates in all"),
        _commented(f"  patience: {patience}", "early stopping; the best epoch's weights restored"),
        _commented("  stop_on: loss", "loss | metric: rank epochs by validation loss or by train.metric"),
        _commented("  schedule: {type: flat_cosine, flat: 0.5}", "the lr held for half the epochs, then cosine"),
        "  weight_decay: 0.0003",
        *smoothing,
        "  seed: 0",
        "",
    ]


# Classes only: a share of each target spread over the other classes.
_SMOOTHING = {
    "classification": [_commented("  label_smoothing: 0.1", "0.1 of each target spread over the other classes")]
}
# The model and train sections of a forecast: an MLP over the window, trained to convergence.
_FORECAST_MODEL = [
    "model:",
    "  type: mlp",
    "  hidden: [128, 64]        # widths of the hidden layers; add entries for depth",
    "  activation: relu         # relu | leaky_relu | elu | gelu | silu | tanh | sigmoid",
    "  dropout: 0.1",
    "  init: auto               # He for the ReLU family, Xavier for tanh/sigmoid",
    "",
    "train:",
    "  optimizer: adamw         # sgd | adam | adamw | rmsprop",
    "  lr: 0.001",
    "  batch_size: 64",
    "  epochs: 200",
    "  patience: 20             # early stopping on validation loss; best weights restored",
    "  weight_decay: 0.0001",
    "  seed: 0",
    "",
]
# With text columns: the bag of embeddings, the fast and strong text baseline. An embedding table
# learns in few epochs and overfits soon after, hence the higher lr, fewer epochs, short patience.
# 3,000 Debian package descriptions (tests/fixtures) take about a second an epoch on 2 CPU cores
# and stop early near epoch 13; 10,000 short texts, about a minute in all.
_TEXT_MODEL = [
    "model:",
    "  type: text_bag           # text_bag | text_cnn | text_gru | text_lstm | text_transformer: the guide's text page",
    "  embedding: 64            # width of each token's vector",
    "  readout: mean            # mean | max of a text's token vectors",
    "  hidden: [64]             # dense layers over the pooled texts and the other columns",
    "  activation: relu",
    "  dropout: 0.3             # token embeddings are most of the weights, each seen by few rows",
    "  init: auto               # He for the ReLU family",
    "",
    "train:",
    "  optimizer: adamw         # sgd | adam | adamw | rmsprop",
    "  lr: 0.003",
    "  batch_size: 64",
    "  epochs: 20",
    "  patience: 3              # early stopping on validation loss; best weights restored",
    "  weight_decay: 0.0001",
    "  seed: 0",
    "",
]


def _lookback_notes(plan: SeriesPlan, lookback: int) -> list[str]:
    """Why the window's lookback is what it is: the frequency rule, and any shortening to fit the rows."""
    lines = [f"# Lookback: {plan.frequency.rule}.", f"#   The rule: {LOOKBACK_RULE}."]
    preferred = plan.frequency.lookback
    shortest = _shortest(preferred)
    if plan.test_windows >= MIN_TEST_ROWS and lookback < preferred:
        lines.append(
            f"#   Shortened from {preferred} to {lookback}, so that the test part of these {plan.rows} "
            f"rows holds {MIN_TEST_ROWS} windows (the deploy gate's minimum); never below {shortest}."
        )
    elif plan.test_windows < MIN_TEST_ROWS:
        which = (
            f"{shortest}, a quarter of {preferred}"
            if lookback == shortest
            else f"{lookback}, the longest that leaves every part a window"
        )
        lines.append(
            f"#   Too short to judge: at lookback {which}, the test part of these {plan.rows} rows holds "
            f"{_count(plan.test_windows, 'window')}, and the deploy gate needs {MIN_TEST_ROWS}. "
            "A longer series gives a verdict."
        )
    return lines


def _render_generation(data, out) -> str:
    examples = read_examples(data)
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    longest = max(len(e) for e in examples)
    return "\n".join(
        [
            f"# layerwise experiment: generate text like the {len(examples)} lines of {_printable(Path(data).name)} "
            f"(longest {longest} characters).",
            f"# Run it with: layerwise run {_printable(Path(out).name)} --out runs/gen; "
            "then layerwise generate runs/gen/bundle",
            "# Judged against a bigram baseline (each character from the one before) on held-out lines.",
            "",
            "data:",
            f"  path: {_quote(rel)}",
            "  text: {mode: lines}        # lines: one example per line; chunks: running text cut every `chunk` chars",
            "  split: {method: random, train: 0.8, val: 0.1, test: 0.1}",
            "",
            "task:",
            "  type: generation",
            "",
            "model:",
            "  type: lstm                 # lstm | gru | transformer (causal)",
            "  hidden: [128]",
            "  embedding: 32              # width of the character embedding",
            "  dropout: 0.1",
            "",
            "train:",
            "  optimizer: adamw",
            "  lr: 0.003",
            "  batch_size: 64",
            "  epochs: 40",
            "  patience: 5",
            "  seed: 0",
            "",
        ]
    )


def image_stages(h: int, w: int) -> list[int]:
    """The conv stages `init` writes for images of h x w: one more per doubling of the smaller side
    from 4 pixels (each stage halves it), at most three, widths 32, 64, 128."""
    side = min(h, w)
    count = 1 if side < 8 else 2 if side < 16 else 3
    return [32, 64, 128][:count]


def _render_images(data, out) -> str:
    listing = list_image_folder(data)
    headers, bad = read_headers(listing.paths)  # headers only: a folder of any size is surveyed in seconds
    mode, (h, w) = header_choice(headers)
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    readable = [label for p, label in zip(listing.paths, listing.labels) if p in headers]
    classes = sorted(set(readable), key=str)
    silent = sorted(set(listing.classes) - set(classes))
    if silent:
        raise DataError(
            f"{listing.where[silent[0]]}: class folder '{silent[0]}' holds no readable image",
            hint="replace its corrupt files, or remove the folder",
        )
    skipped = len(bad)
    channels = image_stages(h, w)
    shown = ", ".join(_printable(str(c)) for c in classes[:10]) + (" ..." if len(classes) > 10 else "")
    return "\n".join(
        [
            f"# layerwise experiment: classify the {len(readable)} images of {_printable(Path(data).name)} into "
            f"{len(classes)} classes ({shown}).",
            f"# Most common size {h}x{w}, {mode}" + (f"; {skipped} unreadable file(s) skipped." if skipped else "."),
            f"# Run it with: layerwise run {_printable(Path(out).name)} --out runs/images; "
            "then layerwise predict runs/images/bundle FOLDER",
            "# Judged against the majority class on a stratified test split.",
            "",
            "data:",
            f"  path: {_quote(rel)}",
            f"  image: {{size: [{h}, {w}], mode: {mode}, max_corrupt: 0.05}}   # every image is resized to size",
            "  split: {method: stratified, train: 0.7, val: 0.15, test: 0.15}",
            "  normalize: standard      # per channel, fitted on the training split only: standard | minmax | none",
            "  # Training batches only, new draws every epoch: moved by up to a tenth of the image and turned by up",
            "  # to 10 degrees. Add flip: horizontal where a mirror image is the same class (photos; not digits).",
            "  augment: {shift: 0.1, rotate: 10}",
            "",
            "task:",
            "  type: classification",
            "",
            "model:",
            "  type: cnn2d",
            f"  channels: {channels}   # one stage per entry, each a residual block (two 3x3 convs with batch norm)",
            "  residual: true           # that halves height and width; a stage more per doubling of the image side",
            "  kernel_size: 3",
            "  dropout: 0.2             # before the head",
            "  init: auto               # He for the ReLU family",
            "",
            "train:",
            "  optimizer: adamw",
            "  lr: 0.003",
            "  weight_decay: 0.0005",
            "  batch_size: 64",
            f"  epochs: {IMAGE_EPOCHS}",
            "  schedule: {type: cosine, warmup: 1}   # one epoch of warm-up, then the rate falls to zero by the last",
            "  label_smoothing: 0.1     # targets of 0.9 and 0.1/classes: less overconfident, better calibrated",
            "  patience: 10             # early stopping on validation loss; best weights restored",
            "  seed: 0",
            "",
        ]
    )


IMAGE_EPOCHS = 25  # the image recipe's budget; benchmarks/image_defaults.py measured it


@dataclass(frozen=True)
class _WholeFile:
    """A kind written from the whole file or folder, with no column to predict."""

    type: str  # the task.type it writes
    render: Callable[[str | Path, str | Path], str]  # (data, out) -> the config's text


_GENERATION = _WholeFile("generation", _render_generation)
_IMAGES = _WholeFile("classification", _render_images)  # chosen by the data's shape, a folder of class folders
# The kinds --task chooses whatever the file is: generation reads any file as lines of text.
_WHOLE_FILE: dict[str, _WholeFile] = {_GENERATION.type: _GENERATION}


# Written bare only when YAML cannot read it as anything else: word characters, dots, slashes, dashes.
_BARE = re.compile(r"[\w./-]+")


def _quote(name: str) -> str:
    """`name` as a YAML scalar that reads back as exactly `name`, on one line."""
    if _BARE.fullmatch(name) and name.isprintable() and _reads_as(name) == name and not _number(name):
        return name
    # A JSON string is a YAML double-quoted scalar; JSON leaves some line breaks YAML knows
    # (U+0085, U+2028) and characters YAML refuses (DEL, C1 controls) raw: those are escaped too.
    return _printable(json.dumps(name, ensure_ascii=False))


def _reads_as(text: str) -> object:
    try:
        return yaml.safe_load(text)  # `true`, `null`, `12`, `...`, `-` read as other things
    except yaml.YAMLError:
        return None


def _number(text: str) -> bool:
    # `1e3` is a string to PyYAML but a number to YAML 1.2 readers (and to a person)
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shown(name: str) -> str:
    """A name inside a comment sentence: 'name', or its escaped YAML form when it has unprintable characters."""
    return f"'{name}'" if name.isprintable() else _quote(name)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _printable(text: str) -> str:
    """`text` with every unprintable character (line breaks, controls, odd spaces) as a YAML escape."""
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
