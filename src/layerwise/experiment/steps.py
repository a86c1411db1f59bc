"""The public steps a run is made of; the recipes (run.py, streamed.py) are these in order.

    read -> check -> prepare (the Task) -> build_model -> trainer_for -> fit -> judge -> write_run_folder

Each step takes the config and the run's Task (tasks/) and asks the Task wherever the kind
of problem matters; none of them tests `task.type` itself.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from .. import bundle
from ..atomic import staged_folder, write_json, write_table, write_text
from ..bundle.predictor import Predictor
from ..config.schema import ExperimentConfig, TrainConfig
from ..data import augment
from ..data.resources import CpuLoad
from ..errors import ConfigError, did_you_mean
from ..evaluation import HIGHER_IS_BETTER, data_curve, diagnose, score
from ..evaluation import judge as judge_arrays
from ..evaluation.batched import BATCHED
from ..evaluation.classical import ReferenceFit
from ..evaluation.data_curve import FRACTIONS
from ..evaluation.leakage import Audit
from ..models import available, build
from ..models.init import scheme_of
from ..tasks import Head, Prepared, Task
from ..tasks.common import augment_settings, subset
from ..training import Callback, Trainer
from ..training.checkpoint import data_digest, link_checkpoints
from ..training.distributed import world_size
from ..training.freeze import Freeze, transfer
from ..training.runlog import RunLog
from ..training.tensorboard import TensorBoard
from .offload import AUDIT_MODULES, EXPLAIN_MODULES, REPORT_MODULES, Offload

# The keys `--allow-changed` may let through on resume: they say how long training goes on,
# not what the checkpoint's state means. Every other key of task, data, model and train, and
# the training data itself, must match the checkpoint's (checked by the Trainer).
RESUMABLE = ("train.epochs", "train.patience")
# Never compared: how often state is saved or shown, how many CPU threads compute it and which
# validation metric is watched (train.metric) change nothing that is learned; data.path is
# stood for by the digest of the data it names.
# data.image.lazy, workers and memory_mb: the same batches whoever decodes them (data/image_loader.py);
# where the images ended up held is compared as data.held (run_trainer). Dotted keys reach into a
# section's sub-section.
UNCOMPARED = {
    "data": ("path", "image.lazy", "image.workers", "image.memory_mb"),
    "train": ("checkpoint_every", "keep", "tensorboard", "threads", "metric"),
}
# Settings added after checkpoints carried fingerprints, at the value that trains as before they
# existed: left out there, so a checkpoint made before them still resumes.
ADDED: dict[str, dict[str, Any]] = {
    "train": {"stop_on": "loss", "channels_last": "auto"},
    "data": {
        "image.files": None,
        "augment.crop": 1.0,
        "augment.color": 0.0,
        "augment.policy": "none",
        "augment.mixup": 0.0,
        "augment.cutmix": 0.0,
    },
}


def read(cfg: ExperimentConfig, task: Task, data: Any, log: RunLog) -> tuple[Any, str]:
    """The run's raw data as its Task reads it, and its name in messages (the path, or "data")."""
    name = str(cfg.data.path) if data is None else "data"
    return task.read(cfg, data, log), name


def refuse(cfg: ExperimentConfig, task: Task) -> None:
    """Every setting this kind of problem cannot honour, at once, before any data is read."""
    problems = task.refused(cfg)
    if problems:
        raise ConfigError(problems, hint=f"these settings do not apply to {task.name} ({'/'.join(task.types)})")


def check(cfg: ExperimentConfig, task: Task, source: Any, name: str) -> str:
    """The config against the data, every problem at once (the Task's and the model's); the task type."""
    problems = []
    if cfg.model.type not in available():
        problems.append(
            f"model.type: {cfg.model.type!r} is not one of {available()}{did_you_mean(cfg.model.type, available())}"
        )
    try:
        kind = task.check(cfg, source, name)
    except ConfigError as err:
        raise ConfigError([*problems, *err.problems], hint=err.hint) from None
    if problems:
        raise ConfigError(problems)
    return kind


