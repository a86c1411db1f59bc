"""A forecast: the next `horizon` values of a series from its last `lookback` rows.

cleaned table in time order -> time-ordered split with a gap -> SeriesTransform fitted on
the training rows -> windows that never straddle a split -> judged beside persistence
("tomorrow = today") or seasonal naive, with a block bootstrap
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import SeriesTransform, Split, split, windows
from ..errors import BundleError, ConfigError, DataError
from .base import Head, Prepared, Task, TaskInfo
from .common import (
    augment_problems,
    clean_frame,
    column_problems,
    declared_problems,
    evaluate_settings,
    finish,
    image_data,
    judged_columns,
    labelled,
    labelled_metric,
    loss_problems,
    metric_problems,
    parts_of,
    read_frame,
    reference_problems,
    same_task,
    smoothing_problems,
    split_method,
    table_key_problems,
    table_summary,
    target_values,
    text_key_problems,
    value_columns,
    value_head,
    watched_metric,
)
from .registry import register

if TYPE_CHECKING:  # the schema (pydantic) is not shipped where only ONNX prediction runs
    from ..config.schema import EvaluateConfig


@register
class Forecast(Task):
    name = "forecast"
    types = ("forecast",)
    unit = "windows"
    phrase = "forecast"
    curve_order = "recent"  # the data curve keeps the most recent training windows

    def claims(self, cfg: Any, data: Any) -> bool:
        return cfg.task.type == "forecast" and not image_data(cfg, data)

    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        return task.type == "forecast"

    def refused(self, cfg: Any) -> list[str]:
        method, problems = cfg.data.split.method, []
        if method not in ("auto", "time"):
            problems.append(
                f"data.split.method: forecasting needs 'time' (or auto), got '{method}': "
                "shuffling a series leaks the future into training"
            )
        if cfg.train.class_weights != "none":
            problems.append("train.class_weights: weights classes in the loss; a forecast has none (remove it)")
        problems += text_key_problems(cfg, "a forecast reads no text")
        problems += table_key_problems(cfg, "a forecast reads a series (data.transform scales its target)")
        problems += smoothing_problems(cfg, "forecast")
        problems += reference_problems(cfg, False, "a forecast")
        problems += declared_problems(
            cfg, ("numeric", "categorical", "boolean", "datetime"), "is not read by a forecast (list it in data.drop)"
        )
        return problems

    def read(self, cfg: Any, data: Any, log: Any) -> pd.DataFrame:
        return read_frame(cfg, data)

    def describe(self, source: pd.DataFrame, name: str, kind: str) -> str:
        return f"read {name}: {len(source)} rows, {source.shape[1]} columns; task {kind}"

    def check(self, cfg: Any, source: pd.DataFrame, name: str) -> str:
        problems = column_problems(cfg, source, name)
        problems += loss_problems("forecast", cfg.train.loss)
        problems += augment_problems(cfg, "series")
        problems += metric_problems(cfg, "forecast", source)
        return finish(problems, "forecast")

    def prepare(self, cfg: Any, source: pd.DataFrame, kind: str, name: str, parts: Split | None = None) -> Prepared:
        df, kinds, cleaning = clean_frame(cfg, source, "forecast", name)
        prepared = prepare_windows(cfg, df, kinds, name, parts)
        prepared.cleaning = cleaning
        return prepared

    def gap(self, cfg: Any) -> int:
        """A whole window by default, so no window of one part sees a value of the next."""
        gap = cfg.data.split.gap
        return cfg.data.window.lookback + cfg.data.window.horizon if gap is None else gap

    def refit(self, cfg: Any, prepared: Prepared, parts: Split) -> Prepared:
        refitted = prepare_windows(cfg, prepared.table, prepared.kinds, "data", parts)
        refitted.cleaning = prepared.cleaning
        return refitted

    def head(self, cfg: Any, prepared: Prepared) -> Head:
        return value_head(cfg, prepared)

    def augmentation(self, settings: dict[str, Any], prepared: Prepared) -> Any:
        from ..data import augment  # torch: imported where a run trains

        series = prepared.series
        # Levels are scaled about each window's last value, which the forecast is measured
        # against; differenced inputs (changes) about "no change", so the changes are scaled.
        about = "last" if series.transform_name == "none" else [-c / s for c, s in series.inputs]
        return augment.from_config(settings, "series", about=about)

    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        raw = model.raw_outputs(prepared.x[part])
        found = run_baselines(evaluate_settings(model.config), prepared, part)
        return model.decode(raw, prepared.last[part]), next(iter(found.values()))

    def judged(self, prepared: Prepared, evaluate: EvaluateConfig, part: str = "test") -> dict[str, Any]:
        from ..evaluation import block_length

        found = run_baselines(evaluate, prepared, part)
        name, *others = found
        return {
            "baseline_name": name,
            "beside": {other: found[other] for other in others} or None,
            "block": block_length(prepared.rows[part], prepared.task.horizon),
        }

    def watched(self, cfg: Any, prepared: Prepared) -> str | None:
        return None if cfg.train.metric == "loss" else watched_metric(cfg, prepared)

    def validation_metric(self, model: Any, prepared: Prepared, compute: Any):
        return labelled_metric(model, prepared, compute)

    def extra_metrics(
        self, model: Any, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray, cfg: Any
    ) -> dict[str, Any]:
        if prepared.task.horizon == 1:
            return {}
        return {"per_step": per_step(prepared.actual["test"], model_out, baseline_out)}

    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        """Forecasts stamped with the time of their first forecast step; horizons over one get `_1.._h` columns."""
        task, out = prepared.task, pd.DataFrame()
        if task.time is not None and prepared.frame is not None:
            rows = prepared.index["test"][prepared.ends["test"] + 1]
            out[task.time] = prepared.frame[task.time].iloc[rows].to_numpy()
        return judged_columns(out, prepared.actual["test"], model_out, baseline_out)

    def summary(self, prepared: Prepared) -> dict[str, Any]:
        return table_summary(prepared, keep_target=True)

    def champion_outputs(self, champion: Any, prepared: Prepared, path: str) -> np.ndarray:
        task = prepared.task
        same_task(champion, task, path)
        if champion.task.horizon != task.horizon:
            raise BundleError(
                f"evaluate.gates.compare_to: {path} forecasts {champion.task.horizon} steps, this run {task.horizon}"
            )
        # Forecasting from every row of the whole table: the champion reads only each window's past.
        pred = champion.predict(prepared.table, source=path)
        rows = prepared.index["test"][prepared.ends["test"]]
        cols = ["prediction"] if task.horizon == 1 else [f"prediction_{k + 1}" for k in range(task.horizon)]
        return pred[cols].iloc[rows].to_numpy(dtype=np.float64)

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        return model.series.target_from_model(raw, last)

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """At each row with `lookback` rows of history, the next `horizon` values."""
        task = model.task
        order = np.arange(len(frame))
        if task.time is not None and task.time in frame.columns:
            stamps = pd.to_datetime(frame[task.time], errors="coerce")
            if stamps.isna().any():
                row = int(np.flatnonzero(stamps.isna().to_numpy())[0]) + 1
                raise DataError(f"{source}: row {row}, column '{task.time}': not a date or time")
            order = np.argsort(stamps.to_numpy(), kind="stable")
        ordered = frame.iloc[order].reset_index(drop=True)
        inputs, raw_target = model.series.transform(ordered, source=source)
        lookback, horizon = task.lookback, task.horizon
        # A differenced series has no value at its first row (`warmup`); windows start after it.
        ends = np.arange(model.series.warmup + lookback - 1, len(ordered))
        preds = np.full((len(ordered), horizon), np.nan)
        if len(ends):
            # (n_windows, lookback, features): every window ends at a row of the input
            idx = ends[:, None] - np.arange(lookback - 1, -1, -1)[None, :]
            x = inputs[idx]
            ok = np.isfinite(x).all(axis=(1, 2))
            if ok.any():
                raw = model.raw_outputs(x[ok].astype(np.float32))
                preds[ends[ok]] = self.decode(model, raw, raw_target[ends[ok]])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return value_columns(frame.copy(), {"prediction": preds[back]})

    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        from ..evaluation import block_length

        task = model.task
        frame = labelled(model, data, source)
        if task.time is not None and task.time in frame.columns:
            frame = frame.iloc[np.argsort(pd.to_datetime(frame[task.time], errors="coerce").to_numpy(), kind="stable")]
            frame = frame.reset_index(drop=True)
        pred = model.predict(frame, source=source)
        h = task.horizon
        cols = ["prediction"] if h == 1 else [f"prediction_{k + 1}" for k in range(h)]
        values = target_values(frame[task.target], getattr(model.features, "decimal", "."))
        # A forecast made at row t is judged against rows t+1..t+h, persistence repeats row t,
        # seasonal naive (the bundle's evaluate.season m) rows t-m+1..t.
        evaluate = evaluate_settings(model.config)
        season = evaluate.season or 1
        ends = np.arange(season - 1, len(frame) - h)
        model_out = pred[cols].to_numpy(dtype=np.float64)[ends]
        actual = np.stack([values[ends + k + 1] for k in range(h)], axis=1)
        history = values[ends[:, None] - season + 1 + np.arange(season)]  # (n, season), oldest first
        ok = np.isfinite(model_out).all(axis=1) & np.isfinite(actual).all(axis=1) & np.isfinite(history).all(axis=1)
        if not ok.any():
            raise DataError(
                f"{source}: no row has {task.lookback} rows of history and {h} to forecast",
                hint=f"give at least {task.lookback + h + 1} rows",
            )
        ends, model_out, actual, history = ends[ok], model_out[ok], actual[ok], history[ok]
        found = baselines(evaluate, history[:, -1], h, lambda m: history[:, -m:])
        name, *others = found
        baseline_out = found[name]
        table = pd.DataFrame()
        if task.time is not None and task.time in frame.columns:
            table[task.time] = frame[task.time].to_numpy()[ends + 1]
        table = value_columns(table, {"actual": actual, "prediction": model_out, "baseline": baseline_out})
        judged = {
            "baseline_name": name,
            "beside": {other: found[other] for other in others} or None,
            "block": block_length(len(actual), h),
        }
        return {
            "y": actual,
            "model_out": model_out,
            "baseline_out": baseline_out,
            "table": table,
            "judged": judged,
            "notes": [],
            "metrics": {"data": {"kinds": {c: v.get("kind", "") for c, v in model.input_schema().items()}}},
        }


def prepare_windows(
    cfg: Any, df: pd.DataFrame, kinds: dict[str, str], source: str, parts: Split | None = None
) -> Prepared:
    """`parts` replaces the configured split (tuning's time-ordered folds); each part must be contiguous."""
    data = cfg.data
    target, win = data.target, data.window
    columns = [c for c in df.columns if c not in (target, data.time) and kinds.get(c) in ("numeric", "boolean")]
    columns = [target, *columns]
    gap = Forecast().gap(cfg)
    method = split_method(cfg, "forecast")
    if method != "time":
        raise DataError(f"{source}: forecasting needs data.split.method: time (got {method})")
    # Each part must hold one whole window: lookback inputs, horizon targets, and one
    # extra row when inputs are differenced.
    extra = 0 if data.transform == "none" else 1
    need = win.lookback + win.horizon + extra
    if parts is None:
        parts = split(
            len(df),
            method="time",
            train=data.split.train,
            val=data.split.val,
            test=data.split.test,
            gap=gap,
            min_rows=need,
        )
    series = SeriesTransform(columns, target, transform=data.transform, normalize=data.normalize)
    series.fit(df.iloc[parts.train])
    x, y, actual, rows, last, index, ends, target_raw = {}, {}, {}, {}, {}, {}, {}, {}
    notes = []
    for name, idx in parts_of(parts):
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
    info = TaskInfo(
        type="forecast",
        target=target,
        features=columns,
        time=data.time,
        lookback=win.lookback,
        horizon=win.horizon,
        delimiter=data.delimiter,
    )
    return Prepared(
        info,
        x,
        y,
        actual,
        rows,
        series=series,
        last=last,
        notes=notes,
        index=index,
        ends=ends,
        target_raw=target_raw,
        frame=df,
        kinds=kinds,
    )


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def baselines(
    evaluate: EvaluateConfig, last: np.ndarray, horizon: int, recent: Callable[[int], np.ndarray]
) -> dict[str, np.ndarray]:
    """A forecast's naive baselines by name, the deciding one first: persistence and, with
    evaluate.season, seasonal naive, which decides only with evaluate.baseline: seasonal_naive.

    `recent(season)` gives each window's last `season` observed values (n, season), oldest first.
    """
    from ..evaluation import persistence, seasonal_naive
    from ..evaluation.baselines import seasonal_name
    from ..evaluation.score import BASELINE_NAMES

    found = {BASELINE_NAMES["forecast"]: persistence(last, horizon)}
    season = evaluate.season
    if season:
        seasonal = {seasonal_name(season): seasonal_naive(recent(season), horizon)}
        found = {**seasonal, **found} if evaluate.baseline == "seasonal_naive" else {**found, **seasonal}
    return found


def run_baselines(evaluate: EvaluateConfig, prepared: Prepared, part: str) -> dict[str, np.ndarray]:
    """`baselines` on one split of a run's windows."""
    return baselines(
        evaluate, prepared.last[part], prepared.task.horizon, lambda season: recent(prepared, part, season)
    )


def recent(prepared: Prepared, part: str, season: int) -> np.ndarray:
    """Each forecast window's last `season` target values in original units: (n, season), oldest first."""
    ends = prepared.ends[part]
    first = ends - season + 1
    if len(first) and first.min() < 0:
        raise ConfigError(
            f"evaluate.season: {season} rows reach back before the first rows of the {part} split; "
            f"each window holds data.window.lookback {prepared.task.lookback}",
            hint="set data.window.lookback to at least evaluate.season",
        )
    return prepared.target_raw[part][first[:, None] + np.arange(season)]


def per_step(actual: np.ndarray, model_out: np.ndarray, baseline_out: np.ndarray) -> dict[str, list[float]]:
    """Forecast MAE and RMSE at each step ahead (1..horizon), network and baseline: errors grow with the step."""
    out: dict[str, list[float]] = {}
    for name, pred in (("", model_out), ("baseline_", baseline_out)):
        error = np.asarray(pred, dtype=np.float64) - np.asarray(actual, dtype=np.float64)  # (n, horizon)
        out[f"{name}mae"] = np.abs(error).mean(axis=0).tolist()
        out[f"{name}rmse"] = np.sqrt((error**2).mean(axis=0)).tolist()
    return out
