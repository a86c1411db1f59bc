"""Split row indices into train / validation / test, or into k folds.

Random and stratified splits draw from a seeded NumPy Generator, so the same seed gives the
same split. A time split never shuffles: rows are taken as already in time order and cut into
contiguous blocks, with `gap` rows dropped at each boundary so that no training window can
see values that a validation or test window predicts. `gap` only applies to time splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, did_you_mean

METHODS = ("random", "stratified", "time")


@dataclass
class Split:
    """Row indices of each part: int64, sorted ascending, disjoint."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split(
    n: int,
    *,
    method: str = "random",
    train: float = 0.7,
    val: float = 0.15,
    test: float = 0.15,
    y=None,
    gap: int = 0,
    seed: int = 0,
    min_rows: int = 1,
) -> Split:
    """Split rows 0..n-1. `min_rows` is the fewest rows a part with a nonzero fraction may get."""
    _check_method(method, y)
    _check_fractions(train, val, test)
    gap = _check_gap(gap)
    boundaries = (val > 0) + (test > 0) if method == "time" else 0
    available = n - gap * boundaries
    n_val, n_test = _round(available * val), _round(available * test)
    n_train = available - n_val - n_test
    _check_sizes(n, method, gap, min_rows, {"train": (train, n_train), "val": (val, n_val), "test": (test, n_test)})
    if method == "time":
        start_val = n_train + gap
        start_test = start_val + n_val + (gap if n_val else 0)
        return Split(_range(0, n_train), _range(start_val, start_val + n_val), _range(start_test, start_test + n_test))
    rng = np.random.default_rng(seed)
    if method == "random":
        order = rng.permutation(n)
        return Split(
            *(np.sort(part) for part in (order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]))
        )
    return _stratified(np.asarray(y), n, n_val, n_test, rng)


def kfold(
    n: int, k: int, *, method: str = "random", y=None, gap: int = 0, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, validation) index pairs. For `time`, expanding windows: train on all rows before
    the fold minus `gap`; random and stratified folds together cover every row once."""
    _check_method(method, y)
    gap = _check_gap(gap)
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ConfigError(f"data.split.folds: needs a whole number of at least 2, got {k!r}")
    parts = k + 1 if method == "time" else k
    if n < parts:
        raise DataError(
            f"{n} rows cannot be cut into {parts} blocks for {k}-fold {method} validation",
            hint="use fewer folds or more data",
        )
    rng = np.random.default_rng(seed)
    if method == "time":
        return _time_folds(n, k, gap)
    if method == "random":
        fold_of = np.empty(n, dtype=np.int64)
        for fold, rows in enumerate(np.array_split(rng.permutation(n), k)):
            fold_of[rows] = fold
    else:
        fold_of = _stratified_folds(np.asarray(y), n, k, rng)
    rows = np.arange(n, dtype=np.int64)
    return [(rows[fold_of != f], rows[fold_of == f]) for f in range(k)]


def _range(start: int, stop: int) -> np.ndarray:
    return np.arange(start, stop, dtype=np.int64)


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))  # half up: np.round's half-to-even surprises people


def _check_method(method: str, y) -> None:
    if method not in METHODS:
        raise ConfigError(
            f"data.split.method: unknown method '{method}'{did_you_mean(method, METHODS)}; choose one of {METHODS}"
        )
    if method == "stratified" and y is None:
        raise ConfigError(
            "data.split.method: 'stratified' needs the target labels (y)", hint="pass y, or use method 'random'"
        )


def _check_fractions(train: float, val: float, test: float) -> None:
    fractions = {"train": train, "val": val, "test": test}
    problems = [
        f"data.split.{name}: must be between 0 and 1, got {value}"
        for name, value in fractions.items()
        if not 0 <= value <= 1
    ]
    if train <= 0:
        problems.append("data.split.train: must be more than 0")
    if abs(train + val + test - 1) > 1e-6:
        problems.append(
            f"data.split: train + val + test must add up to 1, but {train} + {val} + {test} = {train + val + test:g}"
        )
    if problems:
        raise ConfigError(problems)


def _check_gap(gap) -> int:
    if not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ConfigError(f"data.split.gap: must be a whole number of rows, 0 or more; got {gap!r}")
    return int(gap)


def _check_sizes(n, method, gap, min_rows, parts) -> None:
    short = [name for name, (fraction, size) in parts.items() if fraction > 0 and size < max(min_rows, 1)]
    if not short:
        return
    got = ", ".join(f"{name} {max(size, 0)}" for name, (_, size) in parts.items())
    gaps = f", with {gap} gap rows dropped at each boundary" if method == "time" and gap else ""
    raise DataError(
        f"{n} rows are too few for this split: the parts get {got}{gaps}, but each part needs at "
        f"least {max(min_rows, 1)} rows ({', '.join(short)} fall{'s' if len(short) == 1 else ''} short)",
        hint="use more data, a shorter lookback or horizon, a smaller data.split.gap, or larger "
        f"fractions for {', '.join(short)}",
    )


def _classes(y: np.ndarray, n: int, smallest: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Class code of each row and the rows per class; refuses classes with fewer than `smallest`."""
    if len(y) != n:
        raise DataError(f"stratification labels have {len(y)} values for {n} rows")
    codes, labels = pd.factorize(pd.Series(y), use_na_sentinel=False)
    counts = np.bincount(codes, minlength=len(labels))
    for label, count in zip(labels, counts):
        if count < smallest:
            raise DataError(
                f"class {label!r} has only {count} row{'s' if count != 1 else ''}, too few for {what} "
                f"(each class needs at least {smallest})",
                hint="use data.split.method: random, or collect more rows of that class",
            )
    return codes, counts


