"""Helpers the kinds share, as functions (tasks never inherit behaviour from one another)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..data import CleaningLog, CleanOptions, Split, clean, infer_kinds, read_head, read_table
from ..data.images import is_image_folder, rows_of
from ..data.kinds import parse_dates, parse_numbers, to_boolean
from ..data.transforms import DATE_PARTS, category_label
from ..errors import BundleError, ConfigError, DataError, did_you_mean
from .base import Head, Prepared, TaskInfo

PARTS = ("train", "val", "test")


def parts_of(split: Split) -> list[tuple[str, np.ndarray]]:
    """(name, row positions) of each part of a split, train first."""
    return [(name, getattr(split, name)) for name in PARTS]


def split_method(cfg: Any, task: str) -> str:
    """data.split.method, with auto resolved: time for series (or a time column), stratified for classes."""
    method = cfg.data.split.method
    if method != "auto":
        return method
    if task == "forecast" or cfg.data.time:
        return "time"
    return "stratified" if task == "classification" else "random"


def stratify_or_fall_back(cfg: Any, labels: np.ndarray, method: str, what: str) -> tuple[str, list[str]]:
    """An automatic stratified split becomes random when a class has one member (said in a note);
    an explicit `stratified` keeps it, and the split refuses."""
    if method != "stratified" or cfg.data.split.method != "auto":
        return method, []
    counts = pd.Series(labels).astype(str).value_counts()
    rare = counts[counts < 2]
    if not len(rare):
        return method, []
    return "random", [f"random split instead of stratified: class(es) {list(rare.index)} have a single {what}"]


def read_frame(cfg: Any, data: Any) -> pd.DataFrame:
    """The run's table: `data` given in Python, else data.path."""
    if data is not None:
        return read_table(data)
    if cfg.data.path is None:
        raise ConfigError("data.path: required key is missing (or pass data= to Experiment)")
    return read_table(cfg.data.path, delimiter=cfg.data.delimiter)


def clean_frame(
    cfg: Any, frame: pd.DataFrame, task: str, source: str, declared: dict[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, str], CleaningLog]:
    """Clean `frame` as data.clean says, keeping data.features (less data.drop) and the target.

    Column kinds are data.columns' where given, then `declared`'s (the text columns a run that
    reads text found). Free text declared nowhere is dropped in a run that reads none (`declared`
    None), or where data.clean.drop_text says so."""
    data = cfg.data
    options = CleanOptions(
        **{k: v for k, v in data.clean.model_dump().items() if k in CleanOptions.__dataclass_fields__}
    )
    options.drop_text = declared is None or data.clean.drop_text
    features = None if data.features is None else [c for c in data.features if c not in data.drop]
    if features is None and data.drop:
        features = [c for c in frame.columns if c not in data.drop and c not in (data.target, data.time)]
    return clean(
        frame,
        target=data.target,
        task=task,
        time=data.time,
        features=features,
        options=options,
        source=source,
        decimal=data.decimal,
        declared={**(declared or {}), **data.columns},
    )


def column_problems(cfg: Any, frame: pd.DataFrame, source: str) -> list[str]:
    """data.target, data.time, data.features and data.drop naming columns `frame` does not have."""
    columns = [str(c) for c in frame.columns]
    problems = []

    def need(key: str, name: str | None) -> None:
        if name is not None and name not in columns:
            problems.append(f"{key}: column '{name}' is not in {source}{did_you_mean(name, columns)}")

    need("data.target", cfg.data.target)
    need("data.time", cfg.data.time)
    for i, name in enumerate(cfg.data.features or []):
        need(f"data.features[{i}]", name)
    for i, name in enumerate(cfg.data.drop):
        need(f"data.drop[{i}]", name)
    for name in cfg.data.columns:
        if name in (cfg.data.target, cfg.data.time):
            what = "the target" if name == cfg.data.target else "the time column"
            problems.append(f"data.columns.{name}: is {what}, not an input; remove it from data.columns")
        else:
            need(f"data.columns.{name}", name)
    return problems


