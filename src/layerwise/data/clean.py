"""Clean a table before it is split: bad types, inf, missing targets, duplicates, useless columns.

Every change is written to a CleaningLog. Nothing here is fitted: imputation and scaling learn
from the training split only (transforms.py), so they cannot happen before the split.

Row numbers in messages are "data rows": 1 is the first row under the header, which is line 2
of a CSV file with one header line.

Classes with a single row are logged (rule "rare_class"), not refused: a random split can use
them, and a stratified split refuses them itself, naming the class (split.py).

Numbers written as text ("1,234", "2228,66" with decimal ",", "unknown") are read by
kinds.parse_numbers, the rule the bundle applies again at prediction. A number too large for
the network's float32 arithmetic, even once scaled, is refused here, naming its row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, did_you_mean
from .cleaning_log import CleaningLog
from .kinds import (
    DECIMALS,
    PARSE_SHARE,
    infer_kinds,
    looks_measured,
    parse_dates,
    parse_numbers,
    share_numeric,
)
from .scaling import FLOAT32_SAFE
from .transforms import as_text

TASKS = ("classification", "regression", "forecast")
# Kinds a kept feature column may have once clean() is done.
FEATURE_KINDS = ("numeric", "categorical", "boolean", "datetime", "text")
# Kinds a user may declare for a column (data.columns), overriding inference.
DECLARABLE = FEATURE_KINDS
EXAMPLES = 3


@dataclass
class CleanOptions:
    """Which rules to apply; the field names are the config keys `data.clean.*`."""

    drop_missing_target: bool = True
    coerce_numeric: bool = True
    inf_to_missing: bool = True
    drop_duplicates: bool = True
    drop_constant: bool = True
    drop_id: bool = True
    drop_text: bool = True  # drop free text not declared in `declared` (a forecast drops it always)


def clean(
    df: pd.DataFrame,
    *,
    target: str,
    task: str,
    time: str | None = None,
    features: list[str] | None = None,
    options: CleanOptions | None = None,
    source: str = "data",
    decimal: str = ".",
    declared: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str], CleaningLog]:
    """Return (cleaned frame, kinds of the kept feature columns, log).

    The frame has a fresh index and the columns: kept features, then target, then time.
    For forecasting, `features` may include the target (its own history as an input).
    `decimal` is the decimal mark of numbers written as text (data.decimal). `declared` maps
    feature columns to the kind the user gave them (data.columns): inference does not decide
    those, and the id and text rules do not drop them.
    """
    options = options or CleanOptions()
    if task not in TASKS:
        raise ConfigError(f"task: unknown task '{task}'{did_you_mean(task, TASKS)}; choose one of {TASKS}")
    if decimal not in DECIMALS:
        raise ConfigError(f"data.decimal: {decimal!r} is not a decimal mark; choose '.' or ','")
    features = _choose_columns(df, target, task, time, features, source)
    declared = _check_declared(declared or {}, features, target, time)
    keep = list(dict.fromkeys([*features, target] + ([time] if time else [])))
    frame = df[keep].reset_index(drop=True)
    rows = np.arange(len(frame))  # original positions, for messages after rows are dropped
    log = CleaningLog(rows_in=len(frame))
    if frame[target].isna().all():
        raise DataError(
            f"{source}: the target column '{target}' is empty (every value is missing)",
            hint="choose another target column, or fill in its values",
        )
    inputs = [c for c in features if c != target]
    frame = _as_text(frame, [c for c, kind in declared.items() if kind in ("text", "categorical")])
    frame = _coerce_numbers(frame, inputs, options, log, decimal, declared)
    frame = _coerce_target(frame, target, task, source, decimal)
    if options.inf_to_missing:
        frame = _inf_to_missing(frame, log)
    frame, rows = _drop_missing_target(frame, rows, target, options, log, source)
    if time:
        frame[time] = _parse_time(frame[time], rows, time, source)
    if options.drop_duplicates:
        frame, rows = _drop_duplicates(frame, rows, task, time, log)
    kinds = _drop_useless_columns(frame, features, target, task, time, options, log, source, decimal, declared)
    numeric = [c for c, kind in kinds.items() if kind == "numeric"] + ([target] if task != "classification" else [])
    _check_magnitudes(frame, rows, numeric, source)
    frame = frame[[c for c in keep if c in kinds or c in (target, time)]]
    frame = _parse_datetime_features(frame, kinds, log)
    if time:
        frame = _sort_by_time(frame, time, log)
        _note_gaps(frame[time], time, log)
    if task == "classification":
        _check_classes(frame[target], target, log, source)
    log.rows_out = len(frame)
    return frame.reset_index(drop=True), kinds, log


def _choose_columns(df, target, task, time, features, source) -> list[str]:
    columns = [str(c) for c in df.columns]
    named = {"data.target": [target], "data.time": [time] if time else [], "data.features": features or []}
    for key, names in named.items():
        for name in names:
            if name not in columns:
                raise DataError(
                    f"{source}: {key} names column '{name}', which is not in the data{did_you_mean(name, columns)}",
                    hint=f"the columns are: {', '.join(columns)}",
                )
    if features is None:
        return [c for c in columns if c not in (target, time)]
    if target in features and task != "forecast":
        raise ConfigError(
            f"data.features: includes the target '{target}'; a model cannot take its answer as input",
            hint=f"remove '{target}' from data.features",
        )
    return [c for c in features if c != time]


def _where(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:EXAMPLES])
    more = f" and {len(rows) - EXAMPLES} more" if len(rows) > EXAMPLES else ""
    return f"data row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _examples(values) -> str:
    unique = list(dict.fromkeys(str(v) for v in values))
    shown = ", ".join(repr(v) for v in unique[:EXAMPLES])
    return shown + (", …" if len(unique) > EXAMPLES else "")


def _check_declared(declared: dict[str, str], features: list[str], target: str, time: str | None) -> dict[str, str]:
    """data.columns against the chosen columns: every problem at once, else the declared kinds of the features."""
    problems = []
    for name, kind in declared.items():
        if kind not in DECLARABLE:
            problems.append(
                f"data.columns.{name}: unknown kind {kind!r}{did_you_mean(str(kind), DECLARABLE)}; "
                f"choose one of {', '.join(DECLARABLE)}"
            )
        elif name in (target, time):
            what = "the target" if name == target else "the time column"
            problems.append(f"data.columns.{name}: is {what}, not an input; remove it from data.columns")
        elif name not in features:
            problems.append(
                f"data.columns.{name}: not an input column{did_you_mean(name, features)}; "
                f"the inputs are {', '.join(features)}"
            )
    if problems:
        raise ConfigError(
            problems, hint="data.columns maps input columns to numeric, categorical, boolean, datetime or text"
        )
    return dict(declared)


def _as_text(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns declared text or categorical read as strings, even where every value is a number
    (3.0 read from a CSV column of whole numbers is the text "3", as the file wrote it)."""
    for name in columns:
        frame[name] = as_text(frame[name])
    return frame


