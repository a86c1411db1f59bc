"""A run on a table larger than memory: the steps of Experiment.run over a data.streaming.Stream.

What differs from the in-memory run, each said in the run log: the split is random by a hash
of the row number (stratification needs every label first) or file order with data.time;
duplicate rows are not removed (that needs the whole file); the leakage audit and the
data-size curve are skipped (both compare or refit on whole splits). Everything else is the
same code: the model and Trainer come from steps.build_model and steps.run_trainer, the test split is judged
beside the baseline by the same `judge`, and the run folder holds the same files
(metrics.json, history.csv, predictions.csv, run.log, bundle/, report.html).

Held in memory: the validation and test targets and the model's outputs on them (n x outputs),
never the features.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data import CleaningLog, Preprocessor, TargetEncoder
from ..data.streaming import Stream, open_stream
from ..data.transforms import category_label
from ..errors import ConfigError
from ..evaluation import diagnose, majority_baseline
from ..evaluation.baselines import constant_kind
from ..evaluation.metrics import resolve
from ..tasks import Prepared, Task, TaskInfo
from ..tasks.common import constant_baseline
from ..training.distributed import rank
from ..training.runlog import RunLog
from . import steps

if TYPE_CHECKING:
    from .run import Experiment, Result


def stream_problems(cfg: Any) -> list[str]:
    """The table settings one pass over batches cannot honour, each named."""
    from ..models import get

    data, problems = cfg.data, []
    if getattr(get(cfg.model.type), "reads_table", False):
        problems.append(
            f"model.type: {cfg.model.type} fits its bins and embeddings from the training rows in memory; "
            "a streamed table takes mlp"
        )
    if data.target_transform not in ("auto", "standard"):
        problems.append(f"data.target_transform: {data.target_transform} is read in memory; a stream standardizes")
    if data.encode == "embed":
        problems.append("data.encode: embed needs model.type tabular, which a stream does not train")
    return problems


def run_streamed(
    experiment: Experiment,
    task: Task,
    out: str | Path | None,
    log: RunLog,
    resume: bool,
    allow_changed: tuple[str, ...] = (),
) -> Result:
    """The run recipe over a Stream: the same public steps, with the splits read batch by batch."""
    from .run import Result

    cfg = experiment.config
    if cfg.data.decimal != ".":  # batches of typed columns: a "1.234" cannot be read as 1234 there
        raise ConfigError(
            "data.decimal: ',' is read in memory only; a streamed file must use decimal points",
            hint="set data.stream.enabled: false, or convert the file's numbers to decimal points",
        )
    if cfg.evaluate.gates.compare_to is not None:
        raise ConfigError(
            "evaluate.gates.compare_to: comparing with a champion re-reads the test rows whole; "
            "a streamed run does not hold them",
            hint="set data.stream.enabled: false to compare",
        )
    problems = stream_problems(cfg)
    if problems:
        raise ConfigError(problems, hint="set data.stream.enabled: false to read the table in memory")
    data, source = cfg.data, str(cfg.data.path)
    split = data.split
    if data.path is None or data.target is None:  # the recipe streams a data.path only; the schema needs a target
        raise ConfigError("data.path and data.target: a streamed run reads a file's target column")
    stream = open_stream(
        data.path,
        target=data.target,
        task="classification",
        seed=cfg.train.seed,
        fractions=(split.train, split.val, split.test),
        time=data.time,
        features=data.features,
        drop=data.drop,
        delimiter=data.delimiter,
        batch_rows=data.stream.batch_rows,
        shuffle_buffer=data.stream.shuffle_buffer,
        declared=data.columns,
    )
    kind = steps.check(cfg, task, stream.head, source)  # the config against the file's columns and first rows
    stream.task = kind
    stream.fit(
        # auto chooses per column from the whole training column, which one pass does not hold:
        # a stream standardizes (exact running mean and variance)
        normalize="standard" if data.normalize == "auto" else data.normalize,
        encode=data.encode,
        max_onehot=data.max_onehot,
        impute_numeric=data.clean.impute_numeric,
        impute_categorical=data.clean.impute_categorical,
    )
    log.write(
        f"read {source} as a stream of record batches: {stream.total} rows, "
        f"{len(stream.kinds) + 1} columns used; task {kind}"
    )
    log.write(
        "a stream standardizes numeric columns and a regression target (data.normalize and "
        "data.target_transform auto choose from a whole training column) and adds no missing-value "
        "indicators (data.missing_indicators)"
    )
    cleaning = _cleaning(stream)
    for line in cleaning.lines():
        log.write(f"cleaning: {line}")
    how = (
        "file order (data.time; the file must be sorted by it)"
        if data.time
        else "random by a hash of the row number and seed (stratification is not possible in one pass)"
    )
    log.write(f"split: {how}")
    log.write("split: " + ", ".join(f"{k} {v}" for k, v in stream.rows.items()) + " rows")

    prepared = _prepared(stream, kind, data)
    prepared.cleaning = cleaning
    checkpoints = None if out is None else Path(out) / "checkpoints"
    predictor, head, transferred = steps.build_model(cfg, task, prepared, log)
    trainer = steps.run_trainer(
        cfg, task, prepared, predictor, head.loss, log, transferred, checkpoints=checkpoints, digest=_digest(stream)
    )
    shape = prepared.y["train"].shape[1:]
    dtype = prepared.y["train"].dtype  # what the head chose for the loss: int64 codes or float32 columns

    def batches(part: str, epoch: int | None = None):
        for x, y in stream.batches(part, cfg.train.batch_size, epoch):
            yield x, y.astype(dtype).reshape(len(y), *shape)

    started = time.perf_counter()
    has_val = stream.rows["val"] > 0
    trainer.fit_stream(
        lambda epoch: batches("train", epoch),
        stream.rows["train"],
        (lambda: batches("val")) if has_val else None,
        resume=resume,
        allow_changed=allow_changed,
    )
    seconds = time.perf_counter() - started
    steps.log_resume(trainer, log)
    log.write(
        f"training: {len(trainer.history)} epochs in {seconds:.1f}s (streamed; checkpoints at epoch ends)"
        + steps.kept_line(cfg, task, prepared, trainer)
    )
    trainer.module.to("cpu")

    outputs, actual = [], []
    for x, y in stream.labelled("test", 4096):  # one pass over the file for outputs and targets
        outputs.append(predictor.raw_outputs(x))
        actual.append(y)
    raw = np.concatenate(outputs)  # (n_test, outputs)
    prepared.actual["test"] = np.concatenate(actual)
    n = len(raw)
    fit = _baseline_fit(stream, task, prepared)
    classes = _fitted(stream)[1].classes
    if classes:
        model_out = predictor.probabilities(raw)
        baseline_out = majority_baseline(prepared.actual["train"], len(classes), n)
    else:
        model_out = predictor.decode(raw)
        baseline_out = constant_baseline(fit, resolve(kind, cfg.evaluate.metric), n)[0]
    metrics = steps.judge(cfg, task, prepared, model_out, baseline_out)
    metrics["notes"] += _median_note(stream, kind, cfg.evaluate.metric)
    summary: dict[str, Any] = {"kinds": dict(stream.kinds)}
    if classes:
        summary["classes"] = {p: {str(k): int(v) for k, v in sorted(c.items())} for p, c in stream.classes.items()}
    metrics.update(
        cleaning=cleaning.to_dict(),
        rows=dict(stream.rows),
        seconds=round(seconds, 3),
        best_epoch=trainer.best_epoch,
        epochs=len(trainer.history),
        diagnosis=diagnose(
            trainer.history,
            restored=trainer.restored_epoch,
            metric_stopped=trainer.stop and trainer.stop_on == "metric",
        ).to_dict(),
        leakage=None,
        data=summary,
        data_curve=None,
        streamed=True,
        **steps.resumed(trainer),
    )
    log.write("evaluation: leakage audit and data-size curve skipped: a streamed table is never whole in memory")
    for line in metrics["diagnosis"]["findings"]:
        log.write(f"evaluation: {line}")
    metrics["baseline_fit"] = fit
    predictor.metrics = metrics
    log.write_file(metrics["finding"])
    log.write_file(metrics["headline"])
    result = Result(metrics, trainer.history, predictor, config=cfg, log=log.lines)
    if out is not None and rank() == 0:
        prepared.task = replace(prepared.task, time=None)  # the test rows' times are not held
        table = task.table(prepared, model_out, baseline_out)
        result.out = steps.write_run_folder(Path(out), cfg, result, log, table)
    return result


def _fitted(stream: Stream) -> tuple[Preprocessor, TargetEncoder]:
    """The stream's feature and target transforms, fitted by `Stream.fit` before anything reads them."""
    if stream.features is None or stream.encoder is None:
        raise RuntimeError("a Stream is read before Stream.fit fitted its transforms")
    return stream.features, stream.encoder


