"""Batch prediction of a file too large for memory: read, predict and write in chunks.

Row-wise tasks (classification, regression) stream: each chunk is predicted alone, which gives
what predicting the whole file gives, since the preprocessing is fitted already. A forecast
needs each row's history and the rows in time order, so a forecast file is read whole.
Small files are read whole as well, through `read_table` and its checks of the file.
The output is staged beside its path and renamed at the end (atomic), CSV or Parquet.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from ..bundle.predictor import Predictor
from ..data import read_table
from ..data.sources import PARQUET_SUFFIXES
from ..errors import DataError, UsageError

if TYPE_CHECKING:  # pyarrow is imported where Parquet is written
    import pyarrow as pa
    import pyarrow.parquet as pq

CHUNK_ROWS = 50_000
STREAM_FROM_BYTES = 64 * 1024 * 1024  # files smaller than this are read whole


def predict_file(
    predictor: Predictor,
    source: str | Path,
    output: str | Path | None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    stream_from_bytes: int = STREAM_FROM_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Predict every row of `source` into `output` (None: CSV on stdout); returns the row count.

    `progress(done, total)` is called after each chunk, in bytes read (CSV) or rows (Parquet).
    """
    source = Path(source)
    if chunk_rows < 1:
        raise UsageError(f"--chunk-rows {chunk_rows}: must be at least 1")
    writer = _Writer(output)
    rows = 0
    try:
        for start, chunk, done, total in _chunks(predictor, source, chunk_rows, stream_from_bytes):
            label = str(source) if start == 0 and done == total else f"{source} (rows {start + 1}-{start + len(chunk)})"
            writer.write(predictor.predict(chunk, source=label))
            rows += len(chunk)
            if progress is not None:
                progress(done, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return rows


def _chunks(predictor: Predictor, source: Path, chunk_rows: int, stream_from_bytes: int) -> Iterator:
    """(first row, frame, progress done, progress total) per chunk."""
    size = source.stat().st_size if source.is_file() else 0
    whole = predictor.series is not None  # a forecast's windows span rows: it reads the table whole
    if whole or size < stream_from_bytes:
        frame = read_table(source, delimiter=predictor.delimiter)
        for start in range(0, len(frame), len(frame) if whole else chunk_rows):
            part = frame if whole else frame.iloc[start : start + chunk_rows]
            yield start, part, min(start + len(part), len(frame)), len(frame)
        return
    if source.suffix.lower() in PARQUET_SUFFIXES:
        yield from _parquet_chunks(source, chunk_rows)
    else:
        # With decimal commas pandas would read "1.234" as 1.234: give the bundle's rule the text.
        decimal = getattr(predictor.features, "decimal", ".")
        yield from _csv_chunks(source, predictor.delimiter, chunk_rows, size, text=decimal != ".")


def _csv_chunks(source: Path, delimiter: str, chunk_rows: int, size: int, text: bool = False) -> Iterator:
    start = 0
    with open(source, "rb") as handle:
        try:
            reader = pd.read_csv(
                handle, sep=delimiter, chunksize=chunk_rows, encoding="utf-8-sig", dtype=str if text else None
            )
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                # the parser reads ahead in blocks, so tell() is the progress to within one block
                yield start, chunk.reset_index(drop=True), min(handle.tell(), size), size
                start += len(chunk)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{source}: cannot parse as CSV after data row {start}: {exc}",
                hint="fix that line; `layerwise predict` reads files over 64 MiB in chunks",
            ) from None


def _parquet_chunks(source: Path, chunk_rows: int) -> Iterator:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(source)
    except (pyarrow.ArrowException, OSError) as exc:
        raise DataError(f"{source}: not a readable Parquet file ({exc})") from None
    total, start = reader.metadata.num_rows, 0
    for batch in reader.iter_batches(batch_size=chunk_rows):
        chunk = batch.to_pandas()
        yield start, chunk, start + len(chunk), total
        start += len(chunk)


class _Writer:
    """Append chunks to a staged CSV or Parquet file (or stdout), renamed into place on close."""

    def __init__(self, output: str | Path | None):
        self.output = None if output is None else Path(output)
        self.parquet = self.output is not None and self.output.suffix.lower() in PARQUET_SUFFIXES
        if self.output is not None and not self.parquet and self.output.suffix.lower() not in (".csv", ".txt", ""):
            raise UsageError(
                f"{self.output}: unknown output format '{self.output.suffix}'", hint="use .csv or .parquet"
            )
        self.tmp: Path | None = None
        self.handle: TextIO | None = None
        self.parquet_writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        if self.output is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.output.parent, prefix=f".{self.output.name}.", suffix=".tmp")
            os.close(fd)
            self.tmp = Path(name)
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
            if self.parquet_writer is None:
                self.schema = table.schema
                self.parquet_writer = pq.ParquetWriter(self.tmp, self.schema)
            self.parquet_writer.write_table(table)
            return
        if self.handle is None:
            self.handle = sys.stdout if self.tmp is None else open(self.tmp, "w", encoding="utf-8", newline="")
        frame.to_csv(self.handle, index=False, header=self.header)
        self.header = False

    def close(self) -> None:
        if self.parquet_writer is not None:
            self.parquet_writer.close()
        if self.handle is not None and self.handle is not sys.stdout:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        if self.tmp is not None and self.output is not None:  # a staged file exists only for an output
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.output)

    def abort(self) -> None:
        if self.handle is not None and self.handle is not sys.stdout:
            self.handle.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
