"""Tables larger than memory: Parquet or CSV read in record batches, never whole.

Three pieces, each one pass over the file through `pyarrow.dataset`:

  split    a row's part (train / val / test) is a pure function of its global row number and
           the seed (a 64-bit mix of the two, compared with the configured fractions), so any
           pass finds the same rows in the same part without storing an index. Stratification
           needs every label first, so it is not possible here (a random split is used); with
           a time column the parts are consecutive runs of rows in file order instead, and
           the file must be sorted by it.
  fit      `fit_stream` computes, over the training rows only, what `Preprocessor` and
           `TargetEncoder` fit in memory, and fills their fitted state in the same format, so
           a bundle and `predict` work unchanged. Means and standard deviations are merged
           batch by batch (Chan's formulas, float64); medians and quartiles come from a
           sample of at most SAMPLE values per column (every value when there are fewer).
  batches  `Stream.batches(part, epoch)` yields (x, y) float32 batches; the training part
           goes through a shuffle buffer whose generator is seeded from (seed, epoch), so an
           epoch's order is the same on every run and after a resume at an epoch end.

Cleaning is per row: text in a numeric column and inf become missing, then the training
statistics fill them; rows without a target are skipped. Removing duplicate rows needs the
whole file at once and is skipped (the run log says so).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .kinds import infer_kinds, parse_numbers, to_boolean
from .scaling import fit_scale
from .sources import CSV_SUFFIXES, PARQUET_SUFFIXES
from .target import TargetEncoder, json_value, sorted_labels
from .transforms import MISSING, Preprocessor, category_label

SAMPLE = 100_000  # values per numeric column kept for the median and quartiles
PARTS = ("train", "val", "test")
_MIX = np.uint64(0x9E3779B97F4A7C15)


def wants_stream(path: str | Path | None, enabled: bool | str, above_mb: float) -> bool:
    """Whether to stream `path`: `enabled` true/false, or 'auto' for a file above `above_mb` on disk."""
    if enabled == "auto":
        return path is not None and Path(path).is_file() and Path(path).stat().st_size > above_mb * 1024 * 1024
    return bool(enabled)


def open_dataset(path: str | Path, delimiter: str = ","):
    """A `pyarrow.dataset.Dataset` over one Parquet or CSV file; a DataError for anything else."""
    import pyarrow
    import pyarrow.csv
    import pyarrow.dataset as ds

    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: no such file (tried {path.resolve()})",
            hint="check data.path; a relative path is relative to the current directory",
        )
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        # pre_buffer off: on, pyarrow reads far ahead of the batches asked for (hundreds of MB)
        fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
    elif suffix in CSV_SUFFIXES:
        sep = "\t" if suffix == ".tsv" and delimiter == "," else delimiter
        fmt = ds.CsvFileFormat(parse_options=pyarrow.csv.ParseOptions(delimiter=sep))
    else:
        raise DataError(
            f"{path}: streaming reads Parquet or CSV, not '{path.suffix}' files",
            hint=f"save the data with one of the suffixes {CSV_SUFFIXES + PARQUET_SUFFIXES}",
        )
    try:
        return ds.dataset(str(path), format=fmt)
    except (pyarrow.ArrowException, OSError) as exc:
        raise DataError(
            f"{path}: cannot be read as {fmt.default_extname} ({exc})",
            hint="write the file again, or check data.delimiter",
        ) from exc


def scan(dataset, columns: list[str] | None, batch_rows: int) -> Iterator:
    """`dataset`'s record batches of at most `batch_rows` rows, in file order, decoded on demand.

    No read-ahead and no scan threads: with them pyarrow's producer decodes row groups as fast
    as it can into an unbounded queue, so behind a slow consumer (the statistics pass, a
    training epoch) the queue grew to most of the file (10M x 17 float32 columns: an 800 MB
    peak in the statistics pass). Synchronous, the batch in hand is all that is held."""
    return iter(
        dataset.to_batches(
            columns=columns, batch_size=batch_rows, batch_readahead=0, fragment_readahead=0, use_threads=False
        )
    )


def part_codes(rows: np.ndarray, seed: int, fractions: tuple[float, float, float]) -> np.ndarray:
    """0 / 1 / 2 (train / val / test) for global row numbers `rows`, from a hash of (row, seed)."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(seed & 0xFFFF_FFFF) * _MIX  # splitmix64
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)  # uniform in [0, 1)
    train, val, _ = fractions
    return (u >= train).astype(np.int8) + (u >= train + val).astype(np.int8)


