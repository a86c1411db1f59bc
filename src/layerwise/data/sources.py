"""Read a table from a file, a DataFrame or NumPy arrays, with errors that point at the bad byte.

Values are left exactly as pandas reads them: cleaning is a separate, logged step (clean.py).
One exception: a CSV column whose every value is a whole number or reads like "1.234" (one to
three digits, then groups of three after points) is kept as text, because such a value is
1.234 with a decimal point and 1234 with a decimal comma. pandas would always read 1.234;
the data.decimal rule (kinds.parse_numbers) decides, in training and at prediction alike.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Characters that, found in a one-column header, mean the user picked the wrong delimiter.
OTHER_DELIMITERS = (";", "\t", "|")
# "1.234" or "12.345.678": a point that may group thousands (a decimal comma) or mark decimals.
POINT_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+$")
WHOLE = re.compile(r"^[+-]?\d+$")


def read_table(source, *, delimiter: str | None = None, name: str | None = None) -> pd.DataFrame:
    """Read `source` (a path, a DataFrame, a 2-D array or an `(X, y)` tuple) into a new DataFrame.

    `delimiter=None` means ',' (or a tab for a `.tsv` file). `name` labels a non-file source
    in error messages.
    """
    if isinstance(source, (str, Path)):
        return _read_file(Path(source), delimiter)
    label = name or type(source).__name__
    if isinstance(source, pd.DataFrame):
        return _named_columns(source.copy(), label)
    if isinstance(source, np.ndarray):
        return _from_matrix(source, label)
    if isinstance(source, tuple) and len(source) == 2:
        x, y = (np.asarray(part) for part in source)
        frame = _from_matrix(x, label)
        if y.ndim != 1 or len(y) != len(frame):
            raise DataError(
                f"{label}: y has shape {y.shape} but X has {len(frame)} rows",
                hint="pass y as a 1-D array with one value per row of X",
            )
        frame["target"] = y
        return frame
    raise DataError(
        f"cannot read data from a {type(source).__name__}",
        hint="pass a file path, a pandas DataFrame, a 2-D NumPy array or a tuple (X, y)",
    )


def _from_matrix(x: np.ndarray, label: str) -> pd.DataFrame:
    if x.ndim != 2:
        raise DataError(
            f"{label}: expected a 2-D array (rows, columns), got shape {x.shape}",
            hint="reshape a single feature with x.reshape(-1, 1)",
        )
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])


def _named_columns(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    # Column names are used as config keys and JSON keys, so they must be distinct strings.
    names = [str(c).strip() for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"{label}: column name(s) {repeated} appear more than once",
            hint="rename the columns so that each name is used once",
        )
    frame.columns = names
    return frame


def _read_file(path: Path, delimiter: str | None) -> pd.DataFrame:
    shown = str(path)
    if path.is_dir():  # it exists: "no such file" would send the user looking for a typo
        what = "an empty folder" if not any(path.iterdir()) else "a folder"
        raise DataError(f"{shown}: {what}, not a CSV or Parquet file",
                        hint="pass a data file; for images, a folder holding one sub-folder of images per class")
    if not path.is_file():
        raise DataError(
            f"{shown}: no such file (tried {path.resolve()})",
            hint="check the path; a relative path is relative to the current directory",
        )
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix not in CSV_SUFFIXES:
        supported = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise DataError(
            f"{shown}: cannot read files ending in '{path.suffix}'",
            hint=f"supported extensions are {supported}; save the data as CSV or Parquet",
        )
    if delimiter is None:
        delimiter = "\t" if suffix == ".tsv" else ","
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{shown}: the file is empty", hint="write a header line and data rows")
    text = decode_utf8(raw, shown)
    _check_delimiter(text, delimiter, shown)
    _check_field_counts(text, delimiter, shown)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.ParserError as exc:  # the checks above catch the usual causes
        raise DataError(f"{shown}: cannot parse as CSV: {exc}") from exc
    if frame.empty:
        raise DataError(f"{shown}: has a header but no data rows", hint="add data rows below the header")
    return _named_columns(_point_grouped_as_text(frame, text, delimiter), shown)


def _point_grouped_as_text(frame: pd.DataFrame, text: str, delimiter: str) -> pd.DataFrame:
    """`frame` with each float column whose text reads like "1.234" put back as that text."""
    floats = [i for i, name in enumerate(frame.columns) if pd.api.types.is_float_dtype(frame[name])]
    if not floats or not re.search(r"\d\.\d{3}(?!\d)", text):
        return frame  # the common case, decided without reading the file again
    raw = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, usecols=floats)
    for i, name in zip(floats, raw.columns):
        values = raw[name].dropna().str.strip()
        grouped = values.str.fullmatch(POINT_GROUPED)
        if grouped.any() and (grouped | values.str.fullmatch(WHOLE)).all():
            frame[frame.columns[i]] = raw[name]
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty", hint="write the Parquet file again")
    try:
        frame = pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise DataError(
            f"{path}: not a readable Parquet file ({exc})",
            hint="write it again with DataFrame.to_parquet, or save it as CSV",
        ) from exc
    if frame.empty:
        raise DataError(f"{path}: has columns but no data rows", hint="add data rows")
    return _named_columns(frame, str(path))


def decode_utf8(raw: bytes, shown: str) -> str:
    """Text of `raw`, or a DataError naming the line and byte offset of the first non-UTF-8 byte."""
    try:
        return raw.decode("utf-8-sig")  # -sig: Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        offset = exc.start + bom
        line = raw[:offset].count(b"\n") + 1
        raise DataError(
            f"{shown}: line {line} (byte offset {offset}) holds byte 0x{raw[offset]:02x}, "
            "which is not UTF-8",
            hint="re-save the file as UTF-8 (in Excel: 'CSV UTF-8'; or iconv -f latin1 -t utf-8)",
        ) from None


def _check_delimiter(text: str, delimiter: str, shown: str) -> None:
    header = text.lstrip().split("\n", 1)[0]
    if delimiter in header:
        return
    for other in OTHER_DELIMITERS:
        if other != delimiter and other in header:
            written = "\\t" if other == "\t" else other
            raise DataError(
                f"{shown}: the header line has no '{delimiter}' but looks '{written}'-separated",
                hint=f"set data.delimiter: '{written}'",
            )


def _check_field_counts(text: str, delimiter: str, shown: str) -> None:
    # pandas pads short rows with NaN silently; a short row is nearly always a broken file.
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    expected = None
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # pandas skips blank lines too
        if expected is None:
            expected = len(row)
            header_line = rows.line_num
            continue
        if len(row) != expected:
            raise DataError(
                f"{shown}: line {rows.line_num} has {len(row)} fields but the header "
                f"(line {header_line}) has {expected}",
                hint="fix that line: quote values that contain the delimiter, or add the "
                "missing fields (an empty field is read as missing)",
            )