def metric_problems(cfg: Any, task: str, frame: pd.DataFrame) -> list[str]:
    """evaluate.metric, train.metric and tune.metric checked against this task and target before
    any training: ROC AUC needs two classes, MAPE a target that never reaches zero, and each
    kind of problem has its own metrics."""
    from ..evaluation.metrics import TASK_METRICS, why_unavailable

    target = cfg.data.target
    if task not in TASK_METRICS or target not in frame.columns:
        return []
    y = frame[target].dropna()
    facts: dict[str, Any] = (
        {"classes": int(y.nunique())}
        if task == "classification"
        else {"values": parse_numbers(y, cfg.data.decimal).to_numpy(dtype=np.float64)}
    )
    keys = {
        "evaluate.metric": cfg.evaluate.metric,
        "train.metric": cfg.train.metric,
        "tune.metric": "auto" if cfg.tune is None else cfg.tune.metric,
    }
    for bound in ("min", "max"):
        keys.update({f"evaluate.gates.{bound}.{name}": name for name in getattr(cfg.evaluate.gates, bound)})
    problems = []
    for key, metric in keys.items():
        why = None if metric in ("auto", "loss") else why_unavailable(metric, task, **facts)
        if why:
            problems.append(f"{key}: '{metric}' {why}")
    return problems


def reference_problems(cfg: Any, has_reference: bool, what: str = "this kind of data") -> list[str]:
    """evaluate.gates.beat_reference where there is no classical reference to beat: evaluate.reference
    none, or a kind (`has_reference` False; `what` names it) that has none."""
    # compared with the default, not `explicit`: a config read back from a bundle sets every key
    if (
        not has_reference
        and cfg.evaluate.reference_seconds != type(cfg.evaluate).model_fields["reference_seconds"].default
    ):
        return [f"evaluate.reference_seconds: {what} has no classical reference to time; remove it"]
    if not cfg.evaluate.gates.beat_reference:
        return []
    if cfg.evaluate.reference == "none":
        return [
            "evaluate.gates.beat_reference: needs the classical reference, and evaluate.reference is none; "
            "set evaluate.reference: auto, or remove the gate"
        ]
    if not has_reference:
        return [
            f"evaluate.gates.beat_reference: {what} has no classical reference to beat (tables have "
            "gradient-boosted trees, text columns TF-IDF + a linear model); remove the gate"
        ]
    return []


def tree_frame(frame: pd.DataFrame, kinds: dict[str, str], decimal: str = ".") -> tuple[pd.DataFrame, dict[str, str]]:
    """A table's input columns as gradient-boosted trees read them (evaluation.classical.table_reference),
    with their kinds: numbers by the run's reading rule and booleans as 0/1 (missing: NaN), each date
    as its year, month, day and weekday, categories as labels; text columns left out (TF-IDF reads text)."""
    columns: dict[str, Any] = {}
    read: dict[str, str] = {}
    for name in frame.columns:
        column, kind = frame[name], kinds.get(name, "numeric")
        if kind == "categorical":
            columns[name] = [None if pd.isna(v) else category_label(v) for v in column.tolist()]
        elif kind == "boolean":
            truths = [None if pd.isna(v) else to_boolean(v) for v in column.tolist()]
            columns[name] = [np.nan if t is None else t for t in truths]
        elif kind == "datetime":
            dates = parse_dates(column.reset_index(drop=True))
            for part, attribute in DATE_PARTS.items():  # as plain numbers: the trees split them
                columns[f"{name}.{part}"] = getattr(dates.dt, attribute).to_numpy(dtype=np.float64, na_value=np.nan)
                read[f"{name}.{part}"] = "numeric"
            continue
        elif kind == "numeric":
            columns[name] = parse_numbers(column, decimal).to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # text
            continue
        read[name] = "categorical" if kind == "categorical" else "numeric"
    return pd.DataFrame(columns, index=range(len(frame))), read