def _prepared(stream: Stream, task: str, data) -> Prepared:
    """A Prepared holding no features: one placeholder row per split that has rows, so _trainer sees
    the input width and output shape; the training targets only as the baseline and the metric
    checks need them (class codes in their shares, or a uniform sample of the values)."""
    features, encoder = _fitted(stream)
    width = len(features.feature_names)
    classes = list(encoder.classes or [])  # none for values
    info = TaskInfo(
        type=task,
        target=stream.target,
        features=list(stream.kinds),
        time=data.time,
        classes=classes,
        delimiter=data.delimiter,
    )
    x = {p: np.zeros((1 if stream.rows[p] else 0, width), np.float32) for p in ("train", "val", "test")}
    if classes:
        y = {p: np.zeros(len(v), np.int64) for p, v in x.items()}
        counts: dict[str, int] = stream.classes.get("train", {})
        # the class codes of the training rows, in code order: their shares are all the baseline reads
        train = np.repeat(np.arange(len(classes)), [counts.get(category_label(c), 0) for c in classes])
    else:
        y = {p: np.zeros(len(v), np.float32) for p, v in x.items()}
        train = stream.target_sample  # a uniform sample of the training targets (what metric checks read)
    actual = {"train": train, "val": stream.actual("val") if stream.rows["val"] else np.empty(0)}
    return Prepared(info, x, y, actual, dict(stream.rows), features=features, target=encoder)


