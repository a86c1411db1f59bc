"""Read a table from a file, a DataFrame or NumPy arrays, with errors that point at the bad byte.

Values are left exactly as pandas reads them: cleaning is a separate, logged step (clean.py).
One exception: a CSV column whose every value is a whole number or reads like "1.234" (one to
three digits, then groups of three after points) is kept as text, because such a value is
1.234 with a decimal point and 1234 with a decimal comma. pandas would always read 1.234;
the data.decimal rule (kinds.parse_numbers) decides, in training and at prediction alike.

A CSV file is parsed by pandas' C engine straight from the file: on two cores it is faster than
the pyarrow engine (1.2x to 2.6x across runs) with less memory (benchmarks/read_speed.py), and it
gives the dtypes the rest of layerwise was written for. Only the first MB is looked at before it
(the header, its delimiter, its line ends); the slow line-by-line scan that names the line at
fault runs only after pandas fails, or when its result hints at a short row that pyarrow's fast
parser does not rule out.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Characters that, found in a one-column header, mean the user picked the wrong delimiter.
OTHER_DELIMITERS = (";", "\t", "|")
# "1.234" or "12.345.678": a point that may group thousands (a decimal comma) or mark decimals.
POINT_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+$")
WHOLE = re.compile(r"^[+-]?\d+$")
# A carriage return not followed by a newline: a line end of its own, or a character of a value.
LONE_CR = re.compile(r"\r(?!\n)")
HEAD_BYTES = 1 << 20  # what is read before pandas: the header and the line ends it shows
HEAD_ROWS = 10_000  # rows read as text first, when checking a column for "1.234"-like values


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


def read_head(source, *, rows: int, delimiter: str | None = None) -> pd.DataFrame | None:
    """The first `rows` rows of a table (a DataFrame, or a CSV or Parquet path), cheaply; None where they
    cannot be read so (the full read then names the problem). What decides a run's kind before reading all."""
    try:
        if isinstance(source, pd.DataFrame):
            return _named_columns(source.head(rows).copy(), "data")
        if not isinstance(source, (str, Path)):
            return None
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
            return None if batch is None else _named_columns(batch.to_pandas(), str(path))
        if suffix in CSV_SUFFIXES and path.is_file():
            sep = delimiter or ("\t" if suffix == ".tsv" else ",")
            return _named_columns(pd.read_csv(path, sep=sep, nrows=rows, encoding="utf-8-sig"), str(path))
    except Exception:  # noqa: BLE001  any reason at all: the full read reports it properly
        return None
    return None


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
        raise DataError(
            f"{shown}: {what}, not a CSV or Parquet file",
            hint="pass a data file; for images, a folder holding one sub-folder of images per class",
        )
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
    return _named_columns(_read_csv(path, delimiter, shown), shown)


def _read_csv(path: Path, delimiter: str, shown: str) -> pd.DataFrame:
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(
            f"data.delimiter {delimiter!r} cannot separate the fields of a CSV file",
            hint="set data.delimiter to one character, such as ',', ';', '\\t' or '|'",
        )
    head, complete = _head(path, shown)
    lone_cr = LONE_CR.search(head)
    # A \r that ends a partly read head may be the first half of a \r\n.
    newline = None
    if lone_cr is not None and (complete or lone_cr.start() < len(head) - 1):
        newline = _line_end(decode_utf8(path.read_bytes(), shown))
    _check_delimiter(head, delimiter, newline, shown)
    frame = _parse_checked(path, delimiter, newline, shown)
    if frame.empty:
        raise DataError(f"{shown}: has a header but no data rows", hint="add data rows below the header")
    return _point_grouped_as_text(frame, path, delimiter, newline)


def _head(path: Path, shown: str) -> tuple[str, bool]:
    """The first HEAD_BYTES of the file as text, and whether that is the whole file."""
    with path.open("rb") as handle:
        raw = handle.read(HEAD_BYTES)
        complete = not handle.read(1)
    if complete and not raw.strip():
        raise DataError(f"{shown}: the file is empty", hint="write a header line and data rows")
    try:  # incremental: a character cut in two at the end of the head is not an error
        return codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=complete), complete
    except UnicodeDecodeError:
        decode_utf8(raw, shown)  # raises, naming the line and byte
        raise