def tree_reference(prepared: Prepared, evaluate: Any, part: str = "test") -> Any:
    """A table's classical reference: the gradient-boosted trees' fit on the training rows, to be judged on
    `part` (an evaluation.classical.ReferenceFit, run while or after the network trains); {"reference_missing":
    why} where there can be none; {} with evaluate.reference none."""
    if evaluate.reference == "none":
        return {}
    if prepared.frame is None:  # experiment/streamed.py: the table is never whole in memory
        return {"reference_missing": "a streamed table (data.stream) is read in chunks; the trees need it whole"}
    from ..evaluation.classical import TABLE_REFERENCE, ReferenceFit, tree_arrays

    task, kinds, rows = prepared.task, prepared.kinds, prepared.index
    columns = [c for c in task.features if kinds.get(c) != "text"]
    if not columns:
        return {"reference_missing": "no input column besides text for the trees to read"}
    decimal = getattr(prepared.features, "decimal", ".")
    train, read = tree_frame(prepared.table.iloc[rows["train"]][columns], kinds, decimal)
    test = tree_frame(prepared.table.iloc[rows[part]][columns], kinds, decimal)[0]
    x_train, x_test, categorical = tree_arrays(train, test, read)
    return ReferenceFit(
        "trees",
        TABLE_REFERENCE,
        (task.type, x_train, np.asarray(prepared.actual["train"]), x_test, categorical),
        # HistGradientBoosting draws only for early stopping's split (> 10,000 rows): one fixed draw
        {"classes": task.n_classes, "seed": 0, "seconds": evaluate.reference_seconds},
    )


def evaluate_settings(config: dict[str, Any] | None) -> Any:
    """A run's evaluate section (from a bundle's config, or ExperimentConfig.to_dict()) read back through
    the schema, so its defaults are the schema's and nowhere else."""
    from ..config.schema import EvaluateConfig  # pydantic: not where only ONNX prediction runs

    return EvaluateConfig.model_validate(dict((config or {}).get("evaluate") or {}))


def constant_baseline(fit: dict[str, Any], metric: str, n: int) -> tuple[np.ndarray, str, str | None]:
    """A regression baseline_fit's constant for the deciding `metric`, for `n` rows: (outputs, name, note).

    A bundle saved before the median was kept holds the mean only: it is judged beside that,
    under its own name, and the note says so.
    """
    from ..evaluation.baselines import constant, constant_kind

    kind = constant_kind(metric)
    if kind not in fit:
        return (
            constant(fit["mean"], n),
            "the training mean",
            (
                f"this bundle keeps only its training mean, so it is judged beside that; for {metric} the training "
                "median is the fairer constant (re-run `layerwise run` to save it)"
            ),
        )
    return constant(fit[kind], n), f"the training {kind}", None


def constants_fit(train: np.ndarray) -> dict[str, Any]:
    """Both constants a value baseline may use (which one follows the deciding metric)."""
    from ..evaluation import mean_baseline, median_baseline

    return {"mean": mean_baseline(train, 1)[0].tolist(), "median": median_baseline(train, 1)[0].tolist()}


def target_values(column: pd.Series, decimal: str = ".") -> np.ndarray:
    """A target column as numbers, read by the rule training used ("1,234.5"; the decimal mark)."""
    return parse_numbers(column, decimal).to_numpy(dtype=np.float64)


def value_columns(out: pd.DataFrame, named: dict[str, np.ndarray]) -> pd.DataFrame:
    """`name` columns (or `name_1.._h` for several outputs) of (n, h) arrays, added to `out`."""
    for name, values in named.items():
        width = values.shape[1]
        for k in range(width):
            out[name if width == 1 else f"{name}_{k + 1}"] = values[:, k]
    return out


def judged_columns(
    out: pd.DataFrame, actual: np.ndarray, model_out: np.ndarray, baseline_out: np.ndarray
) -> pd.DataFrame:
    """actual, prediction and baseline values of the test split (`_1.._h` columns for several outputs)."""
    n = len(model_out)
    named = {"actual": actual, "prediction": model_out, "baseline": baseline_out}
    return value_columns(out, {name: np.asarray(values).reshape(n, -1) for name, values in named.items()})


def describe_values(values: pd.Series) -> dict[str, float]:
    v = pd.to_numeric(values, errors="coerce")
    return {
        "count": int(v.notna().sum()),
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "median": float(v.median()),
        "max": float(v.max()),
    }


def class_counts(labels: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in labels.astype(str).value_counts().sort_index().items()}


def subset(prepared: Prepared, rows: np.ndarray) -> Prepared:
    """The same splits with the training split cut to `rows` (positions within it)."""

    def cut(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**d, "train": rows_of(d["train"], rows)} if "train" in d else d

    return replace(
        prepared,
        x=cut(prepared.x),
        y=cut(prepared.y),
        actual=cut(prepared.actual),
        last=cut(prepared.last),
        rows={**prepared.rows, "train": len(rows)},
    )


