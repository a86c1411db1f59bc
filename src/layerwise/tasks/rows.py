"""Rows of a table: classification and regression.

cleaned table -> random / stratified / time-ordered split -> Preprocessor and TargetEncoder
fitted on the training rows -> (n, features) arrays -> judged beside the majority class or
the training median / mean (by the deciding metric)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import Preprocessor, Split, TargetEncoder, infer_kinds, split, target_kind
from ..errors import BundleError, DataError
from .base import Head, Prepared, Task, TaskInfo
from .common import (
    augment_problems,
    check_finite,
    class_counts,
    class_table,
    class_weights,
    clean_frame,
    column_problems,
    constant_baseline,
    constants_fit,
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
    reads_text,
    reference_problems,
    same_task,
    saved_baseline,
    smoothing_problems,
    split_method,
    stratify_or_fall_back,
    table_problems,
    table_summary,
    target_values,
    text_columns,
    text_key_problems,
    text_notes,
    tokenizer_options,
    tree_reference,
    value_head,
    watched_metric,
)
from .registry import register


@register
class Rows(Task):
    name = "rows"
    types = ("classification", "regression")
    unit = "rows"
    streams = True  # data.stream: a table larger than memory (experiment/streamed.py)
    reference_modules = ("layerwise.evaluation.classical", "sklearn.ensemble")
    audits = True

    def claims(self, cfg: Any, data: Any) -> bool:
        return cfg.task.type in ("auto", *self.types) and not image_data(cfg, data) and not text_columns(cfg, data)

    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        return (
            task.type in self.types and getattr(preprocessing, "images", None) is None and not reads_text(preprocessing)
        )

    def refused(self, cfg: Any) -> list[str]:
        # claimed only where no column reads as text (tasks/text.py takes the others)
        why = "no column of this table reads as text (declare one in data.columns as text)"
        problems = table_problems(cfg) + text_key_problems(cfg, why)
        if cfg.model.inputs is not None:
            problems.append("model.inputs: set by the run from the table's columns; remove it")
        if cfg.data.encode == "embed" and not embeds(cfg):
            problems.append(
                f"data.encode: 'embed' needs a model that embeds categories (model.type: tabular); "
                f"{cfg.model.type} reads one-hot or ordinal codes"
            )
        return problems + reference_problems(cfg, cfg.data.stream.enabled is not True, "a streamed table")

    def read(self, cfg: Any, data: Any, log: Any) -> pd.DataFrame:
        return read_frame(cfg, data)

    def describe(self, source: pd.DataFrame, name: str, kind: str) -> str:
        return f"read {name}: {len(source)} rows, {source.shape[1]} columns; task {kind}"

    def check(self, cfg: Any, source: pd.DataFrame, name: str) -> str:
        problems = column_problems(cfg, source, name)
        task = cfg.task.type
        target = cfg.data.target
        if task == "auto" and target in source.columns:
            kinds = infer_kinds(source[[target]], target=target, decimal=cfg.data.decimal)
            continuous = target_kind(source[target].dropna(), decimal=cfg.data.decimal) == "continuous"
            task = "regression" if continuous and kinds[target] == "numeric" else "classification"
        if task != "classification" and cfg.train.class_weights != "none":
            problems.append("train.class_weights: weights classes in the loss; a regression has none (remove it)")
        if task != "classification" and cfg.data.split.method == "stratified":
            problems.append(f"data.split.method: 'stratified' needs a classification task, not {task}")
        problems += loss_problems(task, cfg.train.loss)
        problems += smoothing_problems(cfg, task)
        if task != "regression" and cfg.data.target_transform != "auto":
            problems.append(
                f"data.target_transform: transforms the values of a regression target; a {task} target is "
                "classes (remove it)"
            )
        problems += augment_problems(cfg, "table")
        problems += metric_problems(cfg, task, source)  # before any training, a search's too
        return finish(problems, task)

    def prepare(self, cfg: Any, source: pd.DataFrame, kind: str, name: str, parts: Split | None = None) -> Prepared:
        df, kinds, cleaning = clean_frame(cfg, source, kind, name)
        prepared = prepare_rows(cfg, df, kinds, kind, name, parts)
        prepared.cleaning = cleaning
        return prepared

    def refit(self, cfg: Any, prepared: Prepared, parts: Split) -> Prepared:
        """The same cleaned rows split as `parts` (tuning's folds), transforms fitted on its train rows."""
        refitted = prepare_rows(cfg, prepared.table, prepared.kinds, prepared.task.type, "data", parts)
        refitted.cleaning = prepared.cleaning
        return refitted

    def head(self, cfg: Any, prepared: Prepared) -> Head:
        # a model that embeds categories reads where each column lies in a row (model.inputs)
        model = {"inputs": prepared.features.table_layout} if embeds(cfg) else {}
        if prepared.task.type == "classification":
            binary_bce = prepared.task.n_classes == 2 and cfg.train.loss in ("auto", "bce")
            if binary_bce:
                prepared.y = {k: v.astype(np.float32).reshape(-1, 1) for k, v in prepared.y.items()}
            return Head(1 if binary_bce else prepared.task.n_classes, "bce" if binary_bce else "cross_entropy", model)
        head = value_head(cfg, prepared)
        return Head(head.output_dim, head.loss, model)

    def class_weights(self, cfg: Any, prepared: Prepared) -> list[float] | None:
        return class_weights(cfg, prepared) if prepared.task.type == "classification" else None

    def augmentation(self, settings: dict[str, Any], prepared: Prepared) -> Any:
        from ..data import augment  # torch: imported where a run trains

        return augment.from_config(settings, "table", columns=augment.numeric_columns(prepared.features))

    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        from ..evaluation import majority_baseline
        from ..evaluation.metrics import resolve

        task = prepared.task
        raw = model.raw_outputs(prepared.x[part])
        n = len(raw)
        if task.type == "classification":
            return model.probabilities(raw), majority_baseline(prepared.actual["train"], task.n_classes, n)
        metric = resolve(task.type, evaluate_settings(model.config).metric)
        return model.decode(raw), constant_baseline(self.baseline_fit(prepared), metric, n)[0]

    def reference(self, prepared: Prepared, evaluate: Any, part: str = "test") -> Any:
        """Gradient-boosted trees fitted on the training rows, within evaluate.reference_seconds; a streamed
        table has none, and a note says so."""
        return tree_reference(prepared, evaluate, part)

    def baseline_fit(self, prepared: Prepared) -> dict[str, Any]:
        from ..evaluation import majority_baseline

        task, train = prepared.task, prepared.actual["train"]
        if task.type == "classification":
            return {"priors": majority_baseline(train, task.n_classes, 1)[0].tolist()}
        return constants_fit(train)

    def watched(self, cfg: Any, prepared: Prepared) -> str | None:
        return None if cfg.train.metric == "loss" else watched_metric(cfg, prepared)

    def validation_metric(self, model: Any, prepared: Prepared, compute: Any):
        return labelled_metric(model, prepared, compute)

    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        task, out = prepared.task, pd.DataFrame()
        if task.time is not None and prepared.frame is not None:
            out[task.time] = prepared.frame[task.time].iloc[prepared.index["test"]].to_numpy()
        if task.type == "classification":
            return class_table(out, prepared.target, task.classes, prepared.actual["test"], model_out, baseline_out)
        return judged_columns(out, prepared.actual["test"], model_out, baseline_out)

    def summary(self, prepared: Prepared) -> dict[str, Any]:
        return table_summary(prepared, keep_target=False)

    def audit(self, prepared: Prepared) -> Any:
        from ..evaluation.leakage import Audit

        df, index, task = prepared.table, prepared.index, prepared.task
        settings = {"target": task.target, "kinds": prepared.kinds, "task": task.type, "time": task.time}
        return Audit(df.iloc[index["train"]], df.iloc[index["test"]], settings)

    def champion_outputs(self, champion: Any, prepared: Prepared, path: str) -> np.ndarray:
        task = prepared.task
        same_task(champion, task, path)
        pred = champion.predict(prepared.table.iloc[prepared.index["test"]], source=path)
        if task.type == "classification":
            cols = [f"proba_{label}" for label in task.classes]
            missing = [c for c in cols if c not in pred.columns]
            if missing:
                raise BundleError(f"evaluate.gates.compare_to: {path} does not know the classes of {missing}")
            return pred[cols].to_numpy(dtype=np.float64)
        cols = [c for c in pred.columns if c == "prediction" or c.startswith("prediction_")]
        return pred[cols].to_numpy(dtype=np.float64)

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        if model.task.type == "classification":
            return model.probabilities(raw).argmax(axis=1)
        return model.target.decode(raw).reshape(len(raw), -1)

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        x, unseen = model.features.transform(frame[model.task.features], source=source, count_unseen=True)
        raw = model.raw_outputs(x)
        out = frame.copy()
        if model.task.type == "classification":
            proba = model.probabilities(raw)
            check_finite(proba, source)
            out["prediction"] = model.target.decode(proba.argmax(axis=1))
            for j, label in enumerate(model.target.classes):
                out[f"proba_{label}"] = proba[:, j]
        else:
            values = model.target.decode(raw).reshape(len(raw), -1)
            check_finite(values, source)
            out["prediction"] = values[:, 0]
            for j in range(1, values.shape[1]):
                out[f"prediction_{j + 1}"] = values[:, j]
        if model.unseen == "warn":
            out["unseen"] = unseen  # always there under warn, so chunks of one file share columns
        return out

    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        from ..evaluation.metrics import resolve

        task, notes = model.task, []
        reference = (model.metrics.get("reference") or {}).get("name")
        if reference:  # the trees (or text's TF-IDF) the run stood beside; evaluate does not refit them
            notes.append(
                f"the classical reference ({reference}) was fitted on the training rows at training time; "
                "`layerwise evaluate` judges the bundle beside the baseline only"
            )
        frame = labelled(model, data, source)
        fit = saved_baseline(model)
        if task.type == "classification":
            known = frame[task.target].isin(model.target.classes)
            if not known.all():
                notes.append(f"{int((~known).sum())} rows of classes the model never saw were left out")
                frame = frame[known].reset_index(drop=True)
        if len(frame) == 0:
            raise DataError(f"{source}: no labelled rows to evaluate")
        pred = model.predict(frame, source=source)
        table = pd.DataFrame()
        if task.time is not None and task.time in frame.columns:
            table[task.time] = frame[task.time].to_numpy()
        metrics: dict[str, Any] = {"data": {"kinds": {c: v.get("kind", "") for c, v in model.input_schema().items()}}}
        if task.type == "classification":
            y = model.target.encode(frame[task.target])
            model_out = pred[[f"proba_{c}" for c in task.classes]].to_numpy(dtype=np.float64)
            baseline_out = np.repeat(np.asarray(fit["priors"], dtype=np.float64)[None, :], len(frame), axis=0)
            table = class_table(table, model.target, task.classes, y, model_out, baseline_out)
            table["prediction"] = pred["prediction"].to_numpy()
            metrics["data"]["classes"] = {"test": class_counts(table["actual"])}
            return {
                "y": y,
                "model_out": model_out,
                "baseline_out": baseline_out,
                "table": table,
                "judged": {},
                "notes": notes,
                "metrics": metrics,
            }
        y = target_values(frame[task.target], getattr(model.features, "decimal", "."))
        cols = [c for c in pred.columns if c == "prediction" or c.startswith("prediction_")]
        model_out = pred[cols].to_numpy(dtype=np.float64)
        # the training median or mean, as the bundle's deciding metric chose when it was trained
        metric = resolve(task.type, evaluate_settings(model.config).metric)
        baseline_out, name, note = constant_baseline(fit, metric, len(frame))
        notes += [note] if note else []
        table["actual"], table["prediction"], table["baseline"] = y, model_out[:, 0], baseline_out[:, 0]
        return {
            "y": y,
            "model_out": model_out,
            "baseline_out": baseline_out,
            "table": table,
            "judged": {"baseline_name": name},
            "notes": notes,
            "metrics": metrics,
        }


def embeds(cfg: Any) -> bool:
    """Whether the run's model embeds categorical columns (reads the table's layout, model.inputs)."""
    from ..models import get  # torch: the registry of blocks

    return bool(getattr(get(cfg.model.type), "reads_table", False))


def prepare_rows(
    cfg: Any, df: pd.DataFrame, kinds: dict[str, str], task: str, source: str, parts: Split | None = None
) -> Prepared:
    """`parts` replaces the configured split (tuning's k folds); the transforms are fitted on its train rows."""
    data = cfg.data
    target = data.target
    features = [c for c in df.columns if c not in (target, data.time)]
    encoder = TargetEncoder(task, transform=data.target_transform)
    # Stratification needs labels before the encoder is fitted; their text does for that.
    labels = df[target].astype(str).to_numpy()
    method, notes = stratify_or_fall_back(cfg, labels, split_method(cfg, task), "row")
    if parts is None:
        parts = split(
            len(df),
            method=method,
            train=data.split.train,
            val=data.split.val,
            test=data.split.test,
            y=labels if method == "stratified" else None,
            gap=data.split.gap or 0,
            seed=cfg.train.seed,
        )
    train_rows = df.iloc[parts.train]
    encoder.fit(train_rows[target])
    texts = {c: kinds[c] for c in features if kinds[c] == "text"}
    pre = Preprocessor(
        {c: kinds[c] for c in features},
        normalize=data.normalize,
        encode=data.encode,
        max_onehot=data.max_onehot,
        impute_numeric=data.clean.impute_numeric,
        impute_categorical=data.clean.impute_categorical,
        decimal=data.decimal,
        text=tokenizer_options(cfg) if texts else None,
        embed=embeds(cfg) or data.encode == "embed",
        missing_indicators=data.missing_indicators,
    ).fit(train_rows[features])
    x, y, actual, rows, index = {}, {}, {}, {}, {}
    for name, idx in parts_of(parts):
        part = df.iloc[idx]
        index[name] = idx
        x[name] = pre.transform(part[features], source=source)
        notes += [f"{name}: {line}" for line in text_notes(pre)]
        rows[name] = len(idx)
        if task == "classification":
            unseen = sorted(set(part[target]) - set(encoder.classes or []), key=str)
            if unseen:
                # A class the training split never saw cannot be predicted; drop those rows.
                keep = ~part[target].isin(unseen).to_numpy()
                notes.append(f"{name}: {int((~keep).sum())} rows of classes absent from training dropped: {unseen}")
                x[name], part, index[name] = x[name][keep], part[keep], idx[keep]
                rows[name] = len(part)
        y[name] = encoder.encode(part[target])
        actual[name] = y[name] if task == "classification" else part[target].to_numpy(dtype=np.float64)
    info = TaskInfo(
        type=task,
        target=target,
        features=features,
        time=data.time,
        classes=list(encoder.classes or []) if task == "classification" else [],
        delimiter=data.delimiter,
    )
    return Prepared(
        info, x, y, actual, rows, features=pre, target=encoder, notes=notes, index=index, frame=df, kinds=kinds
    )