def _line_end(text: str) -> str | None:
    """The line end to give pandas: None for its own rule (\n, \r\n or \r alone), or "\n".

    pandas writes a value holding a lone \r without quotes, so in a file whose lines end with \n
    such a \r is part of a value. Where lines end with \r alone (old Mac files) or some with \r\n,
    pandas' rule stays, and a \r that splits a row is reported by the line scan.
    """
    if "\n" in text and "\r\n" not in text and LONE_CR.search(text):
        return "\n"
    return None


def _for_csv(text: str, newline: str | None) -> io.StringIO:
    # The csv module cannot hold a \r in an unquoted value: where \r is no line end, a space
    # stands in for it, which changes no count of fields.
    return io.StringIO(text if newline is None else text.replace("\r", " "), newline="")


def _parse_checked(path: Path, delimiter: str, newline: str | None, shown: str) -> pd.DataFrame:
    """The file parsed by pandas, scanned line by line only when pandas fails or a row may be short."""
    frame = None
    try:
        frame = pd.read_csv(path, sep=delimiter, lineterminator=newline)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        failure: Exception | None = exc
    else:
        if not _may_be_ragged(frame) or (newline is None and _rows_align(path, delimiter)):
            return frame
        failure = None
    text = decode_utf8(path.read_bytes(), shown)
    if newline is None and _line_end(text) == "\n":  # a lone \r past the head
        return _parse_checked(path, delimiter, "\n", shown)
    _check_field_counts(text, delimiter, newline, shown)
    if frame is not None:  # every row is whole: the last column is just missing some values
        return frame
    if isinstance(failure, pd.errors.EmptyDataError):
        raise DataError(f"{shown}: the file is empty", hint="write a header line and data rows")
    raise DataError(f"{shown}: cannot parse as CSV: {failure}") from failure


def _may_be_ragged(frame: pd.DataFrame) -> bool:
    # pandas pads a short row with missing values, the last column's among them, and reads a
    # header one field shorter than the rows as naming all but an index column.
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        return True
    return len(frame.columns) > 0 and bool(frame.iloc[:, -1].isna().any())


def _rows_align(path: Path, delimiter: str) -> bool:
    """Whether every row has as many fields as the first, by pyarrow's threaded parser.

    A fast first look (about a quarter of the csv module's time): False also when pyarrow is
    missing or fails, so that the exact scan decides.
    """
    try:
        import pyarrow
        import pyarrow.csv as arrow_csv
    except ImportError:
        return False

    def blank_only(row) -> str:
        return "skip" if not row.text.strip() else "error"  # pandas skips blank lines too

    try:  # one column converted, as text: the parse is what counts
        arrow_csv.read_csv(
            path,
            read_options=arrow_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=arrow_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=blank_only
            ),
            convert_options=arrow_csv.ConvertOptions(include_columns=["f0"], column_types={"f0": pyarrow.string()}),
        )
    except pyarrow.ArrowException:
        return False
    return True


def _point_grouped_as_text(frame: pd.DataFrame, path: Path, delimiter: str, newline: str | None) -> pd.DataFrame:
    """`frame` with each float column whose text reads like "1.234" put back as that text.

    Only a float column whose values allow it (each a whole number of thousandths, one of them
    between 1 and 1000) is read again as text: first its first HEAD_ROWS rows, where one value such
    as "2.5" rules it out, then the whole column.
    """
    positions = [
        i
        for i in range(frame.shape[1])
        if pd.api.types.is_float_dtype(frame.iloc[:, i]) and _thousandths(frame.iloc[:, i].to_numpy())
    ]
    if positions and len(frame) > HEAD_ROWS:
        head = _read_as_text(path, delimiter, newline, positions, nrows=HEAD_ROWS)
        positions = [i for i, name in zip(positions, head.columns) if _grouped_or_whole(head[name]).all()]
    # In a column of whole numbers (ints with missing values) only "5.000" can be "1.234"-like.
    whole = [i for i in positions if _whole(frame.iloc[:, i].to_numpy())]
    if whole and not _file_holds_whole_grouped(path):
        positions = [i for i in positions if i not in whole]
    if not positions:
        return frame
    raw = _read_as_text(path, delimiter, newline, positions)
    for i, name in zip(positions, raw.columns):
        grouped = _grouped_or_whole(raw[name], grouped_only=True)
        if grouped.any() and _grouped_or_whole(raw[name]).all():
            frame[frame.columns[i]] = raw[name]
    return frame