def class_weights(cfg: Any, prepared: Prepared) -> list[float] | None:
    """Per-class loss weights from `train.class_weights`: none, balanced, or {label: weight}."""
    setting = cfg.train.class_weights
    if setting == "none":
        return None
    classes = prepared.task.classes
    if setting == "balanced":
        codes = prepared.actual["train"]  # class codes; `y` may already be bce's float column
        counts = np.bincount(codes, minlength=len(classes)).astype(float)
        return list(len(codes) / (len(classes) * np.maximum(counts, 1)))
    by_name = {str(k): float(v) for k, v in setting.items()}
    unknown = sorted(set(by_name) - {str(c) for c in classes})
    if unknown:
        raise ConfigError(f"train.class_weights: unknown classes {unknown}; the classes are {classes}")
    return [by_name.get(str(c), 1.0) for c in classes]


# Settings only the rows of a table use, with their defaults: another kind refuses them set otherwise.
TABLE_KEYS = {"data.target_transform": "auto", "data.missing_indicators": True}


def table_key_problems(cfg: Any, what: str) -> list[str]:
    """The table-only keys set away from their defaults, and a model that embeds categories, for a kind
    (`what`) whose inputs are not the rows of a table."""
    problems = []
    for key, default in TABLE_KEYS.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value != default:
            problems.append(f"{key}: applies to the rows of a table; {what} (remove it)")
    if cfg.data.encode == "embed":
        problems.append(f"data.encode: 'embed' embeds the categories of a table's columns; {what} (remove it)")
    return problems


def smoothing_problems(cfg: Any, task: str) -> list[str]:
    """train.label_smoothing for a task without classes (regression, forecast)."""
    if cfg.train.label_smoothing > 0 and task != "classification":
        return [
            f"train.label_smoothing: spreads a share of each target over the other classes; a {task} has no "
            "classes (remove it)"
        ]
    return []


def explicit(cfg: Any, path: str) -> bool:
    """Whether the dotted key was set by the user (in YAML, --set or Python), not left at its default."""
    node = cfg
    *sections, key = path.split(".")
    for section in sections:
        if section not in node.model_fields_set:
            return False
        node = getattr(node, section)
    return key in node.model_fields_set


def finish(problems: list[str], task: str) -> str:
    """Every problem at once as one ConfigError, or the task type."""
    if problems:
        raise ConfigError(problems)
    return task


def loss_problems(task: str, loss: str) -> list[str]:
    if task == "classification" and loss in ("mse", "mae", "huber"):
        return [f"train.loss: '{loss}' is a regression loss; use cross_entropy or bce (or auto)"]
    if task in ("regression", "forecast") and loss in ("cross_entropy", "bce"):
        return [f"train.loss: '{loss}' is a classification loss; use mse, mae or huber (or auto)"]
    return []


def augment_settings(cfg: Any) -> dict[str, Any] | None:
    return None if cfg.data.augment is None else cfg.data.augment.model_dump()


def augment_problems(cfg: Any, kind: str) -> list[str]:
    """data.augment keys that do not apply to this kind of data (`kind`: table, series, images, text)."""
    from ..data import (
        augment,  # torch: imported where a run is checked, not where a bundle predicts
    )

    return augment.check(augment_settings(cfg), kind)


def value_head(cfg: Any, prepared: Prepared) -> Head:
    """Values out (regression, forecast): one output per target column or step, float32 (n, outputs)."""
    prepared.y = {k: v.astype(np.float32).reshape(len(v), -1) for k, v in prepared.y.items()}
    return Head(prepared.y["train"].shape[1], "mse" if cfg.train.loss == "auto" else cfg.train.loss)


def labelled_metric(model: Any, prepared: Prepared, compute: Any):
    """The validation metric of each epoch in the target's own terms: on class probabilities, or on
    values in original units, by `compute` (evaluation.batched, as the test split's bootstrap)."""
    task, actual = prepared.task, prepared.actual["val"]

    def metric(y_pred: Any, y_true: Any) -> float:
        raw = y_pred.detach().float().cpu().numpy()
        if task.type == "classification":
            return float(compute(actual[None], model.probabilities(raw)[None])[0])
        values = model.decode(raw, prepared.last.get("val")).reshape(len(actual), -1)  # (n, outputs)
        return float(compute(actual.reshape(len(actual), -1)[None], values[None])[0])

    return metric


