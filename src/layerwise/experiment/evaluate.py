"""`layerwise evaluate`: judge a saved bundle on new labelled data, as a run judges its test split.

The baseline is the one fitted when the bundle was trained (saved in its metrics.json), the
gates those of the bundle's config; training-time evidence (loss curves, leakage) does not apply.
An image bundle is judged on a folder of class folders, read as training read its files: the
bundle's size (another size is resized), mode and pixel scale; unreadable files are left out
and counted.

`--out DIR` is claimed as a run folder is (experiment/run_folder.py): the evaluation's own files only, an
earlier evaluation replaced only with `--overwrite`, and DIR locked while the command lasts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import staged_folder, write_json, write_table
from ..data.kinds import parse_numbers
from ..errors import DataError
from ..tasks.assess import constant_baseline, evaluate_settings, forecast_baselines
from ..evaluation import block_length, judge
from ..evaluation.metrics import resolve
from ..bundle.predictor import Predictor
from ..training.runlog import Steps


def reassess(predictor: Predictor, frame: pd.DataFrame | str | Path, *, source: str = "data",
             progress: bool = False) -> tuple[dict[str, Any], pd.DataFrame]:
    """metrics.json's content and the predictions table for `frame`, which must hold the target
    (for an image bundle: the path of a folder with one sub-folder of images per class, read
    with its progress on stderr when `progress`)."""
    task = predictor.task
    if predictor.images is not None:
        return _reassess_images(predictor, frame, source, progress)
    if task.target not in frame.columns:
        raise DataError(f"{source}: the target column '{task.target}' is missing; evaluate needs labelled data")
    fit = _baseline_fit(predictor)
    frame = frame[frame[task.target].notna()].reset_index(drop=True)
    notes: list[str] = []
    if task.type == "forecast":
        y, model_out, baseline_out, table, named = _forecast(predictor, frame, source)
    else:
        y, model_out, baseline_out, table, named = _tabular(predictor, frame, fit, notes, source)
    metrics = _judge(predictor, y, model_out, baseline_out, notes, **named)
    unit = "windows" if task.type == "forecast" else "rows"
    metrics.update(rows={"test": len(y)}, source=source, leakage=None,
                   data={"kinds": {c: v.get("kind", "") for c, v in predictor.input_schema().items()}})
    if task.type == "classification":
        metrics["data"]["classes"] = {"test": {str(k): int(v) for k, v in table["actual"].value_counts().sort_index().items()}}
    metrics["finding"] += f" ({len(y)} {unit} of {source})"
    return metrics, table


def _judge(predictor: Predictor, y, model_out, baseline_out, notes: list[str], *, baseline_name: str | None = None,
           beside: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """`judge` with the bundle's own evaluate settings and gates; `baseline_name` and `beside` as judge's."""
    task = predictor.task
    ev = (predictor.config or {}).get("evaluate", {})
    gates = ev.get("gates", {})
    block = block_length(len(y), task.horizon) if task.type == "forecast" else 1
    metrics = judge(task.type, y, model_out, baseline_out, metric=ev.get("metric", "auto"),
                    samples=ev.get("bootstrap", 1000), level=ev.get("level", 0.95), block=block,
                    seed=(predictor.config or {}).get("train", {}).get("seed", 0),
                    beat_baseline=gates.get("beat_baseline", True), minimum=gates.get("min"),
                    maximum=gates.get("max"), baseline_name=baseline_name, beside=beside)
    metrics["notes"] = metrics.get("notes", []) + notes
    return metrics


def _reassess_images(predictor: Predictor, folder: Any, source: str,
                     progress: bool = False) -> tuple[dict[str, Any], pd.DataFrame]:
    """Judge an image bundle on a folder of class folders, beside its saved majority-class baseline."""
    from ..data.images import read_image_folder

    fit = _baseline_fit(predictor)
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: an image bundle is evaluated on a folder, not a file",
                        hint="pass a folder with one sub-folder of images per class, named as the class")
    pre = predictor.images
    # max_corrupt=1: unreadable files are left out and counted here; too few left is still an error
    with Steps("reading images", quiet=not progress) as shown:
        images = read_image_folder(folder, size=pre.size, mode=pre.mode, max_corrupt=1.0, progress=shown)
    notes = list(images.log.lines())
    known = {str(c): c for c in predictor.target.classes}
    labels = np.array([str(v) for v in images.labels], dtype=object)
    keep = np.isin(labels, list(known))
    if not keep.any():
        raise DataError(f"{folder}: no class folder is named as a class of the model ({', '.join(known)})",
                        hint="name each sub-folder after the class its images show")
    if not keep.all():
        unseen = sorted(set(labels[~keep].tolist()))
        notes.append(f"{int((~keep).sum())} images of classes the model never saw were left out: {unseen}")
    # read_image_folder divides by 255; the bundle divides file pixels by its own scale, as predict does
    pixels = images.images[keep] * np.float32(255.0 / pre.scale)        # (n, channels, h, w)
    proba = predictor.probabilities(predictor.raw_outputs(pre.transform(pixels, source=source)))
    actual = [known[v] for v in labels[keep]]
    y = predictor.target.encode(pd.Series(actual, dtype=object))
    baseline_out = np.repeat(np.asarray(fit["priors"], dtype=np.float64)[None, :], len(y), axis=0)
    table = pd.DataFrame({"file": np.asarray(images.files, dtype=object)[keep], "actual": actual})
    table["prediction"] = predictor.target.decode(proba.argmax(axis=1))
    table["baseline"] = predictor.target.decode(baseline_out.argmax(axis=1))
    for j, c in enumerate(predictor.task.classes):
        table[f"proba_{c}"] = proba[:, j]
    metrics = _judge(predictor, y, proba, baseline_out, notes)
    metrics.update(rows={"test": len(y)}, source=source, leakage=None, cleaning=images.log.to_dict(),
                   data={"classes": {"test": {str(k): int(v) for k, v in
                                              table["actual"].astype(str).value_counts().sort_index().items()}},
                         "images": {"size": list(pre.size), "mode": pre.mode, "channels": pre.channels,
                                    "normalize": pre.normalize}})
    metrics["finding"] += f" ({len(y)} images of {source})"
    return metrics, table


def _baseline_fit(predictor: Predictor) -> dict[str, Any]:
    fit = predictor.metrics.get("baseline_fit")
    if fit is None:
        raise DataError("this bundle has no saved baseline (metrics.json 'baseline_fit')",
                        hint="re-run `layerwise run` with this version of layerwise to save one")
    return fit


def write(out: str | Path, metrics: dict[str, Any], table: pd.DataFrame, spec: dict[str, Any]) -> Path:
    """The evaluation folder: metrics.json, predictions.csv, spec.json, report.html; atomically."""
    from ..report import write_report

    out = Path(out)
    with staged_folder(out) as staged:
        write_json(staged / "metrics.json", metrics)
        write_table(table, staged / "predictions.csv")
        write_json(staged / "spec.json", spec)
        write_report(staged)
    return out


def _tabular(predictor: Predictor, frame: pd.DataFrame, fit: dict, notes: list[str], source: str):
    task = predictor.task
    if task.type == "classification":
        known = frame[task.target].isin(predictor.target.classes)
        if not known.all():
            notes.append(f"{int((~known).sum())} rows of classes the model never saw were left out")
            frame = frame[known].reset_index(drop=True)
    if len(frame) == 0:
        raise DataError(f"{source}: no labelled rows to evaluate")
    pred = predictor.predict(frame, source=source)
    table = pd.DataFrame()
    if task.time is not None and task.time in frame.columns:
        table[task.time] = frame[task.time].to_numpy()
    if task.type == "classification":
        y = predictor.target.encode(frame[task.target])
        model_out = pred[[f"proba_{c}" for c in task.classes]].to_numpy(dtype=np.float64)
        baseline_out = np.repeat(np.asarray(fit["priors"], dtype=np.float64)[None, :], len(frame), axis=0)
        table["actual"] = frame[task.target].to_numpy()
        table["prediction"] = pred["prediction"].to_numpy()
        table["baseline"] = predictor.target.decode(baseline_out.argmax(axis=1))
        for j, c in enumerate(task.classes):
            table[f"proba_{c}"] = model_out[:, j]
        return y, model_out, baseline_out, table, {}
    y = _target_values(predictor, frame)
    cols = [c for c in pred.columns if c == "prediction" or c.startswith("prediction_")]
    model_out = pred[cols].to_numpy(dtype=np.float64)
    # the training median or mean, as the bundle's deciding metric chose when it was trained
    metric = resolve(task.type, evaluate_settings(predictor.config).get("metric", "auto"))
    baseline_out, name, note = constant_baseline(fit, metric, len(frame))
    notes += [note] if note else []
    table["actual"], table["prediction"], table["baseline"] = y, model_out[:, 0], baseline_out[:, 0]
    return y, model_out, baseline_out, table, {"baseline_name": name}


def _target_values(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """The target column as numbers, read by the rule training used ("1,234.5"; the bundle's decimal mark)."""
    decimal = getattr(predictor.features, "decimal", ".")
    return parse_numbers(frame[predictor.task.target], decimal).to_numpy(dtype=np.float64)


def _forecast(predictor: Predictor, frame: pd.DataFrame, source: str):
    task = predictor.task
    if task.time is not None and task.time in frame.columns:
        frame = frame.iloc[np.argsort(pd.to_datetime(frame[task.time], errors="coerce").to_numpy(), kind="stable")]
        frame = frame.reset_index(drop=True)
    pred = predictor.predict(frame, source=source)
    h = task.horizon
    cols = ["prediction"] if h == 1 else [f"prediction_{k + 1}" for k in range(h)]
    values = _target_values(predictor, frame)
    # A forecast made at row t is judged against rows t+1..t+h, persistence repeats row t,
    # seasonal naive (the bundle's evaluate.season m) rows t-m+1..t.
    evaluate = evaluate_settings(predictor.config)
    season = evaluate.get("season") or 1
    ends = np.arange(season - 1, len(frame) - h)
    model_out = pred[cols].to_numpy(dtype=np.float64)[ends]
    actual = np.stack([values[ends + k + 1] for k in range(h)], axis=1)
    history = values[ends[:, None] - season + 1 + np.arange(season)]   # (n, season), oldest first
    ok = np.isfinite(model_out).all(axis=1) & np.isfinite(actual).all(axis=1) & np.isfinite(history).all(axis=1)
    if not ok.any():
        raise DataError(f"{source}: no row has {task.lookback} rows of history and {h} to forecast",
                        hint=f"give at least {task.lookback + h + 1} rows")
    ends, model_out, actual, history = ends[ok], model_out[ok], actual[ok], history[ok]
    found = forecast_baselines(evaluate, history[:, -1], h, lambda m: history[:, -m:])
    name, *others = found
    baseline_out = found[name]
    table = pd.DataFrame()
    if task.time is not None and task.time in frame.columns:
        table[task.time] = frame[task.time].to_numpy()[ends + 1]
    for column, v in (("actual", actual), ("prediction", model_out), ("baseline", baseline_out)):
        for k in range(h):
            table[column if h == 1 else f"{column}_{k + 1}"] = v[:, k]
    return actual, model_out, baseline_out, table, {"baseline_name": name,
                                                    "beside": {other: found[other] for other in others} or None}