def prepare(cfg: ExperimentConfig, task: Task, source: Any, kind: str, name: str, log: RunLog) -> Prepared:
    """Clean, split and fit on the training split only, by the Task; each step said in the log."""
    prepared = task.prepare(cfg, source, kind, name)
    for line in prepared.cleaning.lines():
        log.write(f"cleaning: {line}")
    for note in prepared.notes:
        log.write(f"split: {note}")
    log.write("split: " + ", ".join(f"{k} {v}" for k, v in prepared.rows.items()) + f" {task.unit}")
    return prepared


def build_model(
    cfg: ExperimentConfig, task: Task, prepared: Prepared, log: RunLog, *, resume: bool = False
) -> tuple[Predictor, Head, list[Callback]]:
    """The model built from model.* for this Task's head, initialized (model.init, transfer, a backbone's
    weights unless `resume`), wrapped in the Predictor that will be saved; the head (loss); the callbacks
    transfer and fine-tuning ask for (freezing). May reshape prepared.y."""
    head = task.head(cfg, prepared)
    input_shape = tuple(prepared.x["train"].shape[1:])
    torch.manual_seed(cfg.train.seed)
    model_cfg = {**cfg.model.model_dump(), **head.model}
    module = build(model_cfg, input_shape, head.output_dim)
    # data-dependent starting values (the tabular block's bins), from the training split only; a
    # bundle's weights (model.init.from) replace them where it has them
    if isinstance(prepared.x["train"], np.ndarray):  # (images left on disk feed no block that fits on data)
        cast(Any, module).fit_data(torch.from_numpy(np.ascontiguousarray(prepared.x["train"])))
    transferred = transfer(module, model_cfg["init"], log.write)  # model.init.from / freeze
    if hasattr(module, "load_weights") and not resume:  # a backbone's own weights; a checkpoint holds them on resume
        cast(Any, module).load_weights(log.write)
    frozen = cast(Any, module).freeze_plan() if hasattr(module, "freeze_plan") else None
    if frozen is not None:  # (patterns, last frozen epoch): the fine-tuning schedule
        transferred.append(Freeze(frozen[0], frozen[1], write=log.write, key="model.freeze_epochs"))
    task.initialize(cfg, prepared, module, log)  # model.init.embedding: word vectors, where the kind has tokens
    # The block's resolved settings, not the config's nulls: a bundle must not pick up
    # whatever a later version's block defaults are. Its weights are its own: no `from`.
    resolved = {**cast(Any, module).get_config(), "init": scheme_of(model_cfg["init"])}  # a registered Block
    predictor = Predictor(
        prepared.task,
        module,
        model={"config": resolved, "input_shape": list(input_shape), "output_dim": head.output_dim},
        features=prepared.features,
        target=prepared.target,
        series=prepared.series,
        vocabulary=prepared.vocabulary,
        images=prepared.images,
        config=cfg.to_dict(),
    )
    return predictor, head, transferred


