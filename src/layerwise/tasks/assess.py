"""Step 8 inside a run: from a trained predictor and its Prepared splits to the evidence.

The evaluation package works on plain arrays; this is the glue that knows where a run keeps
them: the test outputs beside the baseline's, the test predictions table, the champion's
outputs on the same rows, what the leakage audit and the report's data section read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..config.schema import ExperimentConfig
from ..data.kinds import parse_numbers
from ..errors import BundleError, ConfigError
from ..evaluation import majority_baseline, mean_baseline, median_baseline, persistence, seasonal_naive
from ..evaluation.baselines import constant, constant_kind, seasonal_name
from ..evaluation.metrics import TASK_METRICS, resolve, why_unavailable
from ..evaluation.score import BASELINE_NAMES
from ..bundle.predictor import Predictor
from .prepare import Prepared


def outputs(predictor: Predictor, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Model and deciding baseline outputs on one split: (n, k) probabilities, or values in target units.

    The baseline is fitted on the training split only and predicts the same rows; which one
    follows the run's evaluate section (`predictor.config`): the training median or mean by
    the deciding metric, persistence or seasonal naive by evaluate.baseline.
    """
    task = prepared.task
    raw = predictor.raw_outputs(prepared.x[part])
    n = len(raw)
    if task.type == "classification":
        return predictor.probabilities(raw), majority_baseline(prepared.actual["train"], task.n_classes, n)
    evaluate = evaluate_settings(predictor.config)
    if task.type == "forecast":
        found = run_forecast_baselines(evaluate, prepared, part)
        return predictor.decode(raw, prepared.last[part]), next(iter(found.values()))
    metric = resolve(task.type, evaluate.get("metric", "auto"))
    return predictor.decode(raw), constant_baseline(baseline_fit(prepared), metric, n)[0]


def evaluate_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    """A run's evaluate section as a plain dict (a bundle's config, or ExperimentConfig.to_dict())."""
    return dict((config or {}).get("evaluate") or {})


def constant_baseline(fit: dict[str, Any], metric: str, n: int) -> tuple[np.ndarray, str, str | None]:
    """A regression baseline_fit's constant for the deciding `metric`, for `n` rows: (outputs, name, note).

    A bundle saved before the median was kept holds the mean only: it is judged beside that,
    under its own name, and the note says so.
    """
    kind = constant_kind(metric)
    if kind not in fit:
        return constant(fit["mean"], n), "the training mean", (
            f"this bundle keeps only its training mean, so it is judged beside that; for {metric} the training "
            "median is the fairer constant (re-run `layerwise run` to save it)")
    return constant(fit[kind], n), f"the training {kind}", None


def forecast_baselines(evaluate: dict[str, Any], last: np.ndarray, horizon: int,
                       recent: Callable[[int], np.ndarray]) -> dict[str, np.ndarray]:
    """A forecast's naive baselines by name, the deciding one first: persistence and, with
    evaluate.season, seasonal naive, which decides only with evaluate.baseline: seasonal_naive.

    `recent(season)` gives each window's last `season` observed values (n, season), oldest first.
    """
    found = {BASELINE_NAMES["forecast"]: persistence(last, horizon)}
    season = evaluate.get("season")
    if season:
        seasonal = {seasonal_name(season): seasonal_naive(recent(season), horizon)}
        found = {**seasonal, **found} if evaluate.get("baseline") == "seasonal_naive" else {**found, **seasonal}
    return found


def run_forecast_baselines(evaluate: dict[str, Any], prepared: Prepared, part: str) -> dict[str, np.ndarray]:
    """forecast_baselines on one split of a run's windows."""
    return forecast_baselines(evaluate, prepared.last[part], prepared.task.horizon,
                              lambda season: recent(prepared, part, season))


def recent(prepared: Prepared, part: str, season: int) -> np.ndarray:
    """Each forecast window's last `season` target values in original units: (n, season), oldest first."""
    ends = prepared.ends[part]
    first = ends - season + 1
    if len(first) and first.min() < 0:
        raise ConfigError(f"evaluate.season: {season} rows reach back before the first rows of the {part} split; "
                          f"each window holds data.window.lookback {prepared.task.lookback}",
                          hint="set data.window.lookback to at least evaluate.season")
    return prepared.target_raw[part][first[:, None] + np.arange(season)]


