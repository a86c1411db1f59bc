"""Experiment: runs the steps in order, from a raw table to a judged, saved model.

    read -> validate -> clean -> split -> fit transforms (train only) -> build + initialize
    -> train -> judge the test split beside a naive baseline (intervals, diagnosis, leakage
    audit, data curve, deploy gate) -> bundle + run folder + report
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import bundle
from ..tasks import assess
from ..atomic import staged_folder, write_json, write_table, write_text
from ..config.schema import ExperimentConfig
from ..data import augment, infer_kinds, read_table, target_kind
from ..data.streaming import wants_stream
from ..errors import ConfigError, UsageError, did_you_mean
from ..errors import needs_extra
from ..evaluation import audit, block_length, data_curve, diagnose, judge, score
from ..evaluation.batched import BATCHED
from ..evaluation.data_curve import FRACTIONS
from ..models import available, build
from ..models.init import scheme_of
from ..bundle.predictor import Predictor
from ..tasks.prepare import Prepared, class_weights, clean_and_split
from ..tasks.images import is_image_run
from .streamed import check_stream, run_stream
from .run_folder import claim, locked
from ..training.runlog import RunLog
from ..training import Callback, Trainer
from ..training.checkpoint import data_digest, link_checkpoints
from ..training.distributed import rank, restarted
from ..training.freeze import transfer
from ..training.schedules import PER_UPDATE
from ..training.tensorboard import TensorBoard


@dataclass
class Result:
    """What a run produced: metrics beside the baseline, history, the bundle and the model."""

    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    predictor: Predictor
    out: Path | None = None
    config: ExperimentConfig | None = None
    log: list[str] = field(default_factory=list)
    test_rows: pd.DataFrame | None = field(default=None, repr=False)   # the test split's cleaned rows
    test_images: np.ndarray | None = field(default=None, repr=False)   # image runs: (n, c, h, w) test pixels

    @property
    def bundle_path(self) -> Path | None:
        return None if self.out is None else self.out / "bundle"

    @property
    def model(self) -> torch.nn.Module:
        return self.predictor.module

    @property
    def beats_baseline(self) -> bool:
        return bool(self.metrics["beats_baseline"])

    @property
    def verdict(self) -> str:
        """DEPLOY or DO NOT DEPLOY, from the configured gates (evaluate.gates)."""
        return self.metrics["verdict"]

    @property
    def deploy(self) -> bool:
        return self.metrics["verdict"] == "DEPLOY"

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.predictor.predict(frame)

    def summary(self, *, table: bool = True) -> str:
        """The verdict in plain words; with `table`, every test metric beside the baseline's first."""
        return summary(self.metrics, table=table)

    def explain(self, data: Any = None, **options: Any) -> Any:
        """Attributions and global importance on this run's test split (or `data`); see layerwise.explain."""
        from ..explain import explain

        return explain(self, data, **options)