def class_table(
    out: pd.DataFrame,
    encoder: Any,
    classes: list[Any],
    actual: np.ndarray,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
) -> pd.DataFrame:
    """actual, prediction and baseline labels, then one proba_<class> column per class."""
    out["actual"] = encoder.decode(actual)
    out["prediction"] = encoder.decode(model_out.argmax(axis=1))
    out["baseline"] = encoder.decode(baseline_out.argmax(axis=1))
    for j, label in enumerate(classes):
        out[f"proba_{label}"] = model_out[:, j]
    return out


def table_summary(prepared: Prepared, *, keep_target: bool) -> dict[str, Any]:
    """The report's data section for a table: feature kinds, and class balance or the target's spread."""
    task, df = prepared.task, prepared.table
    target = df[task.target]
    summary: dict[str, Any] = {"kinds": {c: k for c, k in prepared.kinds.items() if c != task.target or keep_target}}
    parts = {name: target.iloc[idx] for name, idx in prepared.index.items()}
    if task.type == "classification":
        summary["classes"] = {name: class_counts(part) for name, part in parts.items()}
        return summary
    values = pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64)
    edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
    summary["target"] = {name: describe_values(part) for name, part in parts.items()}
    summary["histogram"] = {
        "edges": edges.tolist(),
        "counts": {
            name: np.histogram(part.to_numpy(dtype=np.float64), edges)[0].tolist() for name, part in parts.items()
        },
    }
    return summary


def same_task(champion: Any, task: TaskInfo, path: str) -> None:
    if champion.task.type != task.type or champion.task.target != task.target:
        raise BundleError(
            f"evaluate.gates.compare_to: {path} predicts {champion.task.target!r} "
            f"({champion.task.type}), this run {task.target!r} ({task.type})"
        )


def labelled(model: Any, frame: Any, source: str) -> pd.DataFrame:
    task = model.task
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: a {task.type} bundle is evaluated on a table", hint="pass a CSV or Parquet file")
    if task.target not in frame.columns:
        raise DataError(f"{source}: the target column '{task.target}' is missing; evaluate needs labelled data")
    return frame[frame[task.target].notna()].reset_index(drop=True)


def saved_baseline(model: Any) -> dict[str, Any]:
    fit = model.metrics.get("baseline_fit")
    if fit is None:
        raise DataError(
            "this bundle has no saved baseline (metrics.json 'baseline_fit')",
            hint="re-run `layerwise run` with this version of layerwise to save one",
        )
    return fit


# Rows read to decide whether a table holds free text, before the whole table is read.
TEXT_SAMPLE = 2000


def text_columns(cfg: Any, data: Any) -> list[str]:
    """The input columns a table run reads as text: those data.columns declares `text`, then, unless
    data.clean.drop_text, those whose first rows read as free text (several words, mostly distinct)."""
    declared = [name for name, kind in cfg.data.columns.items() if kind == "text"]
    if cfg.data.clean.drop_text or cfg.task.type not in ("auto", "classification", "regression"):
        return declared
    if image_data(cfg, data) or (data is None and cfg.data.path is None):
        return declared
    head = read_head(cfg.data.path if data is None else data, rows=TEXT_SAMPLE, delimiter=cfg.data.delimiter)
    if head is None:
        return declared
    data_cfg = cfg.data
    candidates = [
        str(c)
        for c in head.columns
        if c not in (data_cfg.target, data_cfg.time)
        and c not in data_cfg.drop
        and c not in data_cfg.columns
        and (data_cfg.features is None or c in data_cfg.features)
        and not pd.api.types.is_numeric_dtype(head[c])
    ]
    if not candidates:
        return declared
    kinds = infer_kinds(head[candidates], decimal=data_cfg.decimal)
    return declared + [c for c in candidates if kinds[c] == "text"]


def reads_text(preprocessing: Any) -> bool:
    """Whether a bundle's preprocessing reads text columns (its features hold a `text` kind)."""
    kinds = getattr(getattr(preprocessing, "features", None), "kinds", None) or {}
    return "text" in kinds.values()