def beside(evaluate: dict[str, Any], prepared: Prepared, part: str = "test") -> dict[str, Any]:
    """`judge`'s baseline_name and beside for a run: the deciding baseline's name and, for a
    forecast with evaluate.season, the other baseline's outputs. Empty where score names the
    baseline itself (the majority class; the training median or mean, by the deciding metric)."""
    task = prepared.task
    if task.type != "forecast":
        return {}
    found = run_forecast_baselines(evaluate, prepared, part)
    name, *others = found
    return {"baseline_name": name, "beside": {other: found[other] for other in others} or None}


def validation_metric(predictor: Predictor, prepared: Prepared) -> str:
    """The metric the trainer computes on the validation split each epoch: train.metric (auto:
    evaluate.metric's; auto: accuracy, or MAE), refused (ConfigError) where this data cannot give it."""
    config, task = predictor.config or {}, prepared.task
    chosen = (config.get("train") or {}).get("metric", "auto")
    key = "train.metric" if chosen != "auto" else "evaluate.metric"
    name = resolve(task.type, chosen, evaluate_settings(config).get("metric", "auto"))
    classification = task.type == "classification"
    why = why_unavailable(name, task.type, classes=task.n_classes if classification else None,
                          values=None if classification else prepared.actual["train"])
    if why:
        raise ConfigError(f"{key}: '{name}' {why}",
                          hint="train.metric (auto: evaluate.metric's) is what each epoch computes; a search sets it "
                               "from tune.metric")
    return name


def metric_problems(cfg: ExperimentConfig, task: str, frame: pd.DataFrame) -> list[str]:
    """evaluate.metric, train.metric and tune.metric checked against this task and target before
    any training: ROC AUC needs two classes, MAPE a target that never reaches zero, and each
    kind of problem has its own metrics."""
    target = cfg.data.target
    if task not in TASK_METRICS or target not in frame.columns:
        return []
    y = frame[target].dropna()
    facts: dict[str, Any] = ({"classes": int(y.nunique())} if task == "classification"
                             else {"values": parse_numbers(y, cfg.data.decimal).to_numpy(dtype=np.float64)})
    keys = {"evaluate.metric": cfg.evaluate.metric, "train.metric": cfg.train.metric,
            "tune.metric": "auto" if cfg.tune is None else cfg.tune.metric}
    problems = []
    for key, metric in keys.items():
        why = None if metric in ("auto", "loss") else why_unavailable(metric, task, **facts)
        if why:
            problems.append(f"{key}: '{metric}' {why}")
    return problems


def per_step(actual: np.ndarray, model_out: np.ndarray, baseline_out: np.ndarray) -> dict[str, list[float]]:
    """Forecast MAE and RMSE at each step ahead (1..horizon), network and baseline: errors grow with the step."""
    out: dict[str, list[float]] = {}
    for name, pred in (("", model_out), ("baseline_", baseline_out)):
        error = np.asarray(pred, dtype=np.float64) - np.asarray(actual, dtype=np.float64)   # (n, horizon)
        out[f"{name}mae"] = np.abs(error).mean(axis=0).tolist()
        out[f"{name}rmse"] = np.sqrt((error**2).mean(axis=0)).tolist()
    return out


def baseline_fit(prepared: Prepared) -> dict[str, Any]:
    """What the baseline learned from the training split, saved so a bundle can be re-judged on new
    data: the class priors, or both constants (which one is used follows the deciding metric)."""
    task, train = prepared.task, prepared.actual["train"]
    if task.type == "classification":
        return {"priors": majority_baseline(train, task.n_classes, 1)[0].tolist()}
    if task.type == "forecast":
        return {}  # persistence and seasonal naive learn nothing
    return {"mean": mean_baseline(train, 1)[0].tolist(), "median": median_baseline(train, 1)[0].tolist()}