def _baseline_fit(stream: Stream, task: Task, prepared: Prepared) -> dict[str, Any]:
    """What the baseline learned, from the one statistics pass: the class priors, or the exact
    training mean and the median of a uniform sample of the training targets (data.streaming's
    hash-priority sample of up to SAMPLE values, every value in a smaller file). An exact median
    needs the whole column sorted or a second pass; the sample's is within a fraction of a
    percentile of it (about 0.3 percentile points at 100,000 values, 95% of the time)."""
    encoder = _fitted(stream)[1]
    if encoder.classes:
        return task.baseline_fit(prepared)
    sample = stream.target_sample
    return {
        "mean": [float(encoder.center)],
        "median": [float(np.median(sample)) if sample.size else float(encoder.center)],
    }


def _median_note(stream: Stream, task: str, metric: str) -> list[str]:
    """Say when the deciding baseline is a median estimated from a sample rather than every training row."""
    sample, rows = stream.target_sample.size, stream.rows.get("train", 0)
    if _fitted(stream)[1].classes or constant_kind(resolve(task, metric)) != "median" or sample >= rows:
        return []
    return [
        f"the training median is estimated from a uniform sample of {sample:,} of the {rows:,} training "
        "rows (streamed: an exact median needs a second pass over the file)"
    ]


def _digest(stream: Stream) -> str:
    """The sha256 standing for a streamed file's training data (resume compares it): row counts per
    part and everything fitted on the training rows. Read in the pass `fit` made anyway; hashing the
    file itself would cost another pass over data larger than memory."""
    seen = {
        "total": stream.total,
        "rows": stream.rows,
        "changed": dict(stream.changed),
        "classes": {p: {str(k): v for k, v in c.items()} for p, c in stream.classes.items()},
        "features": _fitted(stream)[0].to_dict(),
        "target": _fitted(stream)[1].to_dict(),
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


def _cleaning(stream: Stream) -> CleaningLog:
    log = CleaningLog(rows_in=stream.total, rows_out=sum(stream.rows.values()))
    for column, count in sorted(stream.changed.items()):
        if count:
            log.add(
                "bad_values",
                column,
                count,
                f"{count} training value(s) not of the column's kind, or inf, "
                "set missing and filled with the training statistic",
            )
    dropped = stream.total - log.rows_out
    if dropped:
        log.add("missing_target", stream.target, dropped, f"{dropped} row(s) without a target skipped")
    log.add("duplicates", None, 0, "duplicate rows not removed: that needs the whole file in memory (streamed)")
    return log
