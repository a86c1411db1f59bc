"""The search: check the space against the config, run trials (in K local workers if asked),
then retrain the best configuration, judge it once on test, and write the records.

    layerwise tune exp.yaml --out runs/exp-tune
      runs/exp-tune/study.db         the Optuna study (SQLite default): rerun to resume
      runs/exp-tune/tuning.csv       one row per trial
      runs/exp-tune/best.yaml        the best configuration, a complete `layerwise run` config (its
                                     train.metric is the objective, so its history reports it)
      runs/exp-tune/tuning.json      best trial, its value beside the retrained model's
      runs/exp-tune/*.png            optimization history, parameter importance, parallel coordinates
      runs/exp-tune/best/            the retrained run folder: bundle/, metrics.json, report.html, ...

The retrained run lives in its own folder because a run folder is replaced whole when
written, and the study file beside it may still be in use by other workers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage

from ..config.messages import describe
from ..config.schema import ExperimentConfig, TuneConfig
from ..config.space import Space, apply
from ..errors import ConfigError, LayerwiseError
from . import methods, records
from .objective import (
    Validate,
    direction,
    metric_key,
    metric_name,
    objective,
    objective_metric,
    scored_on,
    signature_metric,
)
from .progress import Progress
from .storage import close_storage, open_storage, sqlite_url
from .study import open_study, work

Run = Callable[..., Any]  # (config, out, *, quiet) -> experiment.Result


@dataclass
class Tuning:
    """What a search produced: the study, the best configuration and its retrained run."""

    study: optuna.Study
    config: ExperimentConfig  # the best configuration, without `tune`
    best_value: float
    refit_value: float | None  # the retrained model's validation score (None when refit on train+val)
    result: Any  # the retrained run's Result (metrics judged once on test)
    out: Path
    summary: dict[str, Any]


def settings(cfg: ExperimentConfig, **options: Any) -> TuneConfig:
    """The `tune` section with command-line options (None = keep) applied, validated again."""
    if cfg.tune is None:
        raise ConfigError(
            "tune: the config has no tune section; add one with a space, e.g. "
            "tune: {space: {train.lr: {log_uniform: [1.0e-4, 1.0e-1]}}}"
        )
    raw = {**cfg.tune.model_dump(mode="json"), **{k: v for k, v in options.items() if v is not None}}
    try:
        return TuneConfig.model_validate(raw)
    except Exception as err:  # pydantic's ValidationError: described as the config's errors are
        errors = getattr(err, "errors", None)
        if errors is None:
            raise
        raise ConfigError(
            [describe({**e, "loc": ("tune", *e["loc"])}, {}, ExperimentConfig) for e in errors()]
        ) from None


def check(cfg: ExperimentConfig, tune: TuneConfig, space: Space) -> dict[str, Any]:
    """Every bound and choice must make a valid config: all problems at once, before training."""
    # the keys the user set, not every default: a trial's config tells set keys from defaults as the
    # user's does (a kind refuses a key only where it was set)
    base = {k: v for k, v in cfg.model_dump(mode="json", exclude_unset=True).items() if k != "tune"}
    problems = []
    if tune.cv is None and cfg.data.split.val == 0:
        problems.append(
            "data.split.val: tuning scores on the validation split, which is empty; "
            "set data.split.val > 0 or tune.cv: k"
        )
    for point in space.corners():
        try:
            ExperimentConfig.from_dict(apply(base, point))
        except ConfigError as err:
            ((path, value),) = point.items()
            problems += [f"tune.space.{path} = {value!r}: {p}" for p in err.problems]
    if problems:
        raise ConfigError(problems)
    return base


def search(
    cfg: ExperimentConfig,
    *,
    task: str,
    validate: Validate,
    run: Run,
    out: str | Path,
    name: str = "layerwise",
    quiet: bool = True,
    resume_study: bool = False,
    **options: Any,
) -> Tuning:
    """Tune `cfg.tune.space`, then retrain the best configuration into OUT/best.

    `options` override the tune section: trials, timeout, storage, study, workers.
    `validate(config, callbacks, folds=k)` trains and scores validation data only;
    `run(config, out, quiet=...)` is a whole `layerwise run`.
    """
    tune = settings(cfg, **options)
    space = Space.parse(tune.space)
    base = check(cfg, tune, space)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    url = tune.storage or sqlite_url(out)
    study_name = tune.study or name
    seed = cfg.train.seed if tune.seed is None else tune.seed
    metric = objective_metric(cfg, task, tune.metric)  # a metric of another task: refused before the search
    goal = direction(metric)
    trials = tune.trials
    if tune.method == "grid":
        size = 1
        for values in space.grid().values():
            size *= len(values)
        trials = size if trials is None else min(trials, size)
    elif trials is None:
        raise ConfigError("tune.trials: random and tpe need a number of trials (only grid may leave it unset)")
    job = Job(
        base=base,
        space=space.to_dict(),
        validate=validate,
        url=url,
        study=study_name,
        method=tune.method,
        pruner=tune.pruner,
        metric=metric,
        task=task,
        folds=tune.cv,
        trials=trials,
        seed=seed,
        heartbeat=tune.heartbeat,
        retries=tune.retries,
        epochs=cfg.train.epochs,
        resume_study=resume_study,
        deadline_s=tune.timeout,
    )
    verbosity = optuna.logging.get_verbosity()
    # Optuna logs a line per trial; the progress display and tuning.csv say it better.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return _search(cfg, tune, job, space, base, run, out, task, quiet, goal, trials, metric)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _search(cfg, tune, job, space, base, run, out, task, quiet, goal, trials, metric) -> Tuning:
    study, storage = job.study_for(worker=0)  # the storage is checked and the study created before any worker starts
    helpers = _start_workers(job, tune.workers - 1)
    try:
        with Progress(study, trials, tune.timeout, goal, enabled=not quiet, metric=metric_name(metric)) as progress:
            job.work(study, worker=0, callbacks=[progress.update])
    finally:
        for process in helpers:
            process.join()
    try:
        return _after(cfg, tune, study, space, base, run, out, task, quiet, helpers, metric)
    finally:
        close_storage(storage)


def _after(cfg, tune, study, space, base, run, out, task, quiet, helpers, metric) -> Tuning:
    bad = [p.exitcode for p in helpers if p.exitcode != 0]
    if bad:
        raise LayerwiseError(
            f"{len(bad)} of {len(helpers)} worker processes failed (exit codes {bad})",
            hint="rerun with --workers 1 to see the error",
        )
    return _finish(cfg, tune, study, space, base, run, out, task, quiet, metric)


@dataclass
class Job:
    """Everything a worker needs to join the study: plain values, so it pickles to a new process."""

    base: dict[str, Any]
    space: dict[str, Any]
    validate: Validate
    url: str
    study: str
    method: str
    pruner: str
    metric: str  # objective_metric: "loss" or a validation metric's name
    task: str
    folds: int | None
    trials: int
    seed: int
    heartbeat: int
    retries: int
    epochs: int
    resume_study: bool
    deadline_s: float | None

    def study_for(self, worker: int) -> tuple[optuna.Study, RDBStorage]:
        space = Space.parse(self.space)
        storage = open_storage(self.url, heartbeat=self.heartbeat, retries=self.retries)
        # Each worker its own seed: two random samplers seeded alike would propose the same points.
        sampler = methods.sampler(self.method, space, self.seed + worker)
        signature = {
            "space": self.space,
            "method": self.method,
            "metric": signature_metric(self.metric, self.task),
            "folds": self.folds,
            "pruner": self.pruner,
        }
        try:
            study = open_study(
                storage,
                self.study,
                signature=signature,
                direction=direction(self.metric),
                sampler=sampler,
                pruner=methods.pruner(self.pruner, self.epochs),
                resume_study=self.resume_study or worker > 0,
            )
        except BaseException:
            close_storage(storage)
            raise
        return study, storage

    def work(self, study: optuna.Study, *, worker: int, callbacks: list) -> None:
        space = Space.parse(self.space)
        deadline = None if self.deadline_s is None else time.monotonic() + self.deadline_s
        run = objective(self.base, space, self.validate, self.metric, self.folds)
        work(study, run, trials=self.trials, deadline=deadline, catch=(LayerwiseError,), callbacks=callbacks)


def _worker(job: Job, worker: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # a process of its own: nothing to restore
    study, storage = job.study_for(worker)
    try:
        job.work(study, worker=worker, callbacks=[])
    finally:
        close_storage(storage)


def _start_workers(job: Job, count: int) -> list:
    # spawn, not fork: a forked child would inherit the parent's open database connections.
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(job, i + 1), daemon=False) for i in range(count)]
    for process in processes:
        process.start()
    return processes


def _finish(
    cfg: ExperimentConfig,
    tune: TuneConfig,
    study: optuna.Study,
    space: Space,
    base: dict[str, Any],
    run: Run,
    out: Path,
    task: str,
    quiet: bool,
    metric: str,
) -> Tuning:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    table = records.trials_table(study, space)
    records.write_table(table, out / "tuning.csv")
    if not complete:
        raise LayerwiseError(
            f"no trial completed ({len(table)} trials: "
            f"{table['state'].value_counts().to_dict() if len(table) else {}}); see {out / 'tuning.csv'}",
            hint="widen the space, lower train.lr, or raise tune.trials / tune.timeout",
        )
    best = study.best_trial
    assert best.value is not None  # the best trial is a complete one, which has its value
    params = space.decode(dict(best.params))
    best_raw = scored_on(apply(base, params), metric)
    refit_raw = best_raw
    if tune.refit == "train+val":
        # Train on train + validation for the epochs the best trial kept; nothing is left to stop early on.
        split = best_raw["data"]["split"]
        kept = best.user_attrs.get("kept_epoch") or [best_raw["train"]["epochs"]]
        refit_raw = apply(
            best_raw,
            {
                "data.split.train": split["train"] + split["val"],
                "data.split.val": 0.0,
                "train.epochs": max(kept),
                "train.patience": None,
            },
        )
    records.write_best_yaml(out / "best.yaml", refit_raw)
    best_cfg = ExperimentConfig.from_dict(refit_raw, source=str(out / "best.yaml"))
    result = run(best_cfg, out / "best", quiet=quiet)
    refit_value = _refit_value(result, best_cfg, metric_key(metric)) if tune.refit == "train" else None
    notes = records.write_plots(study, out)
    counts = table["state"].value_counts().to_dict()
    summary = {
        "metric": metric_name(metric),
        "direction": study.direction.name.lower(),
        "method": tune.method,
        "pruner": tune.pruner,
        "cv": tune.cv,
        "study": study.study_name,
        "best_trial": best.number,
        "best_value": best.value,
        "best_params": params,
        "refit": tune.refit,
        "refit_value": refit_value,
        "trials": counts,
        "epochs_spent": int(table["epochs"].fillna(0).sum()),
        "notes": notes,
    }
    records.write_summary(out / "tuning.json", summary)
    return Tuning(study, best_cfg, best.value, refit_value, result, out, summary)


def _refit_value(result: Any, cfg: ExperimentConfig, key: str) -> float | None:
    """The retrained model's validation score, read the way a trial's is (the weights kept)."""
    history = result.history
    best_epoch = result.metrics.get("best_epoch")
    row = history[best_epoch - 1] if best_epoch and cfg.train.patience is not None else history[-1]
    return row.get(key)