def trainer_for(
    train: TrainConfig,
    module: torch.nn.Module,
    *,
    loss: Any,
    has_val: bool,
    callbacks: Sequence[Callback] = (),
    quiet: bool = True,
    class_weights: list[float] | None = None,
    metric: Callable | None = None,
    maximize: bool | None = None,
    augment_fn: Any = None,
    mix_fn: Any = None,
    checkpoints: Path | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> Trainer:
    """The one place a TrainConfig becomes a Trainer: every train.* key is honoured here, for every kind."""
    t = train
    return Trainer(
        module,
        loss=loss,
        optimizer=t.optimizer,
        lr=t.lr,
        momentum=t.momentum,
        nesterov=t.nesterov,
        batch_size=t.batch_size,
        epochs=t.epochs,
        weight_decay=t.weight_decay,
        l1=t.l1,
        clip_grad=t.clip_grad,
        patience=t.patience if has_val else None,
        stop_on=t.stop_on if has_val else "loss",  # no validation split: no epoch to rank or keep
        maximize=maximize,
        class_weights=class_weights,
        label_smoothing=t.label_smoothing,
        seed=t.seed,
        device=t.device,
        threads=t.threads,
        metric=metric,
        callbacks=list(callbacks),
        quiet=quiet,
        schedule=t.schedule.model_dump(),
        accumulate=t.accumulate,
        on_nan=t.on_nan,
        precision=t.precision,
        compile=t.compile,
        channels_last=t.channels_last,
        checkpoint_dir=checkpoints,
        checkpoint_every=t.checkpoint_every,
        keep=t.keep,
        augment=augment_fn,
        mix=mix_fn,
        fingerprint=fingerprint,
    )


def run_trainer(
    cfg: ExperimentConfig,
    task: Task,
    prepared: Prepared,
    predictor: Predictor,
    loss: Any,
    log: RunLog,
    extra: Sequence[Callback] = (),
    *,
    checkpoints: Path | None = None,
    digest: str | None = None,
) -> Trainer:
    """`trainer_for` with what the run adds: run.log and history.csv callbacks, TensorBoard beside the
    checkpoints, the Task's validation metric, class weights and augmentation, the resume fingerprint."""
    has_val = len(prepared.x["val"]) > 0
    callbacks = [*log.callbacks(), *extra]
    if cfg.train.tensorboard and checkpoints is not None:  # beside the checkpoints, in the run folder
        callbacks.append(TensorBoard(checkpoints.parent / "tensorboard"))
    metric, maximize, name = None, None, None
    if has_val:
        name = task.watched(cfg, prepared)
        metric = None if name is None else task.validation_metric(predictor, prepared, BATCHED[name])
        maximize = None if name is None else HIGHER_IS_BETTER[name]
        if metric is None and cfg.train.stop_on == "metric":  # Task.refused says so first, where it can
            raise ConfigError(
                f"train.stop_on: 'metric' ranks epochs by a validation metric, and this {prepared.task.type} run "
                "computes none",
                hint="set train.stop_on: loss",
            )
    fingerprint_ = (
        None
        if checkpoints is None
        else fingerprint(
            cfg,
            digest
            or task.digest(prepared)
            or data_digest(*(prepared.x[k] for k in ("train", "val")), *(prepared.y[k] for k in ("train", "val"))),
            watched=name,
        )
    )
    if fingerprint_ is not None and not isinstance(prepared.x["train"], np.ndarray):
        # images read from disk train on the same batches, but a checkpoint's mid-epoch state and the data's
        # digest are not those of images held in memory: a resume must hold them as the checkpoint did
        fingerprint_["data"]["held"] = "disk"
    return trainer_for(
        cfg.train,
        predictor.module,
        loss=loss,
        has_val=has_val,
        callbacks=callbacks,
        quiet=log.quiet,
        class_weights=task.class_weights(cfg, prepared),
        metric=metric,
        maximize=maximize,
        augment_fn=augmentation(cfg, task, prepared, log),
        mix_fn=task.mixing(augment_settings(cfg), prepared),
        checkpoints=checkpoints,
        fingerprint=fingerprint_,
    )


def fit(
    cfg: ExperimentConfig,
    task: Task,
    prepared: Prepared,
    log: RunLog,
    extra: Sequence[Callback] = (),
    *,
    checkpoints: Path | None = None,
    resume: bool = False,
    allow_changed: tuple[str, ...] = (),
) -> tuple[Predictor, Trainer, float]:
    """Build, train (resuming when asked) and leave on the CPU: the Predictor, its Trainer, the seconds."""
    predictor, head, transferred = build_model(cfg, task, prepared, log, resume=resume)
    trainer = run_trainer(
        cfg, task, prepared, predictor, head.loss, log, [*transferred, *extra], checkpoints=checkpoints
    )
    has_val = len(prepared.x["val"]) > 0
    feed = task.feed(cfg, prepared, trainer.device)
    if feed is not None:
        log.write(f"training: {feed.describe}")
    started = time.perf_counter()
    if feed is not None:  # batches from a DataLoader (images on disk, or augmented one by one)
        # the decoding workers' CPUs are left to them (threads: auto)
        trainer.fit_stream(
            feed.train, feed.n_train, feed.val, resume=resume, allow_changed=allow_changed, busy=feed.workers
        )
    else:
        trainer.fit(
            prepared.x["train"],
            prepared.y["train"],
            prepared.x["val"] if has_val else None,
            prepared.y["val"] if has_val else None,
            resume=resume,
            allow_changed=allow_changed,
        )
    seconds = time.perf_counter() - started
    log_resume(trainer, log)
    log.write(f"training: {len(trainer.history)} epochs in {seconds:.1f}s{kept_line(cfg, task, prepared, trainer)}")
    trainer.module.to("cpu").to(memory_format=torch.contiguous_format)  # (train.channels_last: back to the usual order)
    return predictor, trainer, seconds


def kept_line(cfg: ExperimentConfig, task: Task, prepared: Prepared, trainer: Trainer) -> str:
    """The training log line's end: which epoch's weights early stopping put back, and by what."""
    epoch = trainer.restored_epoch
    if epoch is None:
        return ""
    by = f"{task.watched(cfg, prepared)} (train.stop_on: metric)" if trainer.stop_on == "metric" else "loss"
    return f"; best validation {by} at epoch {epoch} (weights restored)"


def augmentation(cfg: ExperimentConfig, task: Task, prepared: Prepared, log: RunLog) -> Any:
    """The training batches' augmentation (data.augment) for this kind of data, or None; logged."""
    settings = augment_settings(cfg)
    if settings is None or not augment.active(settings):
        return None
    fn = task.augmentation(settings, prepared)
    # applied where images load (per image), or with the labels (mixup, cutmix)
    per_image = any(key in augment.ITEM_KEYS + augment.MIX_KEYS for key in augment.active(settings))
    log.write(
        "augmentation (training split only): "
        + (augment.describe(settings) if fn is not None or per_image else "none, no numeric feature column to jitter")
    )
    return fn


def second_process(cfg: ExperimentConfig, task: Task, out: Path | str | None) -> Offload | None:
    """The run's second process (experiment/offload.py): where a CPU is free beside training (two or more
    this process may use, by its affinity mask and any CPU quota; POSIX; not under torchrun) and there
    is work for it (the classical reference, the leakage audit, the report), started now so that its
    imports are done by the time the work is; None otherwise."""
    ev = cfg.evaluate
    modules = [*task.reference_modules] if ev.reference != "none" else []
    if ev.leakage and task.audits:
        modules += AUDIT_MODULES
    if ev.report and out is not None:
        modules += [*REPORT_MODULES, *(EXPLAIN_MODULES if ev.explain else ())]
    if not modules or os.name != "posix" or world_size() > 1 or CpuLoad().capacity < 2:
        return None
    return Offload.start(modules)


def reference(
    cfg: ExperimentConfig, task: Task, prepared: Prepared, log: RunLog, offload: Offload | None = None
) -> Callable[[], dict[str, Any]]:
    """The classical reference (Task.reference), started now: in the second process where the run has
    one, so that it fits while the network trains; the callable returns judge's keywords, once fitted
    (without a second process: fitted then, its data not kept while the network trains)."""

    def here() -> dict[str, Any]:
        return fit_reference(cfg, task, prepared)

    if offload is None:
        return here
    found = task.reference(prepared, cfg.evaluate)
    return offload.reference(found, here, log) if isinstance(found, ReferenceFit) else lambda: found


def fit_reference(cfg: ExperimentConfig, task: Task, prepared: Prepared) -> dict[str, Any]:
    """judge's keywords for the classical reference, fitted in this process."""
    found = task.reference(prepared, cfg.evaluate)
    return found.run() if isinstance(found, ReferenceFit) else found


def leakage(
    cfg: ExperimentConfig, task: Task, prepared: Prepared, log: RunLog, offload: Offload | None = None
) -> Callable[[], list[dict[str, Any]]]:
    """The leakage audit (Task.audit, evaluate.leakage), started now as `reference` is; the callable
    returns its warnings."""

    def here() -> list[dict[str, Any]]:
        return run_audit(cfg, task, prepared)

    if offload is None or not cfg.evaluate.leakage:
        return here
    found = task.audit(prepared)
    return offload.audit(found, here, log) if isinstance(found, Audit) else lambda: found


def run_audit(cfg: ExperimentConfig, task: Task, prepared: Prepared) -> list[dict[str, Any]]:
    """The leakage audit's warnings, run in this process; [] with evaluate.leakage off."""
    found = task.audit(prepared) if cfg.evaluate.leakage else []
    return found.run() if isinstance(found, Audit) else found


def judge(
    cfg: ExperimentConfig,
    task: Task,
    prepared: Prepared,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
    reference: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score the test split beside the baseline, with intervals, and apply the gates (evaluate.gates).
    `reference`: the classical reference as `reference()` started it; fitted here when None."""
    ev = cfg.evaluate
    found = fit_reference(cfg, task, prepared) if reference is None else reference()
    gates = ev.gates
    champion = None
    if gates.compare_to is not None:
        champion = {
            "path": gates.compare_to,
            "out": task.champion_outputs(bundle.load(gates.compare_to), prepared, gates.compare_to),
        }
    return judge_arrays(
        prepared.task.type,
        prepared.actual["test"],
        model_out,
        baseline_out,
        metric=ev.metric,
        samples=ev.bootstrap,
        level=ev.level,
        seed=cfg.train.seed,
        beat_baseline=gates.beat_baseline,
        beat_reference=gates.beat_reference,
        minimum={str(k): v for k, v in gates.min.items()},
        maximum={str(k): v for k, v in gates.max.items()},
        champion=champion,
        **{"block": 1, **task.judged(prepared, ev), **found},
    )


def run_metrics(
    cfg: ExperimentConfig,
    task: Task,
    prepared: Prepared,
    predictor: Predictor,
    trainer: Trainer,
    seconds: float,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
    log: RunLog,
    curve: Callable[[], dict[str, Any] | None],
    reference: Callable[[], dict[str, Any]] | None = None,
    audit: Callable[[], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """metrics.json, for every kind: the judgement, then what the run was (rows, epochs, diagnosis,
    leakage, data, data curve, the baseline's fit, the Task's own entries). `reference` as for `judge`;
    `audit` as `leakage` started it, run here when None."""
    metrics = judge(cfg, task, prepared, model_out, baseline_out, reference)
    metrics.update(
        cleaning=prepared.cleaning.to_dict(),
        rows=prepared.rows,
        seconds=round(seconds, 3),
        best_epoch=trainer.best_epoch,
        epochs=len(trainer.history),
        diagnosis=diagnose(
            trainer.history,
            restored=trainer.restored_epoch,
            metric_stopped=trainer.stop and trainer.stop_on == "metric",
        ).to_dict(),
        leakage=run_audit(cfg, task, prepared) if audit is None else audit(),
        data=task.summary(prepared),
        data_curve=curve() if cfg.evaluate.data_curve else None,
        **resumed(trainer),
    )
    for line in [*metrics["diagnosis"]["findings"], *(w["detail"] for w in metrics["leakage"])]:
        log.write(f"evaluation: {line}")
    if metrics["data_curve"]:
        log.write(f"data curve: {metrics['data_curve']['finding']}")
    metrics["baseline_fit"] = task.baseline_fit(prepared)
    metrics.update(task.extra_metrics(predictor, prepared, model_out, baseline_out, cfg))
    return metrics


def curve(
    cfg: ExperimentConfig, task: Task, prepared: Prepared, predictor: Predictor, log: RunLog
) -> dict[str, Any] | None:
    """Retrain on 25, 50, 75% of the training split; the full run is the 100% point."""
    if len(prepared.x["val"]) == 0:
        log.write("data curve: skipped, it scores on the validation split and data.split.val is 0")
        return None
    kind = prepared.task.type
    metric = score(kind, prepared.actual["val"], *task.outputs(predictor, prepared, "val"), metric=cfg.evaluate.metric)[
        "primary_metric"
    ]

    def val_score(p: Predictor, part: Prepared) -> float:
        model_out, baseline_out = task.outputs(p, part, "val")
        return score(kind, part.actual["val"], model_out, baseline_out, metric=metric)["test"][metric]

    # Same seed and config, so training on 100% would repeat the run: its score is reused.
    with log.steps("data curve: retraining", sum(f != 1.0 for f in FRACTIONS)) as steps:

        def fit_and_score(rows: np.ndarray) -> float:
            part = subset(prepared, rows)
            found = val_score(fit(cfg, task, part, RunLog(quiet=True))[0], part)
            steps.advance(1, f"on {len(rows)} training {task.unit}: validation {metric} {found:.4g}")
            return found

        found = data_curve(
            len(prepared.x["train"]),
            fit_and_score,
            metric=metric,
            order=task.curve_order,
            seed=cfg.train.seed,
            known={1.0: val_score(predictor, prepared)},
        )
    return found.to_dict()


def write_run_folder(
    out: Path,
    cfg: ExperimentConfig,
    result: Any,
    log: RunLog,
    predictions: pd.DataFrame,
    offload: Offload | None = None,
) -> Path:
    """The run folder, published whole (staged, then renamed): bundle/, metrics.json, history.csv,
    predictions.csv, run.log, explain/ and report.html as the config asks (the report drawn by the
    run's second process where it has one); checkpoints linked in."""
    with staged_folder(out) as staged:
        link_checkpoints(out / "checkpoints", staged / "checkpoints")
        link_checkpoints(out / "tensorboard", staged / "tensorboard", prefix="events.")  # train.tensorboard
        bundle.save(result.predictor, staged / "bundle")
        write_json(staged / "metrics.json", result.metrics)
        write_text(staged / "history.csv", pd.DataFrame(result.history).to_csv(index=False))
        write_table(predictions, staged / "predictions.csv")
        if cfg.evaluate.explain:  # before the report, which shows it
            from ..explain import explain_run

            explain_run(result, staged / "explain", cfg.evaluate.explain, log.write, quiet=log.quiet)
        keep_log(log, staged / "run.log")
        if cfg.evaluate.report:
            table = architecture(result.predictor)
            if offload is None or not offload.report(staged, log, table):
                from ..report import write_report

                if offload is not None:  # with the line that says why the report is drawn here
                    keep_log(log, staged / "run.log")
                write_report(staged, architecture=table)
    return out


def architecture(predictor: Predictor) -> list[dict[str, Any]]:
    """The report's table of the trained model's layers (models.summary)."""
    from ..models.summary import layers

    return layers(predictor.module, predictor.model["input_shape"])


def keep_log(log: RunLog, path: Path) -> None:
    """The run folder's run.log: the live OUT/run.log (the whole story, a resumed run's before it too),
    or the lines of a run without a folder of its own."""
    if log.path is not None:
        log.flush()
        shutil.copyfile(log.path, path)
    else:
        write_text(path, "\n".join(log.file_lines) + "\n")


def fingerprint(cfg: ExperimentConfig, digest: str, *, watched: str | None = None) -> dict[str, Any]:
    """What a run's checkpoints are made from: the settings that shape training, and the data's
    sha256. Under train.stop_on: metric the validation metric decides the kept epoch, so its
    resolved name (`watched`; train.metric auto follows evaluate.metric) is compared too."""
    settings = cfg.to_dict()
    found = {section: settings[section] for section in ("task", "data", "model", "train")}
    for section, keys in UNCOMPARED.items():
        for key in keys:
            _drop(found[section], key)
    for section, defaults in ADDED.items():
        for key, default in defaults.items():
            _drop(found[section], key, only=default)
    if cfg.train.stop_on == "metric":
        found["train"]["metric"] = watched
    found["data"]["sha256"] = digest
    return found


_ANY = object()


def _drop(settings: dict[str, Any], dotted: str, only: Any = _ANY) -> None:
    """Remove `dotted` (a key, or sub.key) from settings, where it is (and, given `only`, holds it)."""
    *outer, key = dotted.split(".")
    node: Any = settings
    for name in outer:
        node = node.get(name) if isinstance(node, dict) else None
    if isinstance(node, dict) and key in node and (only is _ANY or node[key] == only):
        node.pop(key)


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
    log.write(
        f"training: resumed from checkpoint {done['checkpoint']} (epoch {done['epochs']} done{step})"
        + (f"; changed as allowed: {changed}" if changed else "")
    )
