"""Experiment: one linear recipe over the public steps (steps.py), for every kind of problem.

resolve the Task -> refuse what it cannot honour -> read -> check -> prepare (clean, split,
fit on train only) -> build + initialize -> trainer_for -> fit -> judge the test split beside
a naive baseline (intervals, diagnosis, leakage audit, data curve, deploy gate)
-> bundle + run folder + report
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from .. import tasks
from ..config.schema import ExperimentConfig
from ..data.streaming import wants_stream
from ..errors import ConfigError, UsageError, did_you_mean, needs_extra
from ..tasks import Task
from ..training import Callback
from ..training.distributed import rank, restarted
from ..training.runlog import RunLog
from ..training.schedules import PER_UPDATE
from . import steps
from .offload import Offload
from .result import Result, summary
from .run_folder import claim, locked
from .steps import RESUMABLE, fingerprint

# images decoded for the learning-rate range test when a run reads them from disk: 4096, fewer
# of large images (at most 2**27 pixel values, 512 MB of float32)
LR_FIND_IMAGES, LR_FIND_ELEMENTS = 4096, 1 << 27

__all__ = ["RESUMABLE", "Experiment", "Result", "fingerprint", "run_config", "summary", "validate_config"]


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

    @property
    def task(self) -> Task:
        """The kind of problem this run is (tasks/), refused settings checked."""
        task = tasks.resolve(self.config, self.data)
        steps.refuse(self.config, task)
        return task

    def run(
        self,
        out: str | Path | None = None,
        *,
        quiet: bool = True,
        resume: bool = False,
        overwrite: bool = False,
        allow_changed: Collection[str] = (),
    ) -> Result:
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
        check_resume_options(cfg, resume, overwrite, allow_changed)
        writer = out is not None and rank() == 0
        # a worker torchrun restarted resumes by itself (Trainer): its own checkpoints are no earlier run
        held = claim(out, resume=resume or restarted(), overwrite=overwrite) if writer and out is not None else None
        with held or nullcontext():
            log = RunLog(quiet=quiet, folder=out if writer else None, append=resume or restarted())
            with log.recording():
                return self.recipe(out, log, resume, allow_changed)

    def recipe(
        self, out: str | Path | None, log: RunLog, resume: bool = False, allow_changed: tuple[str, ...] = ()
    ) -> Result:
        """The steps in order, for every Task; `run` wraps it with the folder's lock and the run log."""
        cfg, task = self.config, self.task
        stream = cfg.data.stream
        if stream.enabled is True and (not task.streams or self.data is not None):
            what = "data= passed in memory" if self.data is not None else task.phrase
            raise ConfigError(
                f"data.stream.enabled: streaming covers tabular classification and regression "
                f"from a Parquet or CSV data.path, not {what}",
                hint="set data.stream.enabled: auto (or false) for this run",
            )
        if task.streams and self.data is None and wants_stream(cfg.data.path, stream.enabled, stream.above_mb):
            from .streamed import run_streamed

            return run_streamed(self, task, out, log, resume, allow_changed)  # larger than memory
        with steps.second_process(cfg, task, out) or nullcontext() as offload:
            if offload is not None:
                log.write("run: a second process prepares the evaluation and the report while this one trains")
            return self.in_order(out, log, task, resume, allow_changed, offload)

    def in_order(
        self,
        out: str | Path | None,
        log: RunLog,
        task: Task,
        resume: bool,
        allow_changed: tuple[str, ...],
        offload: Offload | None,
    ) -> Result:
        """read -> check -> prepare -> (the reference and the audit start) -> fit -> judge -> the run folder."""
        cfg = self.config
        source, name = steps.read(cfg, task, self.data, log)
        kind = steps.check(cfg, task, source, name)
        log.write(task.describe(source, name, kind))
        prepared = steps.prepare(cfg, task, source, kind, name, log)
        # started before training: in the second process, where the run has one, they run while the network trains
        reference = steps.reference(cfg, task, prepared, log, offload)
        audit = steps.leakage(cfg, task, prepared, log, offload)
        checkpoints = None if out is None else Path(out) / "checkpoints"
        predictor, trainer, seconds = steps.fit(
            cfg, task, prepared, log, checkpoints=checkpoints, resume=resume, allow_changed=allow_changed
        )
        model_out, baseline_out = task.outputs(predictor, prepared, "test")
        metrics = steps.run_metrics(
            cfg,
            task,
            prepared,
            predictor,
            trainer,
            seconds,
            model_out,
            baseline_out,
            log,
            curve=lambda: steps.curve(cfg, task, prepared, predictor, log),
            reference=reference,
            audit=audit,
        )
        predictor.metrics = metrics
        log.write_file(metrics["finding"])
        log.write_file(metrics["headline"])
        frame = prepared.frame
        result = Result(
            metrics,
            trainer.history,
            predictor,
            config=cfg,
            log=log.lines,
            test_rows=None if frame is None else frame.iloc[prepared.index["test"]].reset_index(drop=True),
            test_images=None if prepared.images is None else self.test_images(source, prepared.index["test"]),
        )
        if out is not None and rank() == 0:
            table = task.table(prepared, model_out, baseline_out)
            result.out = steps.write_run_folder(Path(out), cfg, result, log, table, offload)
        return result

    @staticmethod
    def test_images(source: Any, rows: np.ndarray) -> Any:
        """(n, c, h, w) test pixels, for explanations; left on disk (FilePixels) when the run read them so."""
        return source.images.take(rows) if source.lazy else source.images[rows]

    def tune(self, out: str | Path | None = None, *, quiet: bool = True, resume_study: bool = False, **options: Any):
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
            task = self.task
            source, data_name = steps.read(self.config, task, self.data, RunLog(quiet=True))
            kind = steps.check(self.config, task, source, data_name)  # the data is checked before any trial trains
            return search(
                self.config,
                task=kind,
                validate=partial(validate_config, data=self.data),
                run=partial(run_config, data=self.data),
                out=out,
                name=name,
                quiet=quiet,
                resume_study=resume_study,
                **options,
            )

    def validate(self, callbacks: list[Callback] | tuple[Callback, ...] = (), *, folds: int | None = None):
        """Train and score the validation split only (a tuning trial); the test split is never scored.

        With `folds`, k folds over train + validation instead (time-ordered for series).
        Returns a `layerwise.tuning.Validation`: per fold, the history row of the weights kept.
        """
        from ..tuning.folds import folds as make_folds
        from ..tuning.objective import Validation

        cfg, log, task = self.config, RunLog(quiet=True), self.task
        source, name = steps.read(cfg, task, self.data, log)
        kind = steps.check(cfg, task, source, name)
        prepared = task.prepare(cfg, source, kind, name)
        parts = [prepared] if folds is None else make_folds(cfg, task, prepared, folds)
        kept, epochs = [], 0
        for part in parts:
            trainer = steps.fit(cfg, task, part, log, callbacks)[1]
            best = trainer.restored_epoch
            kept.append(trainer.history[best - 1] if best is not None else trainer.history[-1])
            epochs += len(trainer.history)
        return Validation(kind, kept, epochs)

    def lr_find(self, **options: Any):
        """The learning-rate range test on the training split (`layerwise.training.lr_find`); the
        model is built as `run` builds it and left untrained. Returns an LRFind."""
        from ..training.lr_find import lr_find

        cfg, log, task = self.config, RunLog(quiet=True), self.task
        source, name = steps.read(cfg, task, self.data, log)
        prepared = task.prepare(cfg, source, steps.check(cfg, task, source, name), name)
        predictor, head, transferred = steps.build_model(cfg, task, prepared, log)
        trainer = steps.run_trainer(cfg, task, prepared, predictor, head.loss, log, transferred)
        x, y = prepared.x["train"], prepared.y["train"]
        if not isinstance(x, np.ndarray):  # images on disk: the range test reads a sample decoded into memory
            most = max(cfg.train.batch_size, min(LR_FIND_IMAGES, LR_FIND_ELEMENTS // int(np.prod(x.shape[1:]))))
            rows = np.sort(np.random.default_rng(cfg.train.seed).permutation(len(x))[:most])
            x, y = x[rows], y[rows]
        return lr_find(trainer, x, y, **options)


def validate_config(cfg: ExperimentConfig, callbacks=(), *, folds: int | None = None, data: Any = None):
    """A tuning trial (module-level, so a worker in another process can be handed it, with the data)."""
    return Experiment(cfg, data=data).validate(callbacks, folds=folds)


def run_config(cfg: ExperimentConfig, out: Path, *, quiet: bool = True, data: Any = None) -> Result:
    """The best configuration of a search, run into OUT/best (the search's own: each search retrains into it)."""
    return Experiment(cfg, data=data).run(out=out, quiet=quiet, overwrite=True)


def check_resume_options(cfg: ExperimentConfig, resume: bool, overwrite: bool, allow_changed: Collection[str]) -> None:
    """--resume, --overwrite and --allow-changed as a user may combine them; UsageError otherwise."""
    if resume and overwrite:
        raise UsageError(
            "--resume and --overwrite: choose one",
            hint="--resume continues the training in OUT/checkpoints; --overwrite starts afresh and replaces OUT",
        )
    for key in allow_changed:
        if key not in RESUMABLE:
            raise UsageError(
                f"--allow-changed {key}: only {' and '.join(RESUMABLE)} may change on resume"
                f"{did_you_mean(key, RESUMABLE)}",
                hint="any other change (or changed data) makes the checkpoint's state mean something "
                "else: start afresh with --overwrite, or choose another --out",
            )
    if allow_changed and not resume:
        raise UsageError("--allow-changed: applies to a resumed run", hint="add --resume, or leave --allow-changed out")
    schedule = cfg.train.schedule.type
    if "train.epochs" in allow_changed and schedule in PER_UPDATE:
        raise ConfigError(
            f"train.epochs: train.schedule.type '{schedule}' plans the learning rate over all "
            "epochs, so the number cannot change on resume",
            hint="resume with the checkpoint's train.epochs, or start afresh with --overwrite",
        )
