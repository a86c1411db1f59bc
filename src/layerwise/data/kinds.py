"""Decide what each column is (numeric, categorical, id, text, ...) and what the target asks for.

The rules favour keeping information: a column is only called "id" or "text" (and later
dropped by clean.py) when the evidence is strong, because dropping a real feature is a silent
loss while keeping a useless one costs little.

Numbers written as text are read by one rule, `parse_numbers`, in training and at prediction
alike: thousands separators in strict groups of three ("1,234", "1 234", "1'234.50"), the
decimal mark of `data.decimal` ("." or ","), and a few words that mean "missing" ("n/a",
"unknown", "-"). Anything else is not a number.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

KINDS = ("numeric", "categorical", "boolean", "datetime", "id", "text", "constant")
TEXT = "text"  # the column kind of free text (a kind of column, not a kind of problem)
# Share of non-missing values that must parse for a text column to count as numbers or dates.
PARSE_SHARE = 0.9
# Below this many rows, "every value is distinct" says nothing about being an identifier.
MIN_ROWS_FOR_ID = 10
# A category column whose distinct values are at least this share of its rows is an identifier
# (names, order numbers, e-mail addresses): nearly every category is seen once, so neither one-hot
# nor a learned embedding can learn anything from it that carries over to new rows.
NEAR_UNIQUE = 0.95
# A numeric target with more distinct values than this is read as amounts to regress.
MAX_CLASS_NUMBERS = 20
TRUE_WORDS = frozenset({"true", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "n", "f"})
ID_NAME = re.compile(r"(^(id|uuid|guid|key)$)|(_(id|uuid|key)$)|([a-z0-9]Id$)|(^ID$)")
# Dates are checked on a sample: parsing text one value at a time is slow on large columns.
DATE_SAMPLE = 1000
DECIMALS = (".", ",")
# Words a spreadsheet writes for "no value"; compared stripped and lower-cased. pandas already
# reads some of them ("n/a", "null") as missing, but not those typed by hand ("unknown", "-").
MISSING_WORDS = frozenset(
    {"", "-", "--", "\u2014", "?", "na", "n/a", "nan", "none", "null", "missing", "unknown", "#n/a"}
)
# Thousands separators allowed beside each decimal mark: comma, point, apostrophes, spaces
# (plain, no-break, narrow no-break). The groups must be of exactly three digits, so "1,5"
# is never read as 15.
_SEPARATORS = {".": ",'\u2019 \u00a0\u202f", ",": ".'\u2019 \u00a0\u202f"}
_GROUPED = {  # one to three digits, then groups of three behind one separator, then the decimals
    mark: re.compile(
        rf"^[+-]?\d{{1,3}}(?P<sep>[{re.escape(seps)}])\d{{3}}(?:(?P=sep)\d{{3}})*"
        rf"(?:{re.escape(mark)}\d+)?$"
    )
    for mark, seps in _SEPARATORS.items()
}


def infer_kinds(
    df: pd.DataFrame, *, target=None, time=None, max_categories: int = 50, decimal: str = "."
) -> dict[str, str]:
    """The kind of every column of `df`, in column order; text is read as numbers with `decimal`.

    The target is never called "id" or "constant" (whether it is usable is clean.py's call);
    the time column is "datetime" whenever it parses as dates.
    """
    kinds = {}
    for name in df.columns:
        column = df[name]
        if name == time and _share_dates(column.dropna()) >= PARSE_SHARE:
            kinds[name] = "datetime"
        elif name == target:
            kind = column_kind(column, max_categories=max_categories, name=str(name), decimal=decimal)
            kinds[name] = kind if kind not in ("id", "constant", "text") else _value_kind(column, decimal)
        else:
            kinds[name] = column_kind(column, max_categories=max_categories, name=str(name), decimal=decimal)
    return kinds


def column_kind(column: pd.Series, *, max_categories: int = 50, name: str = "", decimal: str = ".") -> str:
    """The kind of one column; `name` lets an integer column called e.g. `user_id` be an id."""
    values = column.dropna()
    if values.nunique() <= 1:
        return "constant"
    if is_boolean(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "id" if _looks_like_numeric_id(values, len(column), name) else "numeric"
    if isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    as_text = values.astype(str)
    if share_numeric(as_text, decimal) >= PARSE_SHARE:
        return "numeric"
    if _share_dates(as_text) >= PARSE_SHARE:
        return "datetime"
    unique = as_text.nunique()
    if (unique > max_categories or unique > len(values) / 2) and _looks_like_prose(as_text):
        return "text"
    if unique >= NEAR_UNIQUE * len(column) and len(column) >= MIN_ROWS_FOR_ID:
        return "id"
    return "categorical"


def target_kind(series: pd.Series, *, decimal: str = ".") -> str:
    """'binary', 'multiclass' or 'continuous': what a target column asks the model to predict."""
    values = series.dropna()
    unique = values.nunique()
    if unique == 2:
        return "binary"
    if pd.api.types.is_bool_dtype(values):
        return "multiclass"
    if (
        not pd.api.types.is_numeric_dtype(values)
        and parse_numbers(values.astype(str), decimal).isna().mean() > 1 - PARSE_SHARE
    ):
        return "multiclass"  # words: class labels, however many
    # More than MAX_CLASS_NUMBERS distinct numbers, whole or not, are amounts (counts, scores,
    # ozone in ppb), not class labels: a regression. Labels past it are usually words; numbered
    # classes past it are `init --task classification` or `task.type: classification` away.
    return "continuous" if unique > MAX_CLASS_NUMBERS else "multiclass"


def is_boolean(values: pd.Series) -> bool:
    """True for bool columns, 0/1 numbers, and text limited to true/false or yes/no words."""
    if pd.api.types.is_bool_dtype(values):
        return True
    distinct = set(values.unique().tolist())
    if pd.api.types.is_numeric_dtype(values):
        return distinct <= {0, 1} and len(distinct) == 2
    words = {str(v).strip().lower() for v in distinct}
    return len(words) == 2 and words <= (TRUE_WORDS | FALSE_WORDS) and bool(words & TRUE_WORDS)


def to_boolean(value):
    """1.0, 0.0, or None when `value` is not a recognisable truth value."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if value in (0, 1) else None
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word == "1":
        return 1.0
    if word in FALSE_WORDS or word == "0":
        return 0.0
    return None


def _value_kind(column: pd.Series, decimal: str) -> str:
    values = column.dropna()
    if pd.api.types.is_numeric_dtype(values) or share_numeric(values.astype(str), decimal) >= PARSE_SHARE:
        return "numeric"
    return "categorical"


def _looks_like_numeric_id(values: pd.Series, rows: int, name: str) -> bool:
    # A continuous measurement is often unique per row; only integer sequences or columns
    # named like identifiers count as ids.
    if values.nunique() != rows:
        return False
    numbers = values.to_numpy(dtype=float)
    if not np.all(np.mod(numbers, 1) == 0):
        return False
    if ID_NAME.search(name):
        return True
    if rows < MIN_ROWS_FOR_ID:
        return False
    span = numbers.max() - numbers.min() + 1
    monotonic = bool(np.all(np.diff(numbers) > 0) or np.all(np.diff(numbers) < 0))
    return monotonic or span <= 1.1 * rows


def looks_measured(column: pd.Series, name: str = "", decimal: str = ".") -> bool:
    """Whether a column taken for an identifier looks like a measurement instead.

    At least half of its values read as numbers, and those are fractions or spread far wider
    than a row counter (sorted prices, amounts); a name like `customer_id` settles it as an id.
    """
    if ID_NAME.search(name):
        return False
    numbers = parse_numbers(column, decimal).to_numpy(dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size < MIN_ROWS_FOR_ID or numbers.size < 0.5 * column.notna().sum():
        return False
    fractional = bool(np.any(np.mod(numbers, 1) != 0))
    return fractional or numbers.max() - numbers.min() + 1 > 1.1 * numbers.size


def _looks_like_prose(text: pd.Series) -> bool:
    # Sentences, not labels: several words, or long strings. "New York" stays a category.
    sample = text.head(DATE_SAMPLE)
    words = sample.str.split().str.len()  # type: ignore[misc]  # pandas-stubs: .str.len() takes lists too
    return bool(words.median() >= 3 or sample.str.len().median() >= 40)


def share_numeric(text: pd.Series, decimal: str = ".") -> float:
    """Share of the text values that read as numbers, leaving out the words that mean missing."""
    text = text[~is_missing_word(text)]
    if text.empty:
        return 0.0
    return float(parse_numbers(text, decimal).notna().mean())


def is_missing_word(values: pd.Series) -> pd.Series:
    """True where a value is text that means "no value" ("n/a", "unknown", "-", ...)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return pd.Series(False, index=values.index)
    words = values.astype(str).str.strip().str.lower()
    return values.notna() & words.isin(MISSING_WORDS)


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Float64 values of `values` read by the one rule for numbers written as text.

    Thousands separators in groups of three, and `decimal` as the decimal mark ("1,234.5" with
    "."; "1.234,5" or "2228,66" with ","). Missing values, the words that mean missing and
    anything that is not a number become NaN; the caller counts those it lost.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype(str).str.strip().where(values.notna())
    grouped = text.str.fullmatch(_GROUPED[decimal]).fillna(False).astype(bool)
    # "1,234.5" -> "1234.5"; "1.234,5" -> "1234,5" (the mark is made a point below)
    ungrouped = text.str.replace(f"[{re.escape(_SEPARATORS[decimal])}]", "", regex=True)
    plain = text
    if decimal == ",":
        # A point is a thousands separator here, never a decimal mark: "1.5" is not a number.
        plain = text.where(~text.str.contains(".", regex=False).fillna(False).astype(bool))
        plain, ungrouped = (part.str.replace(",", ".", regex=False) for part in (plain, ungrouped))
    return pd.to_numeric(plain.where(~grouped, ungrouped), errors="coerce").astype("float64")


def detect_decimal(df: pd.DataFrame) -> str:
    """ "," when the table's numbers written as text use decimal commas ("2228,66"), else ".".

    A text column votes for a mark when it reads as numbers (PARSE_SHARE) with that mark and
    not with the other; a column pandas read as fractions ("0.5") votes for ".". "1,234" reads
    either way and does not vote.
    """
    votes = {".": 0, ",": 0}
    for name in df.columns:
        column = df[name]
        if pd.api.types.is_bool_dtype(column):
            continue
        if pd.api.types.is_float_dtype(column):
            finite = column.to_numpy(dtype=np.float64)
            finite = finite[np.isfinite(finite)]
            votes["."] += bool(finite.size and np.any(np.mod(finite, 1) != 0))
            continue
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
            continue
        text = column.dropna().astype(str).head(DATE_SAMPLE)
        point, comma = share_numeric(text, ".") >= PARSE_SHARE, share_numeric(text, ",") >= PARSE_SHARE
        if point != comma:
            votes["." if point else ","] += 1
    return "," if votes[","] > votes["."] else "."


def _share_dates(values: pd.Series) -> float:
    if values.empty:
        return 0.0
    if pd.api.types.is_datetime64_any_dtype(values):
        return 1.0
    if pd.api.types.is_numeric_dtype(values):
        return 0.0  # numbers would parse as nanoseconds since 1970; that is not a date column
    sample = values.astype(str).drop_duplicates().head(DATE_SAMPLE)
    # A date has digits; without this check dateutil reads month names ("Mar") as dates.
    if sample.str.contains(r"\d").mean() < PARSE_SHARE:
        return 0.0
    return float(parse_dates(sample).notna().mean())


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse text as dates; values that do not parse become NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("str")
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing each value on its own; that is expected here.
        warnings.simplefilter("ignore", UserWarning)
        # utc=True puts mixed offsets on one axis; naive values are taken as they are.
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        if parsed.notna().sum() < text.notna().sum() * PARSE_SHARE:
            parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_convert(None)
