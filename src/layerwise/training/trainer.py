"""The Trainer: steps 5 and 6, forward and backpropagate over in-memory tensors (or streamed batches).

The step (forward, loss, backward; the optimizer update) is the Trainer's public surface; the
epoch around it (batch loop, the epoch's one sync) is epoch.py. Around that, each in
its own file: checkpoints and exact resume (checkpoint.py, state.py, signals.py), the NaN/inf
guard (nonfinite.py), learning-rate schedules (schedules.py), mixed precision (precision.py)
and DDP under torchrun (distributed.py).

Each split is moved to the device once. An epoch shuffles with one
`torch.randperm` on the device and slices batches with it, so a step costs one
index_select, forward, backward and optimizer step: no DataLoader, no
per-sample Python. Losses stay on the device until the epoch ends, the one
host sync per epoch.

Batch order, exactly (a test replays it): at fit start
`g = torch.Generator(device=trainer.device).manual_seed(seed)`; each epoch
`idx = torch.randperm(n, generator=g, device=trainer.device)` and the batches are
`x[idx[i:i + batch_size]]` for i = 0, batch_size, 2 * batch_size, ... (the last
one may be short). `torch.manual_seed(seed)` is also called at fit start, for
dropout and anything else drawing from the global generator; `fit(..., resume=True)`
does neither and draws on from the same `g` (`trainer.generator`). With
`accumulate=k`, the optimizer steps after every k batches (and after the epoch's last). The permutation
for a seed differs between CPU and CUDA generators: same seed, same data, same
device type -> same weights.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, cast

import torch
from torch import nn

from ..data.resources import LOAD_WINDOW, CpuLoad
from ..errors import ConfigError, DataError, UsageError
from . import distributed
from . import epoch as epoch_loop
from .arguments import as_tensor, check_args, has_embedding, resolve_device
from .callbacks import STOP_ON, Callback, Checkpoint, EarlyStopping, ProgressBar, best_row
from .checkpoint import (
    Checkpoints,
    CheckpointWarning,
    absent_as_none,
    describe_change,
    differences,
    pack,
    unpack,
)
from .epoch import ValOutputs, eval_rows
from .losses import MemberLoss, make_loss
from .nonfinite import PATIENCE, halve_lr, nonfinite_error, updates_are_finite
from .optim import check_optimizer, make_optimizer, param_groups
from .precision import autocast, check_precision, grad_scaler
from .schedules import check_schedule, make_schedule
from .signals import Interrupted, SignalFlag
from .state import capture, restore
from .threads import RECHECK_SECONDS, Choice, ThreadTrial, choose_threads, is_dense, thread_count

Metric = Callable[[torch.Tensor, torch.Tensor], float]


class Trainer:
    """Fit any `nn.Module` on in-memory arrays or tensors (or streamed batches: `fit_stream`).

    `loss` and `optimizer` take names ("mse", "adam") or real objects: an
    `nn.Module` loss, or a callable `params -> torch.optim.Optimizer`.
    `metric(y_pred, y_true) -> float` gets the whole validation split as CPU
    tensors (raw outputs, targets) once per epoch. `threads="auto"` picks the
    CPU thread count from the model, the batch size and the CPUs other processes leave free,
    measured as it trains (see threads.py); each choice is in `thread_notes`.

    With `checkpoint_dir`, the full training state is saved there every
    `checkpoint_every` epochs and on SIGTERM / SIGINT (the `keep` newest and the best
    are kept), and `fit(..., resume=True)` continues from the newest readable one.
    `label_smoothing` (cross_entropy, bce) spreads that share of each target over the classes
    (losses.py). A module with `members` > 1 (the tabular block) gives one output per member
    while training, (batch, members, out); the loss is then the mean of the members' losses.
    `schedule` is a name or {"type": ..., settings} (schedules.py); `on_nan` is
    stop | skip_batch | reduce_lr (nonfinite.py); `precision` is 32 | bf16 | 16-mixed;
    `compile=True` runs the module through `torch.compile` ("reduce-overhead": in that mode, which
    replays steps as CUDA graphs: CUDA only). `channels_last` (auto: on CUDA,
    for a module with 2-D convolutions) lays its weights and 4-D inputs out channels-last;
    inputs in pinned memory are copied to the device without blocking. Under torchrun the
    module is wrapped in DistributedDataParallel (distributed.py); `batch_size` is then the
    global batch, and a worker torchrun restarts resumes from `checkpoint_dir` by itself.
    `augment(x_batch, generator) -> x_batch` changes training batches only (never
    validation or predictions); its generator is seeded from (seed, epoch, step, rank), so
    augmented runs stay reproducible and resume bit-identically. `mix(x_batch, y_batch,
    generator) -> (x, y)` then blends training batches with their labels (mixup, cutmix:
    data/augment.py's `mixer`; the loss then reads class probabilities), seeded alike.

    `fingerprint` (JSON values, nested dicts allowed) says what this training is made from:
    settings and a digest of the data (`layerwise.training.checkpoint.data_digest`). It is saved
    in every checkpoint, and a resume refuses with a ConfigError naming each dotted path whose
    value differs from the checkpoint's, except those in `fit(..., allow_changed=...)`.
    Without it nothing is compared (a checkpoint made without one is not compared either).

    After fit: `history` has one row per epoch, {"epoch", "train_loss" (mean data
    loss over the epoch's batches, without the L1 term), "val_loss", "val_metric",
    "lr", "seconds"}; `best_epoch` is the best epoch by `stop_on`, None without validation
    data; `restored_epoch` is the epoch whose weights early stopping (`patience`) put back in
    the module, None when none was. `stop_on="loss"` ranks epochs by validation loss;
    `"metric"` by `metric`, higher being better when `maximize` (required then), the
    validation loss breaking ties (callbacks.standing).

    The step, public for your own loop and for subclasses (skorch's `train_step`): a fresh
    `fit` is `start_fit(n_rows)`, then for each epoch `start_epoch()`, `train_step(xb, yb, ...)`
    on every batch and `apply_update(loss, ...)` after each accumulation group, and
    `end_epoch(logs)` once the epoch's history row is known; `lr_find` runs the same
    `train_step` and `apply_update`. `to_device` puts arrays on the trainer's device as the
    steps want them, `predict_outputs` gives eval-mode outputs there, and `net` is the module
    the steps call (`module` itself, or compiled / DDP-wrapped). `train_step` and `apply_update`
    are safe to override (call `super()` for what they do here); `fit`, the epoch loop
    (epoch.py) and `lr_find` pick an override up. The epoch loop also checks `interrupted`
    after each update and then calls `save_interrupt` (`save_interrupt_stream` when streaming).
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        loss: str | nn.Module = "mse",
        optimizer: str | Callable = "adam",
        lr: float = 1e-3,
        momentum: float = 0.9,
        nesterov: bool = False,
        batch_size: int = 32,
        epochs: int = 10,
        weight_decay: float = 0.0,
        l1: float = 0.0,
        clip_grad: float | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        stop_on: Literal["loss", "metric"] = "loss",
        maximize: bool | None = None,
        class_weights: Sequence[float] | torch.Tensor | None = None,
        label_smoothing: float = 0.0,
        seed: int = 0,
        device: str | torch.device = "auto",
        threads: int | str = "auto",
        metric: Metric | None = None,
        callbacks: Sequence[Callback] = (),
        quiet: bool = True,
        schedule: str | dict | None = None,
        accumulate: int = 1,
        on_nan: str = "stop",
        precision: str | int = "32",
        compile: bool | str = False,
        channels_last: bool | str = "auto",
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1,
        keep: int = 2,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        mix: Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None = None,
        fingerprint: Mapping[str, Any] | None = None,
    ):
        problems = check_args(
            lr,
            batch_size,
            epochs,
            weight_decay,
            l1,
            clip_grad,
            patience,
            min_delta,
            threads,
            checkpoint_every,
            keep,
            accumulate,
            on_nan,
        )
        problems += check_schedule(schedule) + check_precision(precision)
        if stop_on not in STOP_ON:
            problems.append(f"stop_on: {stop_on!r} is not one of {', '.join(STOP_ON)}")
        elif stop_on == "metric" and metric is None:
            problems.append("stop_on: 'metric' ranks epochs by the validation metric; pass metric=...")
        elif stop_on == "metric" and maximize is None:
            problems.append("maximize: stop_on='metric' needs the metric's direction (True: higher is better)")
        if isinstance(optimizer, str):
            problems += check_optimizer(optimizer)
        try:
            loss_fn = make_loss(loss, class_weights=class_weights, label_smoothing=label_smoothing)
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
        members = getattr(module, "members", 1)
        if isinstance(members, int) and members > 1:  # (batch, members, out) while training
            loss_fn = MemberLoss(loss_fn, members)
        self.label_smoothing = float(label_smoothing)
        self.device = resolve_device(device)
        self.world = distributed.world_size()
        if self.world > 1:
            self.device = distributed.join(self.device)
        self.rank = distributed.rank()
        self.module = module.to(self.device)
        convolves = any(isinstance(m, nn.Conv2d) for m in module.modules())
        if channels_last is True and not convolves:
            raise ConfigError(
                "train.channels_last: true lays out images for 2-D convolutions; this model has none",
                hint="set train.channels_last: auto (or false)",
            )
        # channels-last: what CUDA's conv kernels run fastest on; the weights, and each batch, are laid out so
        self.channels_last = convolves and (
            channels_last is True or (channels_last == "auto" and self.device.type == "cuda")
        )
        if self.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        freezes = any(getattr(c, "freezes", False) for c in callbacks)  # layers without gradients some epochs
        net = distributed.wrap(self.module, self.device, freezes=freezes) if self.world > 1 else self.module
        # what the training steps call (torch.compile of a module is a module)
        if isinstance(compile, str) and compile != "reduce-overhead":
            raise ConfigError(
                f"train.compile: {compile!r} is not true, false or 'reduce-overhead'",
                hint="set train.compile: true for torch.compile's default mode",
            )
        if compile == "reduce-overhead" and self.device.type != "cuda":
            raise ConfigError(
                f"train.compile: reduce-overhead replays steps as CUDA graphs; this fit runs on {self.device.type}",
                hint="set train.compile: true (or false) off CUDA",
            )
        mode = compile if isinstance(compile, str) else None
        self._net: nn.Module = cast(nn.Module, torch.compile(net, mode=mode)) if compile else net
        self._compiled = bool(compile)
        self.loss_fn = loss_fn.to(self.device)
        if isinstance(optimizer, str):
            self.optimizer = make_optimizer(
                optimizer,
                param_groups(self.module),  # a backbone's body at a share of lr
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                nesterov=nesterov,
            )
        else:
            self.optimizer = optimizer(self.module.parameters())
        self.batch_size, self.epochs, self.l1, self.clip_grad = batch_size, epochs, l1, clip_grad
        self.seed, self.threads, self.metric = seed, threads, metric
        self._busy = 0  # CPUs a fit's data loading keeps busy (fit_stream's `busy`)
        # threads: auto on a CPU leaves other processes the CPUs they keep busy (threads.py)
        self._load = CpuLoad() if threads == "auto" and self.device.type == "cpu" else None
        self._default_threads: int | None = None  # torch's count when the fit started
        self._measuring = False  # whether this fit looks at the load (not for a count of one)
        self._look_at = 0.0  # time.monotonic() of the next look
        self._pending: int | None = None  # a thread count one look found, for the next to confirm
        self._model_size: tuple[int, bool] | None = None  # (parameters, dense) during a fit
        self._others: float | None = None  # CPUs the last measurement found busy with other work
        self._trial: ThreadTrial | None = None  # fewer threads tried on a fit's own steps (threads.py)
        self._ceiling: int | None = None  # the count a trial found fastest: the load rule stays at or below it
        self._last_step: tuple[float, int, int] | None = None  # (perf_counter, epoch, rows) of the last step
        self.thread_notes: list[str] = []  # the thread counts a fit chose, and why (run.log)
        self.stop_on, self.maximize = stop_on, True if maximize is None else maximize
        self.accumulate, self.on_nan, self.schedule = accumulate, on_nan, schedule
        self.augment = augment
        self.mix = mix
        self.scheduler: Any = None  # a torch lr_scheduler, made at fit start (schedules.py)
        self._schedule_every: str | None = None
        self.scaler = grad_scaler(precision, self.device)
        self._autocast = autocast(precision, self.device)
        self.checkpoints = Checkpoints(checkpoint_dir, keep) if checkpoint_dir is not None else None
        self.callbacks: list[Callback] = []
        if patience is not None:
            self.callbacks.append(EarlyStopping(patience, min_delta))
        if not quiet and self.rank == 0:
            self.callbacks.append(ProgressBar())
        self.callbacks += list(callbacks)
        if self.checkpoints is not None:
            self.callbacks.append(Checkpoint(checkpoint_every))  # last: it saves what the others decided
        self.history: list[dict] = []
        self.best_epoch: int | None = None
        self.restored_epoch: int | None = None  # the epoch whose weights early stopping put back
        self.stop = False
        self.last_epoch = epochs
        self.nan_skipped = 0  # updates dropped by on_nan: skip_batch | reduce_lr
        self._bad_run = 0  # bad updates in a row, for the NaN guard's patience
        self._trained: list[nn.Parameter] | None = None  # what the step updates; set by start_epoch
        self._penalized: list[nn.Parameter] = []  # the matrices L1 penalizes
        self._signal = SignalFlag()
        self._epoch_start: dict | None = None  # a streamed epoch's starting state, for a signal to save
        self.generator: torch.Generator | None = None  # draws the batch order; kept for `resume`
        # as JSON holds it, so a checkpoint's copy compares equal (tuples become lists)
        self.fingerprint = None if fingerprint is None else json.loads(json.dumps(dict(fingerprint)))
        # after a fit that went on from a checkpoint: {"checkpoint", "epochs", "steps", "changed"}
        self.resumed: dict[str, Any] | None = None

    # ------------------------------------------------------------------ fit
    def fit(
        self, x_train, y_train, x_val=None, y_val=None, *, resume: bool = False, allow_changed: Collection[str] = ()
    ) -> list[dict]:
        """Train for `epochs` (fewer if a callback sets `stop`); returns `history`.

        `resume=True` with a checkpoint folder continues from its newest readable
        checkpoint up to `epochs` epochs in all (a corrupt newest one is skipped with a
        CheckpointWarning; with none at all it warns and starts from the beginning). It
        refuses (ConfigError) a `fingerprint` that differs from the checkpoint's at any path
        not in `allow_changed`, and `epochs` fewer than the checkpoint has trained;
        `resumed` then says where training went on from and what was allowed to change.
        `resume=True` without a folder trains `epochs` more epochs as a continuation of the
        last fit in memory (what scikit-learn's `partial_fit` needs): no re-seeding, the
        batch order goes on, and rows are appended to `history` with their epochs numbered
        on. The optimizer's state carries over either way.
        """
        x, y = self.to_device(x_train, y_train, "train")
        val = None
        if x_val is not None and y_val is not None:
            xv, yv = self.to_device(x_val, y_val, "val")
            yv_cpu = yv.cpu() if self.metric is not None else None  # targets for the metric, once

            def val() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
                return self.predict_outputs(xv, eval_rows(xv, self.batch_size)), yv, yv_cpu

        n, bs = x.shape[0], self.batch_size
        # (n_batches,) the size of each batch, to weight batch means into an epoch mean
        sizes = torch.tensor([min(bs, n - i) for i in range(0, n, bs)], dtype=torch.float32, device=self.device)
        self._run(
            n, lambda epoch, done: (epoch_loop.train_epoch(self, x, y, epoch, done), sizes), val, resume, allow_changed
        )
        return self.history

    def fit_stream(
        self,
        batches: Callable[[int], Iterable],
        n_rows: int,
        val_batches: Callable[[], Iterable] | None = None,
        *,
        resume: bool = False,
        allow_changed: Collection[str] = (),
        busy: int = 0,
    ) -> list[dict]:
        """Train on data that does not fit in memory; returns `history`.

        `batches(epoch)` yields the epoch's (x, y) training batches of `batch_size` rows
        (the last may be short), in an order that depends only on the epoch (data/streaming.py
        shuffles with a buffer seeded from the seed and epoch); `n_rows` is their total.
        `val_batches()` yields the validation split; its outputs and targets (n x outputs) are
        held, not its features. Checkpoints are written at epoch ends only: a signal
        mid-epoch saves the state of the last epoch end, and `resume=True` continues from there
        (with `allow_changed` as in `fit`).
        """
        self._busy = busy  # CPUs `batches` takes (DataLoader workers): threads: auto leaves them be
        if self.world > 1:
            raise ConfigError(
                f"streaming training runs in one process; it was started under torchrun with {self.world} processes",
                hint="run it without torchrun, or turn data.stream.enabled off to train in memory",
            )
        if n_rows <= 0:
            raise DataError("the streamed training split has no rows", hint="check the split fractions and the data")
        n_batches = math.ceil(n_rows / self.batch_size)
        val = (lambda: epoch_loop.stream_outputs(self, val_batches())) if val_batches is not None else None

        def run_epoch(epoch: int, done: list) -> tuple[torch.Tensor, torch.Tensor]:
            self._epoch_start = None
            if self.checkpoints is not None:  # what a signal mid-epoch saves (world is 1 here)
                self._epoch_start = copy.deepcopy(capture(self, self.batch_generator().get_state(), []))
            return epoch_loop.train_stream_epoch(self, batches(epoch), epoch, n_batches)

        try:
            self._run(n_rows, run_epoch, val, resume, allow_changed)
        finally:
            self._busy = 0
        return self.history

    def _run(
        self, n: int, run_epoch: Callable, val: ValOutputs | None, resume: bool, allow_changed: Collection[str]
    ) -> None:
        # signals are caught only where a checkpoint can be saved; under DDP a rank cannot
        # stop alone, so torchrun's restarts and the epoch checkpoints cover it there
        watch = self.checkpoints is not None and self.world == 1
        if self.checkpoints is not None and distributed.restarted():
            resume = True  # a worker torchrun restarted goes on from the last checkpoint
        choice = self._start_threads()
        with thread_count(choice.n), self._signal.watch() if watch else contextlib.nullcontext():
            try:
                self._fit(n, run_epoch, val, resume, allow_changed)
            except BaseException as error:
                self._measuring, self._others, self._model_size = False, None, None  # no stale load after
                self._trial = None
                self._await_checkpoint(error)
                compiled = isinstance(error, Exception) and self._net is not self.module
                failure = epoch_loop.compile_failure(error) if compiled else None
                if failure is None:
                    raise
                raise failure from error
            self._measuring, self._others, self._model_size = False, None, None
            self._await_checkpoint(None)

    def _await_checkpoint(self, error: BaseException | None) -> None:
        """The background checkpoint write is on disk before fit returns or raises. Its own
        error is raised; beside an error fit is already raising, it is a CheckpointWarning."""
        if self.checkpoints is None:
            return
        try:
            self.checkpoints.wait()
        except Exception as failed:
            if error is None:
                raise
            warnings.warn(
                f"the last checkpoint in {self.checkpoints.folder} could not be written ({failed})",
                CheckpointWarning,
                stacklevel=4,
            )

    def _fit(
        self, n: int, run_epoch: Callable, val: ValOutputs | None, resume: bool, allow_changed: Collection[str]
    ) -> None:
        """The epochs; `run_epoch(epoch, done)` trains one: (batch losses, batch sizes)."""
        from_disk = resume and self.checkpoints is not None
        self.resumed = None
        if not (resume and not from_disk and self.generator is not None):  # not an in-memory continuation
            self.start_fit(n)
        self.stop, self.restored_epoch = False, None
        self._bad_run = 0  # a run of bad updates does not carry over from another fit (or lr_find)
        for callback in self.callbacks:
            callback.on_fit_start(self)
        done: list[torch.Tensor] = []  # batch losses of an epoch a checkpoint left unfinished
        if from_disk:
            done = self._resume(allow_changed)
        elif self.checkpoints is not None and self.rank == 0:
            self.checkpoints.clean(everything=True)  # a fresh run: an old run's checkpoints would mislead --resume
        first = len(self.history) + 1
        self.last_epoch = self.epochs if from_disk else first - 1 + self.epochs
        good = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        try:
            for epoch in range(first, self.last_epoch + 1):
                if self.stop:  # a resumed run that early stopping had already ended
                    break
                for callback in self.callbacks:
                    callback.on_epoch_start(self, epoch)
                start = time.perf_counter()
                for k, v in self.module.state_dict().items():  # last finite weights, on the device
                    good[k].copy_(v)
                losses, sizes = run_epoch(epoch, done)  # (n_batches,) each, on the device
                done = []
                logs = epoch_loop.epoch_logs(self, epoch, losses, sizes, n, val, good)
                logs["seconds"] = time.perf_counter() - start
                self.end_epoch(logs)
                self.history.append(logs)
                for callback in self.callbacks:
                    callback.on_epoch_end(self, epoch, logs)
                if self.stop:
                    break
        finally:
            for callback in self.callbacks:
                callback.on_fit_end(self)
        if self.best_epoch is None and val is not None and self.history:
            best = best_row(self.history, self.stop_on, self.maximize)
            self.best_epoch = None if best is None else best["epoch"]

    # ------------------------------------------------------------- the step
    @property
    def net(self) -> nn.Module:
        """The module the training steps call: `module`, or its DDP wrapper or torch.compile form."""
        return self._net

    def start_fit(self, n_rows: int) -> None:
        """What a fresh `fit` does first, for `n_rows` training rows an epoch: seed torch's global
        generator, draw a new batch-order `generator`, empty `history` and build the schedule."""
        self.history, self.best_epoch, self.nan_skipped, self._bad_run = [], None, 0, 0
        torch.manual_seed(self.seed)
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        n_batches = math.ceil(n_rows / self.batch_size)
        self.scheduler, self._schedule_every = make_schedule(
            self.schedule, self.optimizer, epochs=self.epochs, updates_per_epoch=math.ceil(n_batches / self.accumulate)
        )

    def start_epoch(self) -> None:
        """Before an epoch's first `train_step`: training mode, no gradients, and the parameters
        to update (and the matrices L1 penalizes) looked up once, after the callbacks'
        `on_epoch_start` (where a `Freeze` decides what trains)."""
        self._net.train()
        self._penalized = [p for p in self.module.parameters() if p.dim() > 1] if self.l1 else []
        self._trained = [p for p in self.module.parameters() if p.requires_grad]
        self.optimizer.zero_grad(set_to_none=True)

    def train_step(
        self, xb: torch.Tensor, yb: torch.Tensor, *, epoch: int, step: int, n_batches: int, share: float = 1.0
    ) -> tuple[torch.Tensor, bool]:
        """Forward, loss (+ L1) and backward for batch `step` (from 0) of an epoch of `n_batches`,
        under the precision's autocast and loss scaler; returns (its data loss, detached; whether
        `apply_update` follows, at the end of an accumulation group).

        The gradients add up to the mean over the group's `accumulate` batches (the epoch's last
        group may be shorter). `augment` gets a generator seeded from (seed, epoch, step, rank).
        `share` is this rank's part of a global batch under DDP (epoch.py shards it)."""
        self._started()
        if self._trial is not None:
            self._time_trial(epoch, len(xb))
        elif self._measuring and time.monotonic() >= self._look_at:
            self._adapt_threads(epoch)
        net, k = self._net, self.accumulate
        boundary = (step + 1) % k == 0 or step + 1 == n_batches
        # DDP all-reduces gradients on every backward unless told to wait for the boundary
        # (world > 1: net is the DDP wrapper, or its torch.compile form, which passes no_sync through)
        sync = (
            cast(nn.parallel.DistributedDataParallel, net).no_sync()
            if self.world > 1 and not boundary
            else contextlib.nullcontext()
        )
        xb = self._laid_out(xb)  # per batch: a whole split laid out again would be a second copy
        with sync:
            with self._autocast():
                if self.augment is not None:
                    xb = self.augment(xb, self._augment_generator(epoch, step))
                if self.mix is not None:  # images and their labels blended (mixup, cutmix)
                    xb, yb = self.mix(xb, yb, self._augment_generator(epoch, step, 1))
                out = net(xb)  # (batch, output_dim)
                # an empty shard (a last batch smaller than the world) still joins DDP's all-reduce
                loss = self.loss_fn(out, yb) if share else out.sum() * 0.0
            if share != 1.0:
                loss = loss * share
            weights = self._penalized
            total = loss + self.l1 * sum(w.abs().sum() for w in weights) if weights else loss
            if k > 1:  # a mean over the group's batches; the epoch's last group may be short
                total = total / min(k, n_batches - (step // k) * k)
            (self.scaler.scale(total) if self.scaler is not None else total).backward()
        return loss.detach(), boundary

    def apply_update(self, loss: torch.Tensor, *, epoch: int, step: int, n_batches: int, schedule: bool = True) -> bool:
        """The optimizer update from the accumulated gradients, after batch `step` (from 0) whose
        data loss `train_step` returned: unscale (16-mixed), clip to `clip_grad`, the NaN guard
        in its per-step modes, step, zero the gradients and step a per-update schedule
        (`schedule=False` leaves it: lr_find sets the rate itself).

        Returns whether the update was applied; the guard drops a non-finite one, and raises
        after `PATIENCE` dropped in a row (the weights are then still the last finite ones)."""
        optimizer, scaler, params = self.optimizer, self.scaler, self._started()
        if scaler is not None and (self.clip_grad is not None or self.on_nan != "stop"):
            scaler.unscale_(optimizer)
        if self.clip_grad is not None:
            nn.utils.clip_grad_norm_(params, self.clip_grad, foreach=True)
        if self.on_nan != "stop" and not updates_are_finite(loss, params):
            optimizer.zero_grad(set_to_none=True)
            self.nan_skipped += 1
            self._bad_run += 1
            if scaler is not None:
                scaler.update()
            if self.on_nan == "reduce_lr":
                halve_lr(optimizer, self.scheduler)
            if self._bad_run >= PATIENCE:
                raise nonfinite_error(
                    epoch,
                    step + 1,
                    n_batches,
                    float(loss.detach()),
                    optimizer.param_groups[0]["lr"],
                    f"the last good update ({PATIENCE} bad in a row)",
                )
            return False
        self._bad_run = 0
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if schedule and self._schedule_every == "update":
            self.scheduler.step()
        return True

    def _started(self) -> list[nn.Parameter]:
        """The parameters `start_epoch` found to train; a UsageError before it ran."""
        if self._trained is None:
            raise UsageError(
                "Trainer.train_step or apply_update was called before start_epoch",
                hint="call trainer.start_epoch() before each epoch's first train_step",
            )
        return self._trained

    def _augment_generator(self, epoch: int, step: int, *stream: int) -> torch.Generator:
        """A fresh generator per batch (and `stream`), so a resumed epoch draws the same augmentations."""
        seed = hash((self.seed, epoch, step, self.rank, *stream)) & 0x7FFF_FFFF_FFFF_FFFF
        return torch.Generator(device=self.device).manual_seed(seed)

    def end_epoch(self, logs: dict) -> None:
        """After an epoch, with its history row `logs`: step an epoch-wise schedule (plateau reads
        `logs["val_loss"]`, or `logs["train_loss"]` without validation)."""
        if self._schedule_every == "epoch":
            self.scheduler.step()
        elif self._schedule_every == "plateau":
            self.scheduler.step(logs["val_loss"] if logs["val_loss"] is not None else logs["train_loss"])

    # ---------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path | None:
        """Save the state at the end of the last finished epoch (rank 0 only)."""
        return self._save(len(self.history), 0, self.batch_generator().get_state(), [])

    def batch_generator(self) -> torch.Generator:
        """The batch-order `generator` of this fit; a UsageError before `start_fit` drew it."""
        if self.generator is None:
            raise UsageError(
                "the Trainer has no batch-order generator yet: start_fit has not run",
                hint="call trainer.fit(...), or trainer.start_fit(n_rows) before your own epochs",
            )
        return self.generator

    def _save(
        self, epochs: int, steps: int, generator_state: torch.Tensor, losses: list, state: dict | None = None
    ) -> Path | None:
        if self.checkpoints is None or self.rank != 0:
            return None
        tensors: dict[str, torch.Tensor] = {}
        info = pack(state if state is not None else capture(self, generator_state, losses), tensors, "state")
        row = best_row(self.history, self.stop_on, self.maximize)
        best = None if row is None else (row["epoch"], 0)
        return self.checkpoints.save(epochs, steps, info, tensors, best=best, fingerprint=self.fingerprint)

    def _resume(self, allow_changed: Collection[str]) -> list[torch.Tensor]:
        """Load the newest readable checkpoint; the unfinished epoch's batch losses."""
        checkpoints = self.checkpoints
        assert checkpoints is not None  # _fit resumes from disk only with a checkpoint folder
        if self.rank == 0:
            checkpoints.clean()
        found = checkpoints.load_newest()
        if found is None:
            warnings.warn(
                f"resume: no readable checkpoint in {checkpoints.folder}; training from the first epoch",
                CheckpointWarning,
                stacklevel=3,
            )
            return []
        record, tensors = found
        name = str(checkpoints.path(record["epochs"], record["steps"]))
        changed = self._compare(record.get("fingerprint"), name, allow_changed)
        if record["epochs"] > self.epochs:
            raise ConfigError(
                f"train.epochs: {self.epochs} is fewer than the {record['epochs']} epochs {name} has already trained",
                hint=f"resume with epochs of at least {record['epochs']}, or start afresh",
            )
        self.resumed = {
            "checkpoint": Path(name).stem,
            "epochs": record["epochs"],
            "steps": record["steps"],
            "changed": changed,
        }
        return restore(self, unpack(record["info"], tensors))

    def _compare(self, made_with: dict | None, name: str, allow_changed: Collection[str]) -> dict[str, list]:
        """The allowed changes from the checkpoint's fingerprint, {path: [old, new]}; any other is refused."""
        if self.fingerprint is None:
            return {}
        if made_with is None:
            warnings.warn(
                f"resume: {name} records no fingerprint (made by an earlier layerwise): "
                "its settings and data cannot be compared with these",
                CheckpointWarning,
                stacklevel=4,
            )
            return {}
        found = differences(made_with, self.fingerprint)
        refused = [describe_change(*change) for change in found if change[0] not in allow_changed]
        if refused:
            raise ConfigError(
                refused,
                hint=f"resume with the settings and data {name} was made with, or start "
                "afresh (layerwise run --overwrite); a setting safe to change is let "
                "through by --allow-changed KEY (fit(..., allow_changed=[KEY]))",
            )
        return {path: [absent_as_none(old), absent_as_none(new)] for path, old, new in found}

    @property
    def interrupted(self) -> bool:
        """Whether SIGTERM / SIGINT came during this fit (watched with a `checkpoint_dir`, in one
        process); the epoch loop then stops at the next update through `save_interrupt`."""
        return self._signal.signum is not None

    def save_interrupt(
        self, epoch: int, done: int, n_batches: int, epoch_start: torch.Tensor, losses: list[torch.Tensor]
    ) -> NoReturn:
        """Checkpoint the state after `done` of the in-memory epoch's `n_batches` and raise
        Interrupted. `epoch_start` is the batch-order generator's state before the epoch's
        permutation (a resume draws it again), `losses` the epoch's batch losses so far; nothing
        is saved when they or the weights are not finite."""
        signum = self._received()
        name = signal.Signals(signum).name
        finite = bool(torch.isfinite(torch.stack(losses)).all()) and all(
            bool(torch.isfinite(p).all()) for p in self.module.parameters()
        )
        path = self._save(epoch - 1, done, epoch_start, losses) if finite else None
        saved = f"saved {path}" if path else "nothing saved: the state was not finite"
        raise Interrupted(
            signum,
            f"stopped by {name} at epoch {epoch}, step {done} of {n_batches}; {saved}",
            hint="continue with `layerwise run CONFIG --out DIR --resume` (or fit(..., resume=True))",
        )

    def save_interrupt_stream(self, epoch: int, done: int, n_batches: int) -> NoReturn:
        """A signal during a streamed epoch, after `done` batches: save the state of the epoch's
        start (a stream cannot be rewound to its middle) and raise Interrupted."""
        signum = self._received()
        name = signal.Signals(signum).name
        state = self._epoch_start
        path = self._save(epoch - 1, 0, state["generator"], [], state) if state is not None else None
        saved = f"saved the end of epoch {epoch - 1} to {path}" if path else "nothing saved"
        raise Interrupted(
            signum,
            f"stopped by {name} at epoch {epoch}, step {done} of {n_batches} "
            f"of a streamed run; {saved} (a stream resumes at epoch ends only)",
            hint="continue with `layerwise run CONFIG --out DIR --resume` (or fit_stream(..., resume=True))",
        )

    def _received(self) -> int:
        """The signal that came during this fit; a UsageError when none did."""
        if self._signal.signum is None:
            raise UsageError(
                "a save_interrupt method was called but no signal came during this fit",
                hint="call it only while trainer.interrupted is True",
            )
        return self._signal.signum

    # -------------------------------------------------------------- predict
    def predict(self, x, *, batch_size: int = 4096) -> torch.Tensor:
        """Raw outputs (regression values, logits) for `x`, on the CPU; (n, output_dim)."""
        x = self._x_tensor(x)
        with thread_count(self._threads(batch_size).n):
            return self.predict_outputs(x, batch_size).cpu()

    def autocast(self) -> Any:
        """The forward's mixed-precision context (train.precision on this device; a no-op for fp32)."""
        return self._autocast()

    def predict_outputs(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Eval-mode, no-grad outputs for `x` already on the device (`to_device`), in slices of
        `batch_size`, left on the device; (n, output_dim). The module's mode is restored."""
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                outs = [self.module(self._laid_out(x[i : i + batch_size])) for i in range(0, x.shape[0], batch_size)]
                return torch.cat(outs)
        finally:
            self.module.train(was_training)

    # -------------------------------------------------------------- tensors
    def _laid_out(self, xb: torch.Tensor) -> torch.Tensor:
        """A batch in the memory layout the module's weights are in (train.channels_last)."""
        return xb.contiguous(memory_format=torch.channels_last) if self.channels_last and xb.dim() == 4 else xb

    def _threads(self, batch_size: int) -> Choice:
        """The thread count under `threads`, for the load last measured."""
        capacity = None if self._load is None else self._load.capacity
        n_params, dense = self._model_size or (sum(p.numel() for p in self.module.parameters()), is_dense(self.module))
        return choose_threads(
            self.threads,
            self.device,
            n_params,
            batch_size,
            dense=dense,
            busy=self._busy,
            default=min(self._default_threads or torch.get_num_threads(), self._ceiling or 1 << 16),
            capacity=capacity,
            others=self._others,
        )

    def _start_threads(self) -> Choice:
        """The thread count a fit starts with. Under auto on a CPU, where the load could lower it,
        the load is measured: now, when the last sample is LOAD_WINDOW old, else at the first
        step after it (from the processes running at the start until then); then every
        RECHECK_SECONDS (`_adapt_threads`)."""
        self._default_threads, self._others, self._pending = torch.get_num_threads(), None, None
        self._trial, self._ceiling, self._last_step = None, None, None
        # what the rule reads of the model, once a fit rather than at every look
        self._model_size = (sum(p.numel() for p in self.module.parameters()), is_dense(self.module))
        choice = self._threads(self.batch_size)
        # torch.compile writes the thread count of its first step into its kernels: no adapting there
        self._measuring = self._load is not None and (choice.n or self._default_threads) > 1 and not self._compiled
        if self._measuring and self._load is not None:
            self._look_at = self._load.last.at + LOAD_WINDOW
            if time.monotonic() >= self._look_at:
                self._others = self._load.others()
                self._look_at = time.monotonic() + RECHECK_SECONDS
            else:  # until the first look: the processes running now (a fit's first steps beside them are slow)
                self._others = self._load.running()
            choice = self._threads(self.batch_size)
            if choice.n is not None and choice.n > 1 and self._model_size[1]:  # dense: the rule is a guess
                self._trial = ThreadTrial(choice.n, choice.n // 2)
        self.thread_notes = [] if choice.n is None else [f"threads: {choice.n} ({choice.reason})"]
        return choice

    def _time_trial(self, epoch: int, rows: int) -> None:
        """Before a step, during a ThreadTrial: the last step's time, and the count for this one. After the
        trial the load rule stays at or below the faster count (with fewer still faster, fewer again)."""
        trial = self._trial
        assert trial is not None
        now = time.perf_counter()
        last, self._last_step = self._last_step, (now, epoch, rows)
        if last is not None and last[1] == epoch:
            trial.add(now - last[0], last[2])
        if trial.winner is None:
            if trial.count != torch.get_num_threads():
                torch.set_num_threads(trial.count)  # thread_count puts the count before the fit back at its end
            return
        self._ceiling = trial.winner
        fewer = trial.fewer
        self._trial = ThreadTrial(fewer, fewer // 2) if trial.winner == fewer and fewer > 1 else None
        choice = self._threads(self.batch_size)
        n = choice.n or trial.winner
        if n != torch.get_num_threads():
            torch.set_num_threads(n)
        self.thread_notes.append(f"threads: {n} from epoch {epoch} ({trial.reason()})")
        self._look_at = time.monotonic() + RECHECK_SECONDS

    def _adapt_threads(self, epoch: int) -> None:
        """Before a step, when a look is due: the thread count for the load since the last look. A new
        count is taken when a second look, LOAD_WINDOW x 2 later, finds it too: one short window can
        catch a process passing by, or the hypervisor's steal, and a fit then loses seconds."""
        assert self._load is not None
        before = torch.get_num_threads()
        self._others = self._load.others()
        choice = self._threads(self.batch_size)
        if choice.n is None or choice.n == before:
            self._pending, self._look_at = None, time.monotonic() + RECHECK_SECONDS
        elif self._pending != choice.n:
            self._pending, self._look_at = choice.n, time.monotonic() + 2 * LOAD_WINDOW
        else:
            self._pending, self._look_at = None, time.monotonic() + RECHECK_SECONDS
            torch.set_num_threads(choice.n)  # thread_count puts the count before the fit back at its end
            self.thread_notes.append(f"threads: {choice.n} from epoch {epoch} ({choice.reason})")

    def _float_dtype(self) -> torch.dtype:
        return next((p.dtype for p in self.module.parameters() if p.is_floating_point()), torch.float32)

    def _x_tensor(self, x) -> torch.Tensor:
        t = as_tensor(x)
        # integer inputs are features, unless the model looks tokens up in an embedding
        if t.is_floating_point() or t.dtype == torch.bool or not has_embedding(self.module):
            t = t.to(self._float_dtype())
        # from pinned memory (the image DataLoader pins batches on CUDA) the copy runs beside the work queued
        return t.to(self.device, non_blocking=self.device.type == "cuda" and t.is_pinned())

    def to_device(self, x, y, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) as tensors on the device, as the steps take them: features in the module's float
        dtype (integers kept where the model looks tokens up in an embedding), float targets
        likewise, integer targets as class indices. A DataError names x_`split` when it has no
        rows or not as many as y_`split`."""
        xt, yt = self._x_tensor(x), as_tensor(y)
        if yt.is_floating_point() or yt.dtype == torch.bool:
            yt = yt.to(self._float_dtype())
        else:
            yt = yt.long()  # class indices
        if xt.shape[0] == 0:
            raise DataError(f"x_{split} has no rows", hint="check the split fractions and the data")
        if xt.shape[0] != yt.shape[0]:
            raise DataError(f"x_{split} has {xt.shape[0]} rows but y_{split} has {yt.shape[0]}")
        return xt, yt.to(self.device, non_blocking=self.device.type == "cuda" and yt.is_pinned())
