"""From a cleaned table to model-space arrays per split, fitting only on the training split.

Two shapes of problem: tabular rows (classification, regression) and time-series windows
(forecasting). Both end in a `Prepared`: arrays for the trainer, the fitted transforms
packed in a Predictor-to-be, and what evaluation needs to score the test split in the
target's own units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config.schema import ExperimentConfig
from ..data import (CleanOptions, CleaningLog, Preprocessor, SeriesTransform, Split, TargetEncoder, clean, split,
                   windows)
from ..errors import DataError
from ..bundle.predictor import TaskInfo


@dataclass
class Prepared:
    task: TaskInfo
    x: dict[str, np.ndarray]          # split name -> model inputs
    y: dict[str, np.ndarray]          # split name -> model targets (codes or scaled values)
    actual: dict[str, np.ndarray]     # split name -> targets in original units or class codes
    rows: dict[str, int]              # rows (tabular) or windows (forecast) per split
    features: Preprocessor | None = None
    target: TargetEncoder | None = None
    series: SeriesTransform | None = None
    last: dict[str, np.ndarray] = field(default_factory=dict)   # forecast: last observed value
    index: dict[str, np.ndarray] = field(default_factory=dict)  # split name -> its rows' positions in the table
    ends: dict[str, np.ndarray] = field(default_factory=dict)   # forecast: each window's last input row, in `index`
    # forecast: each part's target in original units, row by row (what seasonal naive looks back on)
    target_raw: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    images: Any = None                # image classification: the fitted data.images.ImagePreprocessor
    files: dict[str, list[str]] = field(default_factory=dict)  # images read from a folder: each split's files


def clean_and_split(cfg: ExperimentConfig, frame: pd.DataFrame, task: str,
                    source: str) -> tuple[pd.DataFrame, dict[str, str], CleaningLog, Prepared]:
    """Clean `frame` as the config says, then split and fit the transforms on the training split.

    The one path from a raw table to a run's splits: a run takes it, and so does anything that
    must see the same test rows again later (explanations re-split the run's data this way).
    """
    data = cfg.data
    options = CleanOptions(**{k: v for k, v in data.clean.model_dump().items()
                              if k in CleanOptions.__dataclass_fields__})
    features = None if data.features is None else [c for c in data.features if c not in data.drop]
    if features is None and data.drop:
        features = [c for c in frame.columns if c not in data.drop and c not in (data.target, data.time)]
    df, kinds, cleaning = clean(frame, target=data.target, task=task, time=data.time,
                                features=features, options=options, source=source, decimal=data.decimal)
    if task == "forecast":
        return df, kinds, cleaning, prepare_forecast(cfg, df, kinds, source)
    return df, kinds, cleaning, prepare_tabular(cfg, df, kinds, task, source)


def split_method(cfg: ExperimentConfig, task: str) -> str:
    method = cfg.data.split.method
    if method != "auto":
        return method
    if task == "forecast" or cfg.data.time:
        return "time"
    return "stratified" if task == "classification" else "random"


def prepare_tabular(cfg: ExperimentConfig, df: pd.DataFrame, kinds: dict[str, str], task: str,
                    source: str, parts: Split | None = None) -> Prepared:
    """`parts` replaces the configured split (tuning's k folds); the transforms are fitted on its train rows."""
    data = cfg.data
    target = data.target
    features = [c for c in df.columns if c not in (target, data.time)]
    method = split_method(cfg, task)
    encoder = TargetEncoder(task)
    # Stratification needs labels before the encoder is fitted; their text does for that.
    labels = df[target].astype(str).to_numpy() if method == "stratified" else None
    notes = []
    if method == "stratified" and data.split.method == "auto":
        counts = df[target].astype(str).value_counts()
        rare = counts[counts < 2]
        if len(rare):
            # Chosen for the user, so fall back rather than fail; an explicit `stratified` still refuses.
            method, labels = "random", None
            notes.append(f"random split instead of stratified: class(es) {list(rare.index)} have a single row")
    if parts is None:
        parts = split(len(df), method=method, train=data.split.train, val=data.split.val, test=data.split.test,
                      y=labels, gap=data.split.gap or 0, seed=cfg.train.seed)
    train_rows = df.iloc[parts.train]
    encoder.fit(train_rows[target])
    pre = Preprocessor(
        {c: kinds[c] for c in features}, normalize=data.normalize, encode=data.encode,
        max_onehot=data.max_onehot, impute_numeric=data.clean.impute_numeric,
        impute_categorical=data.clean.impute_categorical, decimal=data.decimal,
    ).fit(train_rows[features])
    x, y, actual, rows, index = {}, {}, {}, {}, {}
    for name, idx in _parts(parts):
        part = df.iloc[idx]
        index[name] = idx
        x[name] = pre.transform(part[features], source=source)
        rows[name] = len(idx)
        if task == "classification":
            unseen = sorted(set(part[target]) - set(encoder.classes), key=str)
            if unseen:
                # A class the training split never saw cannot be predicted; drop those rows.
                keep = ~part[target].isin(unseen).to_numpy()
                notes.append(f"{name}: {int((~keep).sum())} rows of classes absent from training dropped: {unseen}")
                x[name], part, index[name] = x[name][keep], part[keep], idx[keep]
                rows[name] = len(part)
        y[name] = encoder.encode(part[target])
        actual[name] = y[name] if task == "classification" else part[target].to_numpy(dtype=np.float64)
    info = TaskInfo(type=task, target=target, features=features, time=data.time,
                    classes=list(encoder.classes) if task == "classification" else [],
                    delimiter=data.delimiter)
    return Prepared(info, x, y, actual, rows, features=pre, target=encoder, notes=notes, index=index)


def prepare_forecast(cfg: ExperimentConfig, df: pd.DataFrame, kinds: dict[str, str], source: str,
                     parts: Split | None = None) -> Prepared:
    """`parts` replaces the configured split (tuning's time-ordered folds); each part must be contiguous."""
    data = cfg.data
    target, win = data.target, data.window
    columns = [c for c in df.columns if c not in (target, data.time) and kinds.get(c) in ("numeric", "boolean")]
    columns = [target, *columns]
    gap = data.split.gap if data.split.gap is not None else win.lookback + win.horizon
    method = split_method(cfg, "forecast")
    if method != "time":
        raise DataError(f"{source}: forecasting needs data.split.method: time (got {method})")
    # Each part must hold one whole window: lookback inputs, horizon targets, and one
    # extra row when inputs are differenced.
    extra = 0 if data.transform == "none" else 1
    need = win.lookback + win.horizon + extra
    if parts is None:
        parts = split(len(df), method="time", train=data.split.train, val=data.split.val, test=data.split.test,
                      gap=gap, min_rows=need)
    series = SeriesTransform(columns, target, transform=data.transform, normalize=data.normalize)
    series.fit(df.iloc[parts.train])
    x, y, actual, rows, last, index, ends, target_raw = {}, {}, {}, {}, {}, {}, {}, {}
    notes = []
    for name, idx in _parts(parts):
        part = df.iloc[idx].reset_index(drop=True)
        index[name] = idx
        if data.time and len(part):
            first, final = part[data.time].iloc[0], part[data.time].iloc[-1]
            notes.append(f"{name} period {_stamp(first)} .. {_stamp(final)} ({len(part)} rows)")
        inputs, raw = series.transform(part, source=source)
        w = windows(inputs, raw, series, win.lookback, win.horizon, win.stride)
        x[name], y[name], actual[name], last[name], ends[name] = w.x, w.y, w.actual, w.last, w.end
        target_raw[name] = np.asarray(raw, dtype=np.float64)
        rows[name] = len(w.x)
    info = TaskInfo(type="forecast", target=target, features=columns, time=data.time,
                    lookback=win.lookback, horizon=win.horizon, delimiter=data.delimiter)
    return Prepared(info, x, y, actual, rows, series=series, last=last, notes=notes, index=index, ends=ends,
                    target_raw=target_raw)


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _parts(parts: Split) -> list[tuple[str, np.ndarray]]:
    return [(name, getattr(parts, name)) for name in ("train", "val", "test")]


def class_weights(cfg: ExperimentConfig, prepared: Prepared) -> list[float] | None:
    """Per-class loss weights from `train.class_weights`: none, balanced, or {label: weight}."""
    setting = cfg.train.class_weights
    if prepared.task.type != "classification" or setting == "none":
        return None
    classes = prepared.task.classes
    if setting == "balanced":
        codes = prepared.actual["train"]  # class codes; `y` may already be bce's float column
        counts = np.bincount(codes, minlength=len(classes)).astype(float)
        return list(len(codes) / (len(classes) * np.maximum(counts, 1)))
    by_name = {str(k): float(v) for k, v in setting.items()}
    unknown = sorted(set(by_name) - {str(c) for c in classes})
    if unknown:
        from ..errors import ConfigError

        raise ConfigError(f"train.class_weights: unknown classes {unknown}; the classes are {classes}")
    return [by_name.get(str(c), 1.0) for c in classes]