def predictions_frame(prepared: Prepared, df: pd.DataFrame, model_out: np.ndarray,
                      baseline_out: np.ndarray) -> pd.DataFrame:
    """The test split as a table: time (if any), actual, prediction, baseline; class probabilities.

    Forecasts are stamped with the time of their first forecast step; horizons over one get
    `_1.._h` columns.
    """
    task = prepared.task
    out = pd.DataFrame()
    if task.time is not None:
        rows = prepared.index["test"]
        if task.type == "forecast":
            rows = rows[prepared.ends["test"] + 1]
        out[task.time] = df[task.time].iloc[rows].to_numpy()
    if task.type == "classification":
        decode = prepared.target.decode
        out["actual"] = decode(prepared.actual["test"])
        out["prediction"] = decode(model_out.argmax(axis=1))
        out["baseline"] = decode(baseline_out.argmax(axis=1))
        for j, label in enumerate(task.classes):
            out[f"proba_{label}"] = model_out[:, j]
        return out
    actual = prepared.actual["test"].reshape(len(model_out), -1)
    model, base = model_out.reshape(len(model_out), -1), baseline_out.reshape(len(model_out), -1)
    width = actual.shape[1]
    for name, values in (("actual", actual), ("prediction", model), ("baseline", base)):
        for k in range(width):
            out[name if width == 1 else f"{name}_{k + 1}"] = values[:, k]
    return out


def champion_outputs(champion: Predictor, prepared: Prepared, df: pd.DataFrame, path: str) -> np.ndarray:
    """A champion bundle's outputs on the same test rows, shaped like the challenger's."""
    task = prepared.task
    if champion.task.type != task.type or champion.task.target != task.target:
        raise BundleError(f"evaluate.gates.compare_to: {path} predicts {champion.task.target!r} "
                          f"({champion.task.type}), this run {task.target!r} ({task.type})")
    if task.type == "forecast":
        if champion.task.horizon != task.horizon:
            raise BundleError(f"evaluate.gates.compare_to: {path} forecasts {champion.task.horizon} steps, "
                              f"this run {task.horizon}")
        # Forecasting from every row of the whole table: the champion reads only each window's past.
        pred = champion.predict(df, source=path)
        rows = prepared.index["test"][prepared.ends["test"]]
        cols = ["prediction"] if task.horizon == 1 else [f"prediction_{k + 1}" for k in range(task.horizon)]
        return pred[cols].iloc[rows].to_numpy(dtype=np.float64)
    pred = champion.predict(df.iloc[prepared.index["test"]], source=path)
    if task.type == "classification":
        cols = [f"proba_{label}" for label in task.classes]
        missing = [c for c in cols if c not in pred.columns]
        if missing:
            raise BundleError(f"evaluate.gates.compare_to: {path} does not know the classes of {missing}")
        return pred[cols].to_numpy(dtype=np.float64)
    cols = [c for c in pred.columns if c == "prediction" or c.startswith("prediction_")]
    return pred[cols].to_numpy(dtype=np.float64)


def data_summary(prepared: Prepared, df: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    """What the report's data section shows: feature kinds, and class balance or the target's spread."""
    task = prepared.task
    target = df[task.target]
    summary: dict[str, Any] = {"kinds": {c: k for c, k in kinds.items() if c != task.target or task.type == "forecast"}}
    parts = {name: target.iloc[idx] for name, idx in prepared.index.items()}
    if task.type == "classification":
        summary["classes"] = {name: {str(k): int(v) for k, v in part.value_counts().sort_index().items()}
                              for name, part in parts.items()}
        return summary
    values = pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64)
    edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
    summary["target"] = {name: _describe(part) for name, part in parts.items()}
    summary["histogram"] = {"edges": edges.tolist(),
                            "counts": {name: np.histogram(part.to_numpy(dtype=np.float64), edges)[0].tolist()
                                       for name, part in parts.items()}}
    return summary


def subset(prepared: Prepared, rows: np.ndarray) -> Prepared:
    """The same splits with the training split cut to `rows` (positions within it)."""
    from dataclasses import replace

    def cut(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**d, "train": d["train"][rows]} if "train" in d else d

    return replace(prepared, x=cut(prepared.x), y=cut(prepared.y), actual=cut(prepared.actual),
                   last=cut(prepared.last), rows={**prepared.rows, "train": len(rows)})


def _describe(values: pd.Series) -> dict[str, float]:
    v = pd.to_numeric(values, errors="coerce")
    return {"count": int(v.notna().sum()), "mean": float(v.mean()), "std": float(v.std()),
            "min": float(v.min()), "median": float(v.median()), "max": float(v.max())}
