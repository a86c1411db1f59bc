"""The rows to explain, as the bundle's model sees them, and the run's own test split.

A DATA file goes through the bundle's saved preprocessing, with `predict`'s checks and
errors. Without one, the run's data is read again from the config stored in the bundle and
split exactly as the run split it (tasks.prepare_again), so global importance is measured
on the same test rows the run was judged on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..bundle.predictor import Predictor
from ..config.schema import ExperimentConfig
from ..errors import DataError, UsageError, did_you_mean
from ..tasks import prepare_again


@dataclass
class Inputs:
    x: np.ndarray  # model space: (n, columns) or (n, lookback, features)
    labels: np.ndarray  # (n,) the row of the frame each input stands for (0-based)
    raw: np.ndarray | None  # tabular: (n, features) the user's own values
    actual: np.ndarray | None  # class codes or target values; None without the target column
    last: np.ndarray | None = None  # forecast: last observed target of each window


def model_inputs(predictor: Predictor, frame: pd.DataFrame, *, source: str = "data") -> Inputs:
    task = predictor.task
    missing = [c for c in task.features if c not in frame.columns]
    if missing:
        hints = "; ".join(f"'{c}'{did_you_mean(c, [str(c) for c in frame.columns])}" for c in missing)
        raise DataError(
            f"{source}: missing feature column(s) {hints}",
            hint=f"the model needs the columns: {', '.join(map(str, task.features))}",
        )
    frame = frame.reset_index(drop=True)
    if predictor.series is not None:  # a forecast: windows of the series
        if task.time is not None and task.time in frame.columns:
            frame = frame.iloc[
                np.argsort(pd.to_datetime(frame[task.time], errors="coerce").to_numpy(), kind="stable")
            ].reset_index(drop=True)
        w = predictor.series.windows(frame, task.lookback, task.horizon, part=source)
        return Inputs(w.x, w.end, None, w.actual, w.last)
    assert predictor.features is not None, "a table bundle keeps its preprocessor"
    x = predictor.features.transform(frame[task.features], source=source)
    actual = None
    if task.target in frame.columns:
        assert predictor.target is not None, "a table bundle keeps its target encoder"
        known = frame[task.target].notna().to_numpy().copy()
        if task.classes:
            assert predictor.target.classes is not None, "a classifier's target encoder is fitted"
            known &= frame[task.target].isin(predictor.target.classes).to_numpy()
        frame, x = frame[known].reset_index(drop=True), x[known]
        labels = np.flatnonzero(known)
        target = frame[task.target]
        actual = (
            predictor.target.encode(target)
            if task.classes
            else pd.to_numeric(target, errors="coerce").to_numpy(np.float64)
        )
    else:
        labels = np.arange(len(frame))
    return Inputs(x, labels, frame[task.features].to_numpy(dtype=object), actual)


def test_split(predictor: Predictor) -> pd.DataFrame:
    """The cleaned rows of the run's test split (for a forecast, its test period)."""
    if not predictor.config:
        raise UsageError("this model has no stored config to find its data; pass DATA")
    cfg = ExperimentConfig.from_dict(predictor.config)
    path = cfg.data.path
    if path is None:
        raise UsageError("the run read its data from Python (no data.path); pass DATA or data=")
    prepared = prepare_again(cfg)[2]
    return prepared.table.iloc[prepared.index["test"]].reset_index(drop=True)


def select_rows(spec: str | None, n: int, *, default: int = 200) -> np.ndarray:
    """Positions 0..n-1 picked by SPEC: 'all', '5', '0:100' (end excluded), '3,7,10:20'.

    Without a SPEC, the first `default` rows.
    """
    if spec is None:
        return np.arange(min(n, default))
    if spec.strip() == "all":
        return np.arange(n)
    picked: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if ":" in part:
                lo, hi = (p.strip() for p in part.split(":", 1))
                picked += list(range(int(lo or 0), min(int(hi) if hi else n, n)))
            else:
                picked.append(int(part))
        except ValueError:
            raise UsageError(
                f"--rows {spec!r}: '{part}' is not a row number or range",
                hint="use e.g. 0:100, 3,7,12 or all (rows count from 0)",
            ) from None
    bad = [p for p in picked if not 0 <= p < n]
    if bad:
        raise UsageError(f"--rows {spec!r}: row {bad[0]} is outside 0..{n - 1}", hint=f"{n} rows can be explained")
    if not picked:
        raise UsageError(f"--rows {spec!r}: selects no row")
    return np.asarray(list(dict.fromkeys(picked)), dtype=np.int64)