def _coerce_numbers(frame, columns, options, log, decimal, declared) -> pd.DataFrame:
    kinds = {**infer_kinds(frame[columns], decimal=decimal), **{c: declared[c] for c in columns if c in declared}}
    if not options.coerce_numeric:
        # a column declared numeric is read as numbers whatever the rule says
        kinds = {c: k for c, k in kinds.items() if c in declared}
    for name in columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or name not in kinds:
            continue
        if kinds[name] != "numeric":
            if name not in declared:
                _note_other_decimal(column, name, kinds[name], decimal, log)
            continue
        numbers = parse_numbers(column, decimal)
        frame[name] = numbers
        log.add("coerce_numeric", name, *_coercion(column, numbers))
    return frame


def _coercion(column: pd.Series, numbers: pd.Series) -> tuple[int, str]:
    """(count, detail) of one column read as numbers: what was lost, and how text was read."""
    failed = column.notna() & numbers.isna()
    read = column.notna() & numbers.notna()
    text = column[read].astype(str).str.strip()
    # values the plain reading would get wrong or miss: thousands separators, decimal commas
    ruled = (pd.to_numeric(text, errors="coerce") != numbers[read]).to_numpy()
    parts = []
    if ruled.any():
        example = int(np.flatnonzero(ruled)[0])
        parts.append(
            f"{int(ruled.sum())} numbers written with thousands separators or a decimal comma read as "
            f"numbers (e.g. {text.iloc[example]!r} -> {numbers[read].iloc[example]:.15g})"
        )
    if failed.any():
        count = int(failed.sum())
        parts.append(
            f"{count} non-numeric value{'s' if count > 1 else ''} ({_examples(column[failed])}) coerced to missing"
        )
    # The count is what was lost: values that became missing (or, if none, those converted).
    count = int(failed.sum()) if failed.any() else int(column.notna().sum())
    return count, "; ".join(parts) or "numbers stored as text converted to numbers"


def _note_other_decimal(column, name, kind, decimal, log) -> None:
    # "2228,66" under data.decimal "." is not a number: say which setting would read it as one.
    other = "," if decimal == "." else "."
    text = column.dropna().astype(str)
    if share_numeric(text, other) < PARSE_SHARE:
        return
    log.add(
        "decimal_mark",
        name,
        len(text),
        f"warning: kept as {kind}, but its values read as numbers with the decimal mark '{other}' "
        f"(e.g. {_examples(text)}); set data.decimal: '{other}' to read them as numbers",
    )