def summary(m: dict[str, Any], *, table: bool = True) -> str:
    """metrics.json as text: the metrics table with intervals, the findings, then the verdict."""
    if not table:
        return m["headline"]
    ci = m.get("ci") or {}
    level = f"{ci.get('level', 0.95):.0%}"
    rows = [("metric", "network", f"{level} interval", "baseline", "difference interval")]
    for name, value in m["test"].items():
        mark = " *" if name == m["primary_metric"] else ""
        rows.append((name + mark, f"{value:,.4g}", _pair(ci.get("model", {}).get(name)),
                     f"{m['baseline'].get(name, float('nan')):,.4g}", _pair(ci.get("difference", {}).get(name))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.append(f"baseline: {m['baseline_name']}; * decides; difference = network - baseline; rows {m['rows']}")
    lines += [f"other baseline: {b['finding']}" for b in m.get("other_baselines") or []]
    lines += [f"note: {n}" for n in m.get("notes", [])]
    lines += [f"finding: {f}" for f in (m.get("diagnosis") or {}).get("findings", [])]
    lines += [f"leakage: {w['detail']}" for w in m.get("leakage") or []]
    if m.get("data_curve"):
        lines.append(f"data: {m['data_curve']['finding']}")
    return "\n".join([*lines, "", m["finding"], m["headline"]])


def _pair(interval: list[float] | None) -> str:
    if not interval or any(v is None or not np.isfinite(v) for v in interval):
        return "-"
    return f"[{interval[0]:,.4g}, {interval[1]:,.4g}]"


class Experiment:
    """The whole workflow from one config.

    Args:
        config: an ExperimentConfig, a dict of the same shape, or a YAML path.
        data: a DataFrame or NumPy array to use instead of `data.path`.
    """

    def __init__(self, config: ExperimentConfig | dict | str | Path, *, data: Any = None):
        if isinstance(config, (str, Path)):
            config = ExperimentConfig.from_yaml(config)
        elif isinstance(config, dict):
            config = ExperimentConfig.from_dict(config)
        self.config = config
        self.data = data

    def run(self, out: str | Path | None = None, *, quiet: bool = True, resume: bool = False,
            overwrite: bool = False, allow_changed: Collection[str] = ()) -> Result:
        """Run every step; with `out`, write the run folder there (atomically).

        OUT is checked and locked before any data is read (experiment/run_folder.py): a folder holding
        files layerwise did not write is refused; so is an earlier run, unless `overwrite=True`
        (start afresh and replace it) or `resume=True`; a second run into OUT while this one
        holds it is refused. Training checkpoints go to OUT/checkpoints as they are made (not
        staged), so a run killed before the folder is published keeps them; `resume=True`
        continues from the newest readable one, refusing settings or data that differ from
        the checkpoint's except the keys in `allow_changed` (RESUMABLE). So do OUT/run.log and
        OUT/history.csv, written as training goes (training/runlog.py); the published folder's are the
        whole run's. Under torchrun only rank 0 checks, locks and writes the folder.

        With a `tune` section, search first and run the best configuration (see `tune`).
        """
        cfg = self.config
        if cfg.evaluate.explain:  # captum is an extra: say so before training, not after it
            with needs_extra("explain", instead="or remove evaluate.explain"):
                import captum  # noqa: F401
        if cfg.tune is not None:
            return self.tune(out, quiet=quiet).result
        allow_changed = (allow_changed,) if isinstance(allow_changed, str) else tuple(allow_changed)
        _check_resume_options(cfg, resume, overwrite, allow_changed)
        writer = out is not None and rank() == 0
        # a worker torchrun restarted resumes by itself (Trainer): its own checkpoints are no earlier run
        with claim(out, resume=resume or restarted(), overwrite=overwrite) if writer else nullcontext():
            log = RunLog(quiet=quiet, folder=out if writer else None, append=resume or restarted())
            with log.recording():
                return self._run(out, log, resume, allow_changed)

    def _run(self, out: str | Path | None, log: RunLog, resume: bool, allow_changed: tuple[str, ...]) -> Result:
        cfg = self.config
        images = is_image_run(cfg, self.data)  # looks at the folder on disk: once
        check_stream(cfg, cfg.task.type, images, self.data)  # data.stream where it cannot go
        if cfg.task.type == "generation":
            return self._run_generation(out, log)
        if images:
            return self._run_images(out, log, resume, allow_changed)
        stream = cfg.data.stream
        if self.data is None and cfg.task.type != "forecast" and wants_stream(cfg.data.path, stream.enabled,
                                                                              stream.above_mb):
            return run_stream(self, out, log, resume, allow_changed)  # larger than memory: streamed.py
        source = str(cfg.data.path) if self.data is None else "data"
        frame = self._read()
        task = self._validate(frame, source)
        log.write(f"read {source}: {len(frame)} rows, {frame.shape[1]} columns; task {task}")

        df, kinds, cleaning, prepared = clean_and_split(cfg, frame, task, source)
        for line in cleaning.lines():
            log.write(f"cleaning: {line}")
        for note in prepared.notes:
            log.write(f"split: {note}")
        log.write("split: " + ", ".join(f"{k} {v}" for k, v in prepared.rows.items())
                  + (" windows" if task == "forecast" else " rows"))

        predictor, trainer, seconds = self._train(prepared, log, checkpoints=None if out is None else
                                                  Path(out) / "checkpoints", resume=resume, allow_changed=allow_changed)
        history = trainer.history
        model_out, baseline_out = assess.outputs(predictor, prepared)
        metrics = self._judge(prepared, df, model_out, baseline_out)
        restored = trainer.best_epoch is not None and cfg.train.patience is not None
        metrics.update(
            cleaning=cleaning.to_dict(), rows=prepared.rows, seconds=round(seconds, 3),
            best_epoch=trainer.best_epoch, epochs=len(history),
            diagnosis=diagnose(history, restored=restored).to_dict(),
            leakage=self._audit(prepared, df, kinds) if cfg.evaluate.leakage else [],
            data=assess.data_summary(prepared, df, kinds),
            data_curve=self._data_curve(prepared, predictor, log) if cfg.evaluate.data_curve else None,
            **resumed(trainer),
        )
        for line in [*metrics["diagnosis"]["findings"], *(w["detail"] for w in metrics["leakage"])]:
            log.write(f"evaluation: {line}")
        if metrics["data_curve"]:
            log.write(f"data curve: {metrics['data_curve']['finding']}")
        metrics["baseline_fit"] = assess.baseline_fit(prepared)
        if task == "forecast" and prepared.task.horizon > 1:
            metrics["per_step"] = assess.per_step(prepared.actual["test"], model_out, baseline_out)
        predictor.metrics = metrics
        log.write_file(metrics["finding"])
        log.write_file(metrics["headline"])
        result = Result(metrics, history, predictor, config=cfg, log=log.lines,
                        test_rows=df.iloc[prepared.index["test"]].reset_index(drop=True))
        if out is not None and rank() == 0:
            table = assess.predictions_frame(prepared, df, model_out, baseline_out)
            result.out = self._write(Path(out), result, log, table)
        return result

    def _run_generation(self, out: str | Path | None, log: RunLog) -> Result:
        from ..tasks.text import run_generation

        problems = augment.check(_augment_settings(self.config), "text")
        if problems:
            raise ConfigError(problems, hint="generation trains on text as it is: remove data.augment")
        predictor, trainer, table = run_generation(self.config, log)
        result = Result(predictor.metrics, trainer.history, predictor, config=self.config, log=log.lines)
        log.write_file(predictor.metrics["finding"])
        if out is not None:
            result.out = self._write(Path(out), result, log, table)
        return result

    def _run_images(self, out: str | Path | None, log: RunLog, resume: bool, allow_changed: tuple[str, ...]) -> Result:
        """Image classification: the same training, judging and run folder as a table's."""
        from ..tasks.images import data_summary, labels_frame, prepare_images, read_images, test_table

        cfg = self.config
        problems = augment.check(_augment_settings(cfg), "images")
        if problems:
            raise ConfigError(problems, hint="remove those keys from data.augment (or set them to their off values)")
        with log.steps("reading images") as steps:
            images, source = read_images(cfg, self.data, progress=steps)
        prepared = prepare_images(cfg, images)
        c, h, w = images.images.shape[1:]
        log.write(f"read {source}: {len(images.labels)} images of {c}x{h}x{w} ({images.mode}), "
                  f"{prepared.task.n_classes} classes; task classification")
        for line in [*(f"cleaning: {x}" for x in images.log.lines()), *(f"split: {n}" for n in prepared.notes)]:
            log.write(line)
        log.write("split: " + ", ".join(f"{k} {v}" for k, v in prepared.rows.items()) + " images")
        predictor, trainer, seconds = self._train(prepared, log, checkpoints=None if out is None else
                                                  Path(out) / "checkpoints", resume=resume, allow_changed=allow_changed)
        predictor.images = prepared.images
        frame = labels_frame(images)
        model_out, baseline_out = assess.outputs(predictor, prepared)
        metrics = self._judge(prepared, frame, model_out, baseline_out)
        restored = trainer.best_epoch is not None and cfg.train.patience is not None
        metrics.update(
            cleaning=images.log.to_dict(), rows=prepared.rows, seconds=round(seconds, 3),
            best_epoch=trainer.best_epoch, epochs=len(trainer.history),
            diagnosis=diagnose(trainer.history, restored=restored).to_dict(), leakage=[],
            data=data_summary(prepared, frame),
            data_curve=self._data_curve(prepared, predictor, log) if cfg.evaluate.data_curve else None,
            baseline_fit=assess.baseline_fit(prepared), **resumed(trainer),
        )
        for line in metrics["diagnosis"]["findings"]:
            log.write(f"evaluation: {line}")
        predictor.metrics = metrics
        log.write_file(metrics["finding"])
        log.write_file(metrics["headline"])
        result = Result(metrics, trainer.history, predictor, config=cfg, log=log.lines,
                        test_rows=frame.iloc[prepared.index["test"]].reset_index(drop=True),
                        test_images=images.images[prepared.index["test"]])
        if out is not None and rank() == 0:
            table = test_table(prepared, assess.predictions_frame(prepared, frame, model_out, baseline_out))
            result.out = self._write(Path(out), result, log, table)
        return result

    def tune(self, out: str | Path | None = None, *, quiet: bool = True, resume_study: bool = False,
             **options: Any):
        """Search `tune.space` on validation scores, then run the best configuration into OUT/best.

        `options` override the tune section (trials, timeout, storage, study, workers).
        Returns a `layerwise.tuning.Tuning`; its `result` is the best configuration's run.
        """
        from functools import partial

        from ..tuning import search

        name = Path(str(self.config.data.path)).stem if self.data is None else "layerwise"
        out = Path(out) if out is not None else Path("runs") / f"{name}-tune"
        # One search writes OUT at a time (a rerun continues the study stored there, so an
        # earlier search is no reason to refuse); OUT/best is claimed like any run folder.
        with locked(out) if rank() == 0 else nullcontext():
            if is_image_run(self.config, self.data):
                from ..tasks.images import read_images

                if self.config.tune is not None and self.config.tune.cv is not None:
                    raise ConfigError(f"tune.cv: {self.config.tune.cv}: k-fold validation is for tables and "
                                      "series; an image run is tuned on its validation split (remove tune.cv)")
                task = "classification"
                read_images(self.config, self.data)  # checked before any trial
            else:
                source = str(self.config.data.path) if self.data is None else "data"
                task = self._validate(self._read(), source)   # the data is checked before any trial trains
            return search(self.config, task=task, validate=partial(validate_config, data=self.data),
                          run=partial(run_config, data=self.data), out=out, name=name, quiet=quiet,
                          resume_study=resume_study, **options)

    def validate(self, callbacks: list[Callback] | tuple[Callback, ...] = (), *, folds: int | None = None):
        """Train and score the validation split only (a tuning trial); the test split is never scored.

        With `folds`, k folds over train + validation instead (time-ordered for series).
        Returns a `layerwise.tuning.Validation`: per fold, the history row of the weights kept.
        """
        from ..tuning.folds import folds as make_folds
        from ..tuning.objective import Validation

        cfg, log = self.config, RunLog(quiet=True)
        if is_image_run(self.config, self.data):
            from ..tasks.images import prepare_images, read_images

            if folds is not None:
                raise ConfigError(f"tune.cv: {folds}: k-fold validation is for tables and series; "
                                  "an image run is tuned on its validation split (remove tune.cv)")
            task, parts = "classification", [prepare_images(cfg, read_images(cfg, self.data)[0])]
        else:
            source = str(cfg.data.path) if self.data is None else "data"
            frame = self._read()
            task = self._validate(frame, source)
            df, kinds, _, prepared = clean_and_split(cfg, frame, task, source)
            parts = [prepared] if folds is None else make_folds(cfg, df, kinds, task, source, prepared, folds)
        kept, epochs = [], 0
        for part in parts:
            trainer = self._train(part, log, callbacks)[1]
            restored = trainer.best_epoch is not None and cfg.train.patience is not None
            kept.append(trainer.history[trainer.best_epoch - 1] if restored else trainer.history[-1])
            epochs += len(trainer.history)
        return Validation(task, kept, epochs)

    def lr_find(self, **options: Any):
        """The learning-rate range test on the training split (`layerwise.training.lr_find`); the
        model is built as `run` builds it and left untrained. Returns an LRFind."""
        from ..training.lr_find import lr_find

        cfg = self.config
        if cfg.task.type == "generation" or is_image_run(cfg, self.data):
            raise ConfigError("lr-find: supported for table and series data; set train.lr by hand here")
        source = str(cfg.data.path) if self.data is None else "data"
        frame = self._read()
        task = self._validate(frame, source)
        _, _, _, prepared = clean_and_split(cfg, frame, task, source)
        trainer = self._trainer(prepared, RunLog(quiet=True))[1]
        return lr_find(trainer, prepared.x["train"], prepared.y["train"], **options)

    # -- steps ----------------------------------------------------------------------------
    def _read(self) -> pd.DataFrame:
        cfg = self.config.data
        if self.data is not None:
            return read_table(self.data)
        if cfg.path is None:
            raise ConfigError("data.path: required key is missing (or pass data= to Experiment)")
        return read_table(cfg.path, delimiter=cfg.delimiter)

    def _validate(self, frame: pd.DataFrame, source: str) -> str:
        """Check the config against the data; every problem at once. Returns the task type."""
        cfg = self.config
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
        if cfg.model.type not in available():
            problems.append(f"model.type: {cfg.model.type!r} is not one of {available()}"
                            f"{did_you_mean(cfg.model.type, available())}")
        task = cfg.task.type
        if task == "auto" and cfg.data.target in columns:
            kinds = infer_kinds(frame[[cfg.data.target]], target=cfg.data.target, decimal=cfg.data.decimal)
            continuous = target_kind(frame[cfg.data.target].dropna(), decimal=cfg.data.decimal) == "continuous"
            task = "regression" if continuous and kinds[cfg.data.target] == "numeric" else "classification"
        method = cfg.data.split.method
        if task == "forecast" and method not in ("auto", "time"):
            problems.append(f"data.split.method: forecasting needs 'time' (or auto), got '{method}': "
                            "shuffling a series leaks the future into training")
        if task != "classification" and method == "stratified":
            problems.append(f"data.split.method: 'stratified' needs a classification task, not {task}")
        if task != "forecast" and cfg.data.transform != "none":
            problems.append(f"data.transform: '{cfg.data.transform}' applies to forecasting only")
        problems += augment.check(_augment_settings(cfg), "series" if task == "forecast" else "table")
        loss = cfg.train.loss
        if task == "classification" and loss in ("mse", "mae", "huber"):
            problems.append(f"train.loss: '{loss}' is a regression loss; use cross_entropy or bce (or auto)")
        if task in ("regression", "forecast") and loss in ("cross_entropy", "bce"):
            problems.append(f"train.loss: '{loss}' is a classification loss; use mse, mae or huber (or auto)")
        problems += assess.metric_problems(cfg, task, frame)  # before any training, a search's too
        if problems:
            raise ConfigError(problems)
        return task

    def _train(self, prepared: Prepared, log: RunLog, extra: tuple[Callback, ...] | list[Callback] = (), *,
               checkpoints: Path | None = None, resume: bool = False,
               allow_changed: tuple[str, ...] = ()) -> tuple[Predictor, Trainer, float]:
        predictor, trainer = self._trainer(prepared, log, extra, checkpoints=checkpoints)
        has_val = len(prepared.x["val"]) > 0
        started = time.perf_counter()
        trainer.fit(prepared.x["train"], prepared.y["train"], prepared.x["val"] if has_val else None,
                    prepared.y["val"] if has_val else None, resume=resume, allow_changed=allow_changed)
        seconds = time.perf_counter() - started
        log_resume(trainer, log)
        if trainer.best_epoch is not None:
            log.write(f"training: {len(trainer.history)} epochs in {seconds:.1f}s; best validation loss at "
                      f"epoch {trainer.best_epoch} (weights restored)")
        else:
            log.write(f"training: {len(trainer.history)} epochs in {seconds:.1f}s")
        trainer.module.to("cpu")
        return predictor, trainer, seconds

    def _trainer(self, prepared: Prepared, log: RunLog, extra: tuple[Callback, ...] | list[Callback] = (), *,
                 checkpoints: Path | None = None, digest: str | None = None) -> tuple[Predictor, Trainer]:
        """The model built from the config and a Trainer for it, not yet fitted (may reshape prepared.y).

        With `checkpoints`, the Trainer gets the run's fingerprint (settings, and `digest` of the
        training data or else of the prepared train and validation arrays) to save and to compare
        on resume."""
        cfg = self.config
        task = prepared.task
        if task.type == "classification":
            binary_bce = task.n_classes == 2 and cfg.train.loss in ("auto", "bce")
            loss = "bce" if binary_bce else "cross_entropy"
            output_dim = 1 if binary_bce else task.n_classes
        else:
            loss = "mse" if cfg.train.loss == "auto" else cfg.train.loss
            output_dim = prepared.y["train"].reshape(len(prepared.y["train"]), -1).shape[1]
        weights = class_weights(cfg, prepared)
        if loss == "bce":
            prepared.y = {k: v.astype(np.float32).reshape(-1, 1) for k, v in prepared.y.items()}
        elif task.type != "classification":
            prepared.y = {k: v.astype(np.float32).reshape(len(v), -1) for k, v in prepared.y.items()}
        input_shape = tuple(prepared.x["train"].shape[1:])
        torch.manual_seed(cfg.train.seed)
        model_cfg = cfg.model.model_dump()
        module = build(model_cfg, input_shape, output_dim)
        transferred = transfer(module, model_cfg["init"], log.write)  # model.init.from / freeze
        # The block's resolved settings, not the config's nulls: a bundle must not pick up
        # whatever a later version's block defaults are. Its weights are its own: no `from`.
        resolved = {**module.get_config(), "init": scheme_of(model_cfg["init"])}
        predictor = Predictor(task, module, model={"config": resolved, "input_shape": list(input_shape),
                                                   "output_dim": output_dim},
                              features=prepared.features, target=prepared.target, series=prepared.series,
                              config=cfg.to_dict())
        has_val = len(prepared.x["val"]) > 0
        # run.log and history.csv as it goes; the trainer adds its progress display unless quiet
        callbacks = [*log.callbacks(), *transferred, *extra]
        if cfg.train.tensorboard and checkpoints is not None:  # beside the checkpoints, in the run folder
            callbacks.append(TensorBoard(checkpoints.parent / "tensorboard"))
        t = cfg.train
        trainer = Trainer(
            module, loss=loss, optimizer=t.optimizer, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov,
            batch_size=t.batch_size, epochs=t.epochs, weight_decay=t.weight_decay, l1=t.l1,
            clip_grad=t.clip_grad, patience=t.patience if has_val else None,
            class_weights=weights, seed=t.seed, device=t.device, threads=t.threads,
            metric=_val_metric(predictor, prepared) if has_val else None, callbacks=callbacks, quiet=log.quiet,
            schedule=t.schedule.model_dump(), accumulate=t.accumulate, on_nan=t.on_nan, precision=t.precision,
            compile=t.compile, checkpoint_dir=checkpoints, checkpoint_every=t.checkpoint_every, keep=t.keep,
            augment=_augmentation(cfg, prepared, log),
            fingerprint=None if checkpoints is None else fingerprint(cfg, digest or data_digest(
                *(prepared.x[k] for k in ("train", "val")), *(prepared.y[k] for k in ("train", "val")))),
        )
        return predictor, trainer

    def _judge(self, prepared: Prepared, df: pd.DataFrame, model_out: np.ndarray,
               baseline_out: np.ndarray) -> dict[str, Any]:
        """Score the test split beside the baseline, with intervals, and apply the gates."""
        ev, task = self.config.evaluate, prepared.task
        gates = ev.gates
        champion = None
        if gates.compare_to is not None:
            champion = {"path": gates.compare_to, "out": assess.champion_outputs(
                bundle.load(gates.compare_to), prepared, df, gates.compare_to)}
        n = len(model_out)
        block = block_length(n, task.horizon) if task.type == "forecast" else 1
        return judge(task.type, prepared.actual["test"], model_out, baseline_out, metric=ev.metric,
                     samples=ev.bootstrap, level=ev.level, block=block, seed=self.config.train.seed,
                     beat_baseline=gates.beat_baseline, minimum=gates.min, maximum=gates.max, champion=champion,
                     **assess.beside(ev.model_dump(), prepared))

    def _audit(self, prepared: Prepared, df: pd.DataFrame, kinds: dict[str, str]) -> list[dict[str, Any]]:
        index = prepared.index
        return audit(df.iloc[index["train"]], df.iloc[index["test"]], target=prepared.task.target, kinds=kinds,
                     task=prepared.task.type, time=prepared.task.time)

    def _data_curve(self, prepared: Prepared, predictor: Predictor, log: RunLog) -> dict[str, Any] | None:
        """Retrain on 25, 50, 75% of the training split; the full run is the 100% point."""
        if len(prepared.x["val"]) == 0:
            log.write("data curve: skipped, it scores on the validation split and data.split.val is 0")
            return None
        metric = score(prepared.task.type, prepared.actual["val"], *assess.outputs(predictor, prepared, "val"),
                       metric=self.config.evaluate.metric)["primary_metric"]

        def val_score(p: Predictor, part: Prepared) -> float:
            model_out, baseline_out = assess.outputs(p, part, "val")
            return score(part.task.type, part.actual["val"], model_out, baseline_out, metric=metric)["test"][metric]

        # Same seed and config, so training on 100% would repeat the run: its score is reused.
        order = "recent" if prepared.task.type == "forecast" else "random"
        with log.steps("data curve: retraining", sum(f != 1.0 for f in FRACTIONS)) as steps:
            def fit_and_score(rows: np.ndarray) -> float:
                part = assess.subset(prepared, rows)
                found = val_score(self._train(part, RunLog(quiet=True))[0], part)
                steps.advance(1, f"on {len(rows)} training rows: validation {metric} {found:.4g}")
                return found

            curve = data_curve(len(prepared.x["train"]), fit_and_score, metric=metric, order=order,
                               seed=self.config.train.seed, known={1.0: val_score(predictor, prepared)})
        return curve.to_dict()

    def _write(self, out: Path, result: Result, log: RunLog, predictions: pd.DataFrame) -> Path:
        with staged_folder(out) as staged:
            link_checkpoints(out / "checkpoints", staged / "checkpoints")
            link_checkpoints(out / "tensorboard", staged / "tensorboard", prefix="events.")  # train.tensorboard
            bundle.save(result.predictor, staged / "bundle")
            write_json(staged / "metrics.json", result.metrics)
            write_text(staged / "history.csv", pd.DataFrame(result.history).to_csv(index=False))
            write_table(predictions, staged / "predictions.csv")
            if self.config.evaluate.explain:    # before the report, which shows it
                from ..explain import explain_run

                explain_run(result, staged / "explain", self.config.evaluate.explain, log.write, quiet=log.quiet)
            if log.path is not None:  # the live OUT/run.log: the whole story, a resumed run's before it too
                log.flush()
                shutil.copyfile(log.path, staged / "run.log")
            else:
                write_text(staged / "run.log", "\n".join(log.file_lines) + "\n")
            if self.config.evaluate.report:
                from ..report import write_report

                write_report(staged)
        return out


def validate_config(cfg: ExperimentConfig, callbacks=(), *, folds: int | None = None, data: Any = None):
    # Module-level, so a tuning worker in another process can be handed it (with the data).
    return Experiment(cfg, data=data).validate(callbacks, folds=folds)


def run_config(cfg: ExperimentConfig, out: Path, *, quiet: bool = True, data: Any = None) -> Result:
    # OUT/best is the search's own: each search (or rerun of it) retrains the best into it
    return Experiment(cfg, data=data).run(out=out, quiet=quiet, overwrite=True)


def _augment_settings(cfg: ExperimentConfig) -> dict[str, Any] | None:
    return None if cfg.data.augment is None else cfg.data.augment.model_dump()


def _augmentation(cfg: ExperimentConfig, prepared: Prepared, log: RunLog) -> augment.Compose | None:
    """The training batches' augmentation (data.augment) for this kind of data, or None; logged."""
    settings = _augment_settings(cfg)
    if not augment.active(settings):
        return None
    if prepared.images is not None:   # a raw 0 pixel after normalization: what "black" is
        pre = prepared.images
        fn = augment.from_config(settings, "images", zero=[-s / d for s, d in zip(pre.shift, pre.divide)])
    elif prepared.task.type == "forecast":
        series = prepared.series
        # Levels are scaled about each window's last value, which the forecast is measured
        # against; differenced inputs (changes) about "no change", so the changes are scaled.
        about = "last" if series.transform_name == "none" else [-c / s for c, s in series.inputs]
        fn = augment.from_config(settings, "series", about=about)
    else:
        fn = augment.from_config(settings, "table", columns=augment.numeric_columns(prepared.features))
    log.write("augmentation (training split only): "
              + (augment.describe(settings) if fn is not None else "none, no numeric feature column to jitter"))
    return fn


def _val_metric(predictor: Predictor, prepared: Prepared):
    """The validation metric of each epoch (train.metric; auto: evaluate.metric's, accuracy or MAE)
    in the target's own terms: on class probabilities, or on values in original units, by the
    functions the test split's bootstrap uses (they agree with scikit-learn)."""
    task = prepared.task
    actual = prepared.actual["val"]
    compute = BATCHED[assess.validation_metric(predictor, prepared)]  # a ConfigError before training

    def metric(y_pred: torch.Tensor, y_true: torch.Tensor) -> float:
        raw = y_pred.detach().float().cpu().numpy()
        if task.type == "classification":
            return float(compute(actual[None], predictor.probabilities(raw)[None])[0])
        values = predictor.decode(raw, prepared.last.get("val")).reshape(len(actual), -1)  # (n, outputs)
        return float(compute(actual.reshape(len(actual), -1)[None], values[None])[0])

    return metric


# -- resuming a run ---------------------------------------------------------------------------
# The keys `--allow-changed` may let through on resume: they say how long training goes on,
# not what the checkpoint's state means. Every other key of task, data, model and train, and
# the training data itself, must match the checkpoint's (checked by the Trainer).
RESUMABLE = ("train.epochs", "train.patience")
# Never compared: how often state is saved or shown, how many CPU threads compute it and which
# validation metric is watched (train.metric) change nothing that is learned; data.path is
# stood for by the digest of the data it names.
_UNCOMPARED = {"data": ("path",), "train": ("checkpoint_every", "keep", "tensorboard", "threads", "metric")}


def fingerprint(cfg: ExperimentConfig, digest: str) -> dict[str, Any]:
    """What a run's checkpoints are made from: the settings that shape training, and the data's sha256."""
    settings = cfg.to_dict()
    found = {section: settings[section] for section in ("task", "data", "model", "train")}
    for section, keys in _UNCOMPARED.items():
        for key in keys:
            found[section].pop(key, None)
    found["data"]["sha256"] = digest
    return found


def resumed(trainer: Trainer) -> dict[str, Any]:
    """metrics.json's `resumed` (the checkpoint training went on from, and the keys allowed to
    change there, old and new), or nothing for a run trained from its first epoch."""
    return {} if trainer.resumed is None else {"resumed": trainer.resumed}


def log_resume(trainer: Trainer, log: RunLog) -> None:
    done = trainer.resumed
    if done is None:
        return
    step = f", step {done['steps']} of the next" if done["steps"] else ""
    changed = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in done["changed"].items())
    log.write(f"training: resumed from checkpoint {done['checkpoint']} (epoch {done['epochs']} done{step})"
              + (f"; changed as allowed: {changed}" if changed else ""))


def _check_resume_options(cfg: ExperimentConfig, resume: bool, overwrite: bool, allow_changed: Collection[str]) -> None:
    if resume and overwrite:
        raise UsageError("--resume and --overwrite: choose one",
                         hint="--resume continues the training in OUT/checkpoints; --overwrite starts afresh "
                              "and replaces OUT")
    for key in allow_changed:
        if key not in RESUMABLE:
            raise UsageError(f"--allow-changed {key}: only {' and '.join(RESUMABLE)} may change on resume"
                             f"{did_you_mean(key, RESUMABLE)}",
                             hint="any other change (or changed data) makes the checkpoint's state mean something "
                                  "else: start afresh with --overwrite, or choose another --out")
    if allow_changed and not resume:
        raise UsageError("--allow-changed: applies to a resumed run", hint="add --resume, or leave --allow-changed out")
    schedule = cfg.train.schedule.type
    if "train.epochs" in allow_changed and schedule in PER_UPDATE:
        raise ConfigError(f"train.epochs: train.schedule.type '{schedule}' plans the learning rate over all "
                          "epochs, so the number cannot change on resume",
                          hint="resume with the checkpoint's train.epochs, or start afresh with --overwrite")