def _thousandths(values: np.ndarray) -> bool:
    """True of every float column read from whole numbers and "1.234"-like values (1 to 999.999)."""
    values = values[~np.isnan(values)]
    if not np.isfinite(values).all():  # "inf" is neither a whole number nor "1.234"-like
        return False
    for part in (values[:1000], values):  # most float columns fail on their first values
        scaled = part * 1000
        if not np.all(np.abs(scaled - np.round(scaled)) < 1e-6):
            return False
    size = np.abs(values)
    return bool(np.any((size >= 1) & (size < 1000)))


def _whole(values: np.ndarray) -> bool:
    values = values[~np.isnan(values)]
    return bool(np.all(values == np.round(values)))


def _file_holds_whole_grouped(path: Path, chunk: int = 1 << 22) -> bool:
    """Whether the file holds ".000" with no digit after it, read a chunk at a time.

    A search, not a parse: about a third of pandas' time on the same file (bytes.find; a regular
    expression took twice as long).
    """
    with path.open("rb") as handle:
        tail = b""
        while block := handle.read(chunk):
            text, at = tail + block, 0
            while (at := text.find(b".000", at)) >= 0:
                if not text[at + 4 : at + 5].isdigit():  # the end of the chunk counts as no digit
                    return True
                at += 4
            tail = block[-4:]
    return False


def _read_as_text(
    path: Path, delimiter: str, newline: str | None, positions: list[int], nrows: int | None = None
) -> pd.DataFrame:
    return pd.read_csv(path, sep=delimiter, lineterminator=newline, dtype=str, usecols=positions, nrows=nrows)


def _grouped_or_whole(column: pd.Series, grouped_only: bool = False) -> pd.Series:
    values = column.dropna().str.strip()
    grouped = values.str.fullmatch(POINT_GROUPED)
    return grouped if grouped_only else grouped | values.str.fullmatch(WHOLE)


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
            f"{shown}: line {line} (byte offset {offset}) holds byte 0x{raw[offset]:02x}, which is not UTF-8",
            hint="re-save the file as UTF-8 (in Excel: 'CSV UTF-8'; or iconv -f latin1 -t utf-8)",
        ) from None


def _check_delimiter(head: str, delimiter: str, newline: str | None, shown: str) -> None:
    # The header is parsed, not split: a tab or newline inside a quoted name is no delimiter.
    header = _first_record(head, delimiter, newline)
    if header is None or len(header) > 1:
        return
    for other in OTHER_DELIMITERS:
        if other != delimiter and len(_first_record(head, other, newline) or ()) > 1:
            written = "\\t" if other == "\t" else other
            raise DataError(
                f"{shown}: the header line has no '{delimiter}' but looks '{written}'-separated",
                hint=f"set data.delimiter: '{written}'",
            )


def _first_record(text: str, delimiter: str, newline: str | None) -> list[str] | None:
    """The first non-blank record of `text` split at `delimiter`, or None if there is none."""
    try:
        for row in csv.reader(_for_csv(text, newline), delimiter=delimiter):
            if row and not (len(row) == 1 and not row[0].strip()):
                return row
    except csv.Error:  # e.g. a header value longer than the csv module's limit: pandas decides
        return None
    return None


def _check_field_counts(text: str, delimiter: str, newline: str | None, shown: str) -> None:
    # pandas pads short rows with NaN silently; a short row is nearly always a broken file.
    rows = csv.reader(_for_csv(text, newline), delimiter=delimiter)
    expected = None
    try:
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
                    hint=_field_count_hint(text, newline),
                )
    except csv.Error:  # a value beyond the csv module's limit: pandas' own message is given
        return


def _field_count_hint(text: str, newline: str | None) -> str:
    hint = (
        "fix that line: quote values that contain the delimiter, or add the "
        "missing fields (an empty field is read as missing)"
    )
    if newline is None and LONE_CR.search(text) and "\n" in text:
        hint += (
            "; the file holds a carriage return (\\r) not followed by a newline, which ends a "
            "line: quote the value that holds it, or remove it"
        )
    return hint