def _coerce_target(frame, target, task, source, decimal) -> pd.DataFrame:
    column = frame[target]
    if task == "classification" or pd.api.types.is_numeric_dtype(column):
        return frame
    numbers = parse_numbers(column, decimal)
    failed = np.flatnonzero((column.notna() & numbers.isna()).to_numpy())
    if len(failed):
        other = "," if decimal == "." else "."
        mark = (
            f"set data.decimal: '{other}' (the values read as numbers with that decimal mark), or "
            if share_numeric(column.dropna().astype(str), other) >= PARSE_SHARE
            else ""
        )
        raise DataError(
            f"{source}: the {task} target '{target}' must be numbers, but {_where(failed)} "
            f"hold{'s' if len(failed) == 1 else ''} {_examples(column.iloc[failed])}",
            hint=f"{mark}fix or delete those values (an empty cell is dropped as a missing target), "
            "or use task: classification if the target is a label",
        )
    frame[target] = numbers
    return frame


def _inf_to_missing(frame, log) -> pd.DataFrame:
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_float_dtype(column):
            continue
        infinite = np.isinf(column.to_numpy())
        if infinite.any():
            frame[name] = column.mask(infinite)
            log.add("inf_to_missing", name, int(infinite.sum()), f"{int(infinite.sum())} inf values set to missing")
    return frame


def _drop_missing_target(frame, rows, target, options, log, source):
    missing = frame[target].isna().to_numpy()
    if not missing.any():
        return frame, rows
    if not options.drop_missing_target:
        raise DataError(
            f"{source}: the target '{target}' is missing at {_where(np.flatnonzero(missing))}",
            hint="set data.clean.drop_missing_target: true, or fill in those values",
        )
    log.add(
        "drop_missing_target", target, int(missing.sum()), f"{int(missing.sum())} row(s) with a missing target dropped"
    )
    return frame[~missing], rows[~missing]


def _parse_time(column, rows, time, source) -> pd.Series:
    parsed = parse_dates(column) if not pd.api.types.is_numeric_dtype(column) else column
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise DataError(
            f"{source}: the time column '{time}' has values that are not dates at "
            f"{_where(rows[bad])}: {_examples(column.iloc[bad])}",
            hint="write dates as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS), or delete those rows",
        )
    return parsed


def _drop_duplicates(frame, rows, task, time, log):
    if task == "forecast" and time is None:
        return frame, rows  # equal consecutive observations are real data in a series
    by_time = task == "forecast"
    repeated = (frame.duplicated(subset=[time]) if by_time else frame.duplicated()).to_numpy()
    count = int(repeated.sum())
    if count:
        rows_word = "row" if count == 1 else "rows"
        what = f"{rows_word} with a repeated time stamp (the first kept)" if by_time else f"exact duplicate {rows_word}"
        log.add(
            "drop_duplicate_time" if by_time else "drop_duplicates",
            time if by_time else None,
            count,
            f"{count} {what} dropped ({_where(rows[repeated])})",
        )
    return frame[~repeated], rows[~repeated]


def _drop_useless_columns(
    frame, features, target, task, time, options, log, source, decimal, declared
) -> dict[str, str]:
    inputs = [c for c in features if c != time]
    found = infer_kinds(frame[inputs], target=target, decimal=decimal)
    kinds, dropped = {}, []
    for name in inputs:
        kind, why = found[name], None
        if name in declared and kind == "constant" and frame[name].notna().sum() == 0:
            raise DataError(
                f"{source}: column '{name}' is declared {declared[name]} in data.columns, but every value is missing",
                hint=f"fill in '{name}', or remove it from data.columns and list it in data.drop",
            )
        if name in declared:  # the user's word, even for one value repeated (the tokenizer may refuse it)
            kind = declared[name]
        if name != target and task != "forecast" and frame[name].equals(frame[target]):
            why = ("drop_target_copy", "dropped: identical to the target (it would leak the answer)")
        elif kind == "constant" and options.drop_constant and name != target:
            many = frame[name].dropna().nunique()
            why = ("drop_constant", "dropped: every value is missing" if many == 0 else "dropped: one value only")
        elif kind == "id" and options.drop_id:
            why = ("drop_id", f"dropped: an identifier ({_distinct(frame[name])})")
        elif kind == "text" and task == "forecast":
            why = ("drop_text", "dropped: free text, which a forecast does not read")
        elif kind == "text" and options.drop_text and name not in declared:
            why = ("drop_text", "dropped: free text; declare it in data.columns as text to read it")
        if why:
            log.add(why[0], name, len(frame), why[1])
            dropped.append(f"{name} ({why[1].removeprefix('dropped: ')})")
            if why[0] == "drop_id" and looks_measured(frame[name], str(name), decimal):
                _warn_measured_id(frame[name], name, decimal, log)
        elif kind == "numeric" and not pd.api.types.is_numeric_dtype(frame[name]):
            kinds[name] = "categorical"  # numbers left as text (coerce_numeric: false) stay text
        else:
            kinds[name] = kind if kind in FEATURE_KINDS else _fallback_kind(frame[name])
    if not kinds and task != "forecast":  # a forecast can live on the target's own history
        raise DataError(
            f"{source}: no feature column is left after cleaning; dropped: {'; '.join(dropped) or 'none'}",
            hint="add feature columns, list them in data.features, or turn off the data.clean.drop_* rule that "
            "removed them",
        )
    return kinds