@dataclass
class _Numeric:
    """Running count, mean, M2, min, max and a hash-priority sample of the finite values."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    sample: np.ndarray = field(default_factory=lambda: np.empty(0))
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))

    def add(self, values: np.ndarray, rows: np.ndarray) -> None:
        ok = np.isfinite(values)
        v, rows = values[ok], rows[ok]
        if not v.size:
            return
        m, mean = v.size, float(v.mean())
        delta, total = mean - self.mean, self.n + m
        self.m2 += float(((v - mean) ** 2).sum()) + delta * delta * self.n * m / total
        self.mean += delta * m / total
        self.n = total
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        # a uniform sample without a generator: keep the SAMPLE rows of smallest hash
        keys = np.concatenate([self.keys, _hash(rows)])
        sample = np.concatenate([self.sample, v])
        if keys.size > SAMPLE:
            keep = np.argpartition(keys, SAMPLE)[:SAMPLE]
            keys, sample = keys[keep], sample[keep]
        self.keys, self.sample = keys, sample

    def scale(self, normalize: str) -> tuple[float, float]:
        if normalize == "standard" and self.n:
            std = math.sqrt(self.m2 / self.n)
            return self.mean, std if math.isfinite(std) and std > 0 else 1.0
        if normalize == "minmax" and self.n:
            width = self.hi - self.lo
            return self.lo, width if math.isfinite(width) and width > 0 else 1.0
        return fit_scale(self.sample, normalize)  # robust (from the sample) and none


def _hash(rows: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) * _MIX
        return z ^ (z >> np.uint64(29))


@dataclass
class Stream:
    """One streamed table: where it is, how it splits, and the transforms fitted on its training part."""

    dataset: Any  # a pyarrow.dataset.Dataset (pyarrow ships no type hints)
    target: str
    task: str
    kinds: dict[str, str]  # feature column -> kind, as infer_kinds says
    seed: int
    fractions: tuple[float, float, float]
    time: str | None = None
    batch_rows: int = 65_536
    shuffle_buffer: int = 65_536
    total: int = 0  # rows in the file
    rows: dict[str, int] = field(default_factory=dict)  # rows per part that have a target
    features: Preprocessor | None = None
    encoder: TargetEncoder | None = None
    head: pd.DataFrame | None = None  # the first record batch (what validation and kinds look at)
    classes: dict[str, Counter] = field(default_factory=dict)  # classification: part -> label counts
    changed: Counter = field(default_factory=Counter)  # feature column -> training cells made missing
    # regression: a uniform sample of at most SAMPLE training targets (the median baseline's estimate)
    target_sample: np.ndarray = field(default_factory=lambda: np.empty(0))

    # ------------------------------------------------------------ reading
    def _chunks(self) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        """(global row numbers, frame) per record batch, in file order."""
        columns = [*self.kinds, self.target] + ([self.time] if self.time and self.time not in self.kinds else [])
        start = 0
        for batch in scan(self.dataset, columns, self.batch_rows):
            n = batch.num_rows
            if n:
                yield np.arange(start, start + n, dtype=np.int64), batch.to_pandas()
            start += n

    def _codes(self, rows: np.ndarray) -> np.ndarray:
        if self.time is None:
            return part_codes(rows, self.seed, self.fractions)
        train_end = int(self.total * self.fractions[0])
        val_end = int(self.total * (self.fractions[0] + self.fractions[1]))
        return (rows >= train_end).astype(np.int8) + (rows >= val_end).astype(np.int8)

    def _part(self, part: str) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        """The rows of `part` with a target, cleaned per row."""
        code = PARTS.index(part)
        for rows, frame in self._chunks():
            keep = (self._codes(rows) == code) & frame[self.target].notna().to_numpy()
            if keep.any():
                yield rows[keep], _clean(frame[keep].reset_index(drop=True), self.kinds)

    # ------------------------------------------------------------ fitting
    def fit(
        self,
        *,
        normalize: str = "standard",
        encode: str = "auto",
        max_onehot: int = 20,
        impute_numeric: str = "median",
        impute_categorical: str = "most_frequent",
    ) -> Stream:
        """One pass over the file: row counts per part, then the transforms' state from the training rows."""
        self.total = self.dataset.count_rows()
        numeric = {c: _Numeric() for c, k in self.kinds.items() if k == "numeric"}
        counts: dict[str, Counter] = {c: Counter() for c, k in self.kinds.items() if k == "categorical"}
        missing = dict.fromkeys(counts, 0)
        truths = {c: [0, 0] for c, k in self.kinds.items() if k == "boolean"}  # [true, observed]
        target_num, labels = _Numeric(), set[Any]()
        rows = dict.fromkeys(PARTS, 0)
        last_time = None
        for chunk_rows, frame in self._chunks():
            has_target = frame[self.target].notna().to_numpy()
            codes = self._codes(chunk_rows)
            for i, part in enumerate(PARTS):
                inside = (codes == i) & has_target
                rows[part] += int(inside.sum())
                if self.task == "classification":
                    self.classes.setdefault(part, Counter()).update(_counts(frame[self.target][inside]))
            if self.time is not None:
                last_time = _check_sorted(frame[self.time], last_time, chunk_rows[0], self.time)
            keep = (codes == 0) & has_target
            if not keep.any():
                continue
            raw = frame[keep].reset_index(drop=True)
            before = {c: int(raw[c].isna().sum()) for c in self.kinds}
            cleaned, at = _clean(raw, self.kinds), chunk_rows[keep]
            self.changed.update({c: int(cleaned[c].isna().sum()) - n for c, n in before.items()})
            for c, acc in numeric.items():
                acc.add(cleaned[c].to_numpy(dtype=np.float64), at)
            for c, counter in counts.items():
                values = cleaned[c].dropna()
                missing[c] += len(cleaned) - len(values)
                counter.update(_counts(values))
            for c, truth in truths.items():
                observed = cleaned[c].dropna()
                truth[0] += int(observed.sum())
                truth[1] += len(observed)
            y = cleaned[self.target]
            if self.task == "classification":
                labels.update(json_value(v) for v in y.unique().tolist())
            else:
                target_num.add(parse_numbers(y).to_numpy(dtype=np.float64), at)
        self.rows = rows
        if rows["train"] == 0:
            raise DataError(
                f"{self.target}: the training part of the streamed file has no rows with a target",
                hint="check data.target and data.split.train",
            )
        pre = Preprocessor(
            self.kinds,
            normalize=normalize,
            encode=encode,
            max_onehot=max_onehot,
            impute_numeric=impute_numeric,
            impute_categorical=impute_categorical,
        )
        pre._check_options()
        pre.columns = {}
        for c, kind in self.kinds.items():
            if kind == "numeric":
                pre.columns[c] = {"kind": kind, **_numeric_state(numeric[c], normalize, impute_numeric)}
            elif kind == "boolean":
                true, seen = truths[c]
                pre.columns[c] = {"kind": kind, "fill": float(true / seen >= 0.5) if seen else 0.0}
            else:
                pre.columns[c] = {"kind": kind, **_categorical_state(counts[c], missing[c], pre)}
        self.features = pre
        self.encoder = TargetEncoder(self.task)
        if self.task == "classification":
            self.encoder.classes = sorted_labels(labels)
        elif target_num.n:
            self.encoder.center, self.encoder.scale = target_num.scale("standard")
            self.target_sample = target_num.sample
        return self

    # ------------------------------------------------------------ batches
    def batches(self, part: str, batch_size: int, epoch: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(x (batch, features) float32, y) batches of `part`; with `epoch`, shuffled through the buffer."""
        rng = None if epoch is None else np.random.default_rng([self.seed, epoch])
        held_x: list[np.ndarray] = []
        held_y: list[np.ndarray] = []
        held = 0
        for _, frame in self._part(part):
            x, y = self.transform(frame)
            if rng is None:
                yield from _slices(x, y, batch_size)
                continue
            held_x.append(x)
            held_y.append(y)
            held += len(x)
            if held >= self.shuffle_buffer:
                bx, by = np.concatenate(held_x), np.concatenate(held_y)
                order = rng.permutation(held)
                # emit whole batches and keep about half the buffer to mix with the next chunks
                emit = max((held - self.shuffle_buffer // 2) // batch_size, 1) * batch_size
                yield from _slices(bx[order[:emit]], by[order[:emit]], batch_size)
                held_x, held_y = [bx[order[emit:]]], [by[order[emit:]]]
                held = held - emit
        if rng is not None and held:
            bx, by = np.concatenate(held_x), np.concatenate(held_y)
            order = rng.permutation(held)
            yield from _slices(bx[order], by[order], batch_size)

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """A cleaned frame's model inputs and encoded targets (class codes, or scaled float32)."""
        features, encoder = self._fitted("transform")
        x = features.transform(frame[list(self.kinds)], source=f"streamed rows of {self.target}")
        y = frame[self.target]
        if self.task != "classification":
            y = parse_numbers(y)
        return x, encoder.encode(y)

    def actual(self, part: str) -> np.ndarray:
        """`part`'s targets in their own units (class codes for classification), in file order."""
        out = [self._actual(frame) for _, frame in self._part(part)]
        return np.concatenate(out) if out else np.empty(0)

    def labelled(self, part: str, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(x (batch, features) float32, targets in their own units) of `part`, in file order:
        what `batches` and `actual` give, from one pass over the file instead of two."""
        for _, frame in self._part(part):
            x, _ = self.transform(frame)
            yield from _slices(x, self._actual(frame), batch_size)

    def _actual(self, frame: pd.DataFrame) -> np.ndarray:
        y = frame[self.target]
        if self.task == "classification":
            return self._fitted("actual")[1].encode(y)
        return parse_numbers(y).to_numpy(dtype=np.float64)

    def _fitted(self, method: str) -> tuple[Preprocessor, TargetEncoder]:
        if self.features is None or self.encoder is None:
            raise RuntimeError(f"Stream.{method} called before fit")
        return self.features, self.encoder


def open_stream(
    path: str | Path,
    *,
    target: str,
    task: str,
    seed: int,
    fractions: tuple[float, float, float],
    time: str | None = None,
    features: list[str] | None = None,
    drop: Sequence[str] = (),
    delimiter: str = ",",
    batch_rows: int = 65_536,
    shuffle_buffer: int = 65_536,
    declared: Mapping[str, str] | None = None,
) -> Stream:
    """A Stream over `path` with the feature kinds inferred from its first record batch (not yet fitted);
    `declared` (data.columns) overrides them with numeric, boolean or categorical."""
    declared = dict(declared or {})
    unstreamed = {c: k for c, k in declared.items() if k not in ("numeric", "boolean", "categorical")}
    if unstreamed:
        raise ConfigError(
            [
                f"data.columns.{c}: a streamed table reads numeric, boolean and categorical columns, not {k}"
                for c, k in unstreamed.items()
            ],
            hint="set data.stream.enabled: false to read the table in memory",
        )
    dataset = open_dataset(path, delimiter)
    names = list(dataset.schema.names)
    if target not in names:
        raise DataError(f"{path}: no column '{target}' (data.target)", hint=f"the columns are {names}")
    chosen = features if features is not None else [c for c in names if c not in (target, time)]
    chosen = [c for c in chosen if c not in drop]
    head = next(scan(dataset, None, min(batch_rows, 10_000)), None)
    if head is None or head.num_rows == 0:
        raise DataError(f"{path}: has columns but no data rows", hint="add data rows")
    frame = head.to_pandas()
    kinds = infer_kinds(frame[[c for c in [*chosen, target] if c in names]], target=target)
    kinds.update({c: k for c, k in declared.items() if c in kinds})
    kinds = {c: k for c, k in kinds.items() if c != target and k in ("numeric", "boolean", "categorical")}
    return Stream(
        dataset,
        target,
        task,
        kinds,
        seed,
        fractions,
        time=time,
        batch_rows=batch_rows,
        shuffle_buffer=shuffle_buffer,
        head=frame,
    )


def _numeric_state(acc: _Numeric, normalize: str, impute: str) -> dict:
    if acc.n == 0 or impute == "zero":
        fill = 0.0
    else:
        fill = float(np.median(acc.sample)) if impute == "median" else acc.mean
    center, scale = acc.scale(normalize)
    return {"fill": fill, "center": float(center), "scale": float(scale)}


def _categorical_state(counter: Counter, missing: int, pre: Preprocessor) -> dict:
    if pre.impute_categorical == "missing" or not counter:
        fill = MISSING
    else:
        top = max(counter.values())
        fill = sorted(k for k, v in counter.items() if v == top)[0]
    categories = sorted(set(counter) | ({fill} if missing else set()))
    onehot = pre.encode == "onehot" or (pre.encode == "auto" and len(categories) <= pre.max_onehot)
    return {"fill": fill, "categories": categories, "encoding": "onehot" if onehot else "ordinal"}


def _counts(values: pd.Series) -> Counter:
    """Label -> count, labels as transforms.py writes them (3.0 and '3' are both '3')."""
    out: Counter = Counter()
    for value, n in values.value_counts().items():
        out[category_label(value)] += int(n)
    return out


def _clean(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Per-row cleaning: text in a numeric column and inf become missing; odd booleans too."""
    for c, kind in kinds.items():
        if kind == "numeric":
            column = frame[c]
            if pd.api.types.is_float_dtype(column.dtype) and not np.isinf(column.to_numpy()).any():
                continue  # already clean: no copy (a new column per batch costs memory that is slow to return)
            # the in-memory rule for numbers written as text ("1,234"), with the default decimal point
            values = parse_numbers(column).to_numpy(dtype=np.float64, na_value=np.nan)
            frame[c] = np.where(np.isinf(values), np.nan, values)
        elif kind == "boolean":
            frame[c] = [None if pd.isna(v) else to_boolean(v) for v in frame[c].tolist()]
    return frame


def _check_sorted(column: pd.Series, last, first_row: int, name: str):
    stamps = pd.to_datetime(column, errors="coerce") if not pd.api.types.is_numeric_dtype(column) else column
    values = stamps.to_numpy()
    previous = np.concatenate([[last], values[:-1]]) if last is not None else values[:-1]
    current = values if last is not None else values[1:]
    bad = np.flatnonzero(current < previous)
    if bad.size:
        row = first_row + int(bad[0]) + (0 if last is not None else 1)
        raise DataError(
            f"data.time: column '{name}' goes back in time at data row {row + 1}; a streamed "
            "time split takes rows in file order",
            hint=f"sort the file by '{name}' first",
        )
    return values[-1] if len(values) else last


def _slices(x: np.ndarray, y: np.ndarray, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]