def _allocate(total: int, counts: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Share `total` rows among classes in proportion to `counts`, at most `caps` each (largest remainder)."""
    ideal = total * counts / counts.sum()
    share = np.minimum(np.floor(ideal).astype(np.int64), caps)
    order = np.argsort(-(ideal - share), kind="stable")
    while share.sum() < total and (share < caps).any():
        for c in order:
            if share.sum() < total and share[c] < caps[c]:
                share[c] += 1
    return share


def _stratified(y, n, n_val, n_test, rng) -> Split:
    codes, counts = _classes(y, n, 2, "a stratified split")
    # Each class keeps at least one row in train; test is allocated first, then val.
    test_share = _allocate(n_test, counts, counts - 1)
    val_share = _allocate(n_val, counts, counts - 1 - test_share)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in range(len(counts)):
        rows = rng.permutation(np.flatnonzero(codes == c))
        parts["test"].append(rows[: test_share[c]])
        parts["val"].append(rows[test_share[c] : test_share[c] + val_share[c]])
        parts["train"].append(rows[test_share[c] + val_share[c] :])
    return Split(*(np.sort(np.concatenate(parts[p])).astype(np.int64) for p in ("train", "val", "test")))


def _stratified_folds(y, n, k, rng) -> np.ndarray:
    codes, counts = _classes(y, n, k, f"{k}-fold stratified validation")
    fold_of = np.empty(n, dtype=np.int64)
    offset = 0
    for c in range(len(counts)):
        rows = rng.permutation(np.flatnonzero(codes == c))
        # Deal rows round-robin, continuing where the last class stopped, so folds stay equal in size.
        fold_of[rows] = (offset + np.arange(len(rows))) % k
        offset += len(rows)
    return fold_of


def _time_folds(n, k, gap) -> list[tuple[np.ndarray, np.ndarray]]:
    blocks = np.array_split(np.arange(n, dtype=np.int64), k + 1)
    folds = []
    for block in blocks[1:]:
        train_end = int(block[0]) - gap
        if train_end < 1:
            raise DataError(
                f"{n} rows are too few for {k} time folds with a gap of {gap}: the first fold has no training rows",
                hint="use fewer folds, a smaller data.split.gap, or more data",
            )
        folds.append((_range(0, train_end), block))
    return folds