def tokenizer_options(cfg: Any) -> dict[str, Any]:
    """data.text's keys a text column's tokenizer takes (data.tokenize.TextTokenizer)."""
    text = cfg.data.text
    return {
        "kind": text.tokenizer,
        "vocab_size": text.vocab_size,
        "min_frequency": text.min_frequency,
        "lowercase": text.lowercase,
        "normalization": text.normalization,
        "max_tokens": text.max_tokens,
    }


# data.text's keys for text columns (the rest of the section is generation's)
TOKENIZER_KEYS = ("tokenizer", "vocab_size", "min_frequency", "lowercase", "normalization", "max_tokens")


def changed_text_keys(cfg: Any, keys: tuple[str, ...]) -> list[str]:
    """Those of `keys` (in data.text) set away from their defaults: the keys a kind that reads them not refuses."""
    defaults = type(cfg.data.text)()
    return [key for key in keys if getattr(cfg.data.text, key) != getattr(defaults, key)]


def text_key_problems(cfg: Any, why: str) -> list[str]:
    """The tokenizer keys of data.text set away from their defaults, in a run that reads no text column."""
    return [f"data.text.{key}: tokenizes text columns; {why}" for key in changed_text_keys(cfg, TOKENIZER_KEYS)]


def table_problems(cfg: Any) -> list[str]:
    """What a table of rows (with or without text) cannot honour."""
    if cfg.data.transform != "none":
        return [f"data.transform: '{cfg.data.transform}' applies to forecasting only"]
    return []


def declared_problems(cfg: Any, kinds: tuple[str, ...], why: str) -> list[str]:
    """data.columns entries of a kind this run cannot read (`kinds`: those it can)."""
    return [f"data.columns.{name}: {kind} {why}" for name, kind in cfg.data.columns.items() if kind not in kinds]


def text_notes(pre: Any) -> list[str]:
    """The last transform's account of its text columns: texts cut to the length, empty texts."""
    notes = []
    for column, stats in getattr(pre, "last_text", {}).items():
        length = pre.tokenizer(column).length
        if stats.get("truncated"):
            notes.append(
                f"{stats['truncated']} of {stats['rows']} texts of '{column}' were longer than {length} tokens "
                "and were cut (the longest training text, at most data.text.max_tokens)"
            )
        if stats.get("empty"):
            notes.append(f"{stats['empty']} of {stats['rows']} texts of '{column}' are empty or missing (no tokens)")
    return notes


def image_data(cfg: Any, data: Any) -> bool:
    """Images when data= is an (images, labels) pair, `data.image` is set, or data.path is a folder of folders."""
    if isinstance(data, tuple) and len(data) == 2 and np.ndim(data[0]) in (3, 4):
        return True
    if data is not None:
        return False
    return cfg.data.image is not None or is_image_folder(cfg.data.path)


def watched_metric(cfg: Any, prepared: Prepared) -> str:
    """The metric the trainer computes on the validation split each epoch: train.metric (auto:
    evaluate.metric's; auto: accuracy, or MAE), refused (ConfigError) where this data cannot give it."""
    from ..evaluation.metrics import resolve, why_unavailable

    kind, chosen = prepared.task.type, cfg.train.metric
    key = "train.metric" if chosen != "auto" else "evaluate.metric"
    name = resolve(kind, chosen, cfg.evaluate.metric)
    classes = prepared.task.n_classes if prepared.task.classes else None
    why = why_unavailable(name, kind, classes=classes, values=None if classes else prepared.actual["train"])
    if why:
        raise ConfigError(
            f"{key}: '{name}' {why}",
            hint="train.metric (auto: evaluate.metric's) is what each epoch computes; a search sets it "
            "from tune.metric",
        )
    return name


def check_finite(predicted: np.ndarray, source: str) -> None:
    """Refuse rows whose prediction is not finite: finite inputs so far from training that the
    network's float32 arithmetic overflowed. An empty prediction would pass for an answer."""
    broken = np.flatnonzero(~np.isfinite(predicted.reshape(len(predicted), -1)).all(axis=1))
    if broken.size:
        shown = ", ".join(str(int(r) + 1) for r in broken[:3])
        shown += f" and {broken.size - 3} more" if broken.size > 3 else ""
        raise DataError(
            f"{source}: data row{'s' if broken.size > 1 else ''} {shown}: the model gives no finite "
            "prediction for these values",
            hint="the values lie far outside the range the model was trained on; check their units",
        )