def _distinct(column: pd.Series) -> str:
    """How distinct an identifier's values are, in words."""
    unique, rows = int(column.nunique()), len(column)
    if unique == rows:
        return "a different value on every row"
    share = np.floor(1000 * unique / rows) / 10  # rounded down: never "100%" short of every row
    return f"{unique} distinct values in {rows} rows: {share:g}% distinct"


def _warn_measured_id(column, name, decimal, log) -> None:
    # A sorted price list or amounts spoiled by a few words also differ on every row; say so.
    numbers = parse_numbers(column, decimal)
    read, present = int(numbers.notna().sum()), int(column.notna().sum())
    others = column.notna() & numbers.isna()
    fix = (
        f"fix the {present - read} values that are not numbers ({_examples(column[others])}), or "
        if others.any()
        else ""
    )
    log.add(
        "numeric_id",
        name,
        read,
        f"warning: dropped as an identifier, but {read} of {present} values read as numbers that look like "
        f"measurements (e.g. {_examples(column[numbers.notna()])}); if it is a feature, {fix}"
        "set data.clean.drop_id: false",
    )


def _check_magnitudes(frame, rows, columns, source) -> None:
    """Refuse finite numbers too large for float32 arithmetic (inf was set missing already)."""
    for name in columns:
        values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        huge = np.abs(np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)) > FLOAT32_SAFE
        if huge.any():
            where = np.flatnonzero(huge)
            raise DataError(
                f"{source}: column '{name}' holds {_examples(values[where])} at {_where(rows[where])}: beyond "
                f"{FLOAT32_SAFE:g}, too large for the network's float32 arithmetic",
                hint="check those values and their units; rescale the column (e.g. to thousands, or its "
                "logarithm) before training, or delete those rows",
            )


def _fallback_kind(column) -> str:
    # A constant, id or text column the user chose to keep is used as what its values are.
    return "numeric" if pd.api.types.is_numeric_dtype(column) else "categorical"


def _parse_datetime_features(frame, kinds, log) -> pd.DataFrame:
    for name, kind in kinds.items():
        if kind != "datetime" or pd.api.types.is_datetime64_any_dtype(frame[name]):
            continue
        parsed = parse_dates(frame[name])
        failed = frame[name].notna() & parsed.isna()
        if failed.any():
            count = int(failed.sum())
            examples = _examples(frame[name][failed])
            log.add("coerce_datetime", name, count, f"{count} values that are not dates ({examples}) set to missing")
        frame[name] = parsed
    return frame


def _sort_by_time(frame, time, log) -> pd.DataFrame:
    if frame[time].is_monotonic_increasing:
        return frame
    order = np.argsort(frame[time].to_numpy(), kind="stable")
    moved = int((order != np.arange(len(order))).sum())
    log.add("sort_by_time", time, moved, f"rows were not in time order: sorted by '{time}' ({moved} rows moved)")
    return frame.iloc[order]


def _note_gaps(times: pd.Series, time: str, log) -> None:
    steps = times.diff().iloc[1:]
    if steps.empty or (steps <= steps.iloc[0] * 0).any():
        return  # repeated time stamps: not a regular series
    usual = steps.mode().iloc[0]
    holes = steps[steps > usual]
    regular = (steps == usual).mean() >= 0.5
    if not regular or holes.empty:
        return
    missing = int(sum(int(h / usual) - 1 for h in holes))
    log.add(
        "time_gaps",
        time,
        len(holes),
        f"{len(holes)} gaps in an otherwise regular series (step {usual}); {missing} steps are absent and not "
        "filled in",
    )


def _check_classes(labels, target, log, source) -> None:
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"{source}: classification needs at least two classes, but the target '{target}' "
            f"only holds {_examples(counts.index)}",
            hint="check the target column, or use task: regression for a numeric target",
        )
    for label, count in counts[counts < 2].items():
        log.add(
            "rare_class",
            target,
            int(count),
            f"class {label!r} has only {int(count)} row: too few to stratify "
            "(split method auto falls back to random; stratified refuses)",
        )
