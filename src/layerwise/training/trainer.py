"""The Trainer: steps 5 and 6, forward and backpropagate over in-memory tensors.

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
does neither and draws on from the same `g` (`trainer.generator`). The permutation
for a seed differs between CPU and CUDA generators: same seed, same data, same
device type -> same weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, DataError, LayerwiseError
from .callbacks import Callback, EarlyStopping, ProgressBar
from .losses import make_loss
from .optim import check_optimizer, make_optimizer
from .threads import choose_threads, thread_count

Metric = Callable[[torch.Tensor, torch.Tensor], float]


class Trainer:
    """Fit any `nn.Module` on in-memory arrays or tensors.

    `loss` and `optimizer` take names ("mse", "adam") or real objects: an
    `nn.Module` loss, or a callable `params -> torch.optim.Optimizer`.
    `metric(y_pred, y_true) -> float` gets the whole validation split as CPU
    tensors (raw outputs, targets) once per epoch. `threads="auto"` picks the
    CPU thread count from the model and batch size (see threads.py).

    After fit: `history` has one row per epoch, {"epoch", "train_loss" (mean data
    loss over the epoch's batches, without the L1 term), "val_loss", "val_metric",
    "lr", "seconds"}; `best_epoch` is the epoch of lowest validation loss (its
    weights are the module's when `patience` is set), None without validation data.
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
        class_weights: Sequence[float] | torch.Tensor | None = None,
        seed: int = 0,
        device: str | torch.device = "auto",
        threads: int | str = "auto",
        metric: Metric | None = None,
        callbacks: Sequence[Callback] = (),
        quiet: bool = True,
    ):
        problems = _check_args(lr, batch_size, epochs, weight_decay, l1, clip_grad, patience, min_delta, threads)
        if isinstance(optimizer, str):
            problems += check_optimizer(optimizer)
        try:
            loss_fn = make_loss(loss, class_weights=class_weights)
        except ConfigError as error:
            problems += error.problems
        if problems:
            raise ConfigError(problems)
        self.device = _resolve_device(device)
        self.module = module.to(self.device)
        self.loss_fn = loss_fn.to(self.device)
        if isinstance(optimizer, str):
            self.optimizer = make_optimizer(
                optimizer, self.module.parameters(), lr=lr, weight_decay=weight_decay,
                momentum=momentum, nesterov=nesterov,
            )
        else:
            self.optimizer = optimizer(self.module.parameters())
        self.batch_size, self.epochs, self.l1, self.clip_grad = batch_size, epochs, l1, clip_grad
        self.seed, self.threads, self.metric = seed, threads, metric
        self.callbacks: list[Callback] = []
        if patience is not None:
            self.callbacks.append(EarlyStopping(patience, min_delta))
        if not quiet:
            self.callbacks.append(ProgressBar())
        self.callbacks += list(callbacks)
        self.history: list[dict] = []
        self.best_epoch: int | None = None
        self.stop = False
        self.generator: torch.Generator | None = None  # draws the batch order; kept for `resume`

    # ------------------------------------------------------------------ fit
    def fit(self, x_train, y_train, x_val=None, y_val=None, *, resume: bool = False) -> list[dict]:
        """Train for `epochs` (fewer if a callback sets `stop`); returns `history`.

        `resume=True` trains `epochs` more epochs as a continuation of the last fit (what
        an online learner such as scikit-learn's `partial_fit` needs): no re-seeding, the
        batch order goes on from where it stopped, and rows are appended to `history`
        with their epochs numbered on. The optimizer's state carries over either way.
        """
        x, y = self._tensors(x_train, y_train, "train")
        val = None
        if x_val is not None and y_val is not None:
            xv, yv = self._tensors(x_val, y_val, "val")
            val = (xv, yv, yv.cpu() if self.metric is not None else None)  # targets for the metric, once
        with thread_count(self._threads(self.batch_size)):
            self._fit(x, y, val, resume)
        return self.history

    def _fit(self, x: torch.Tensor, y: torch.Tensor, val, resume: bool) -> None:
        if not resume:
            self.history, self.best_epoch = [], None
        if not resume or self.generator is None:
            torch.manual_seed(self.seed)
            self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        generator = self.generator
        n, bs = x.shape[0], self.batch_size
        # (n_batches,) the size of each batch, to weight batch means into an epoch mean
        sizes = torch.tensor([min(bs, n - i) for i in range(0, n, bs)], dtype=torch.float32, device=self.device)
        self.stop = False
        done = len(self.history)
        good = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        for callback in self.callbacks:
            callback.on_fit_start(self)
        try:
            for epoch in range(done + 1, done + self.epochs + 1):
                for callback in self.callbacks:
                    callback.on_epoch_start(self, epoch)
                start = time.perf_counter()
                for k, v in self.module.state_dict().items():  # last finite weights, on the device
                    good[k].copy_(v)
                losses = self._train_epoch(x, y, generator)  # (n_batches,) on the device
                logs = self._epoch_logs(epoch, losses, sizes, n, val, good)
                logs["seconds"] = time.perf_counter() - start
                self.history.append(logs)
                for callback in self.callbacks:
                    callback.on_epoch_end(self, epoch, logs)
                if self.stop:
                    break
        finally:
            for callback in self.callbacks:
                callback.on_fit_end(self)
        if self.best_epoch is None and val is not None and self.history:
            self.best_epoch = min(self.history, key=lambda row: _nan_last(row["val_loss"]))["epoch"]

    def _train_epoch(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One pass over the shuffled training split; the batch losses, detached, (n_batches,)."""
        module, optimizer, bs = self.module, self.optimizer, self.batch_size
        module.train()
        weights = [p for p in module.parameters() if p.dim() > 1] if self.l1 else []
        params = [p for p in module.parameters() if p.requires_grad]
        idx = torch.randperm(x.shape[0], generator=generator, device=self.device)  # (n,)
        losses = []
        for i in range(0, x.shape[0], bs):
            batch = idx[i : i + bs]
            # index_select == x[batch], without advanced indexing's extra checks
            out = module(x.index_select(0, batch))  # (batch, output_dim)
            loss = self.loss_fn(out, y.index_select(0, batch))
            total = loss + self.l1 * sum(w.abs().sum() for w in weights) if weights else loss
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if self.clip_grad is not None:
                nn.utils.clip_grad_norm_(params, self.clip_grad, foreach=True)
            optimizer.step()
            losses.append(loss.detach())
        return torch.stack(losses)

    def _epoch_logs(self, epoch, losses, sizes, n, val, good) -> dict:
        train_loss = (losses * sizes).sum() / n  # non-finite if any batch was
        val_loss = preds = None
        if val is not None:
            preds = self._outputs(val[0], max(4096, self.batch_size))
            val_loss = self.loss_fn(preds, val[1]).detach()
            train_loss, val_loss = torch.stack([train_loss, val_loss.float()]).tolist()  # the epoch's sync
        else:
            train_loss = train_loss.item()
        if not math.isfinite(train_loss):
            self._raise_nonfinite(epoch, losses, good)
        metric = None
        if self.metric is not None and preds is not None:
            metric = float(self.metric(preds.cpu(), val[2]))
        lr = self.optimizer.param_groups[0]["lr"]
        return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_metric": metric, "lr": lr}

    def _raise_nonfinite(self, epoch: int, losses: torch.Tensor, good: dict) -> None:
        step = int(torch.nonzero(~torch.isfinite(losses))[0]) + 1
        value = losses[step - 1].item()
        self.module.load_state_dict(good)
        restored = f"the end of epoch {epoch - 1}" if epoch > 1 else "their initial values"
        raise LayerwiseError(
            f"training loss became {value} at epoch {epoch}, step {step} of {len(losses)}; "
            f"weights were restored to {restored} (or the best epoch, with early stopping)",
            hint=f"lower train.lr (now {self.optimizer.param_groups[0]['lr']:g}), normalize the inputs "
            "(standardize each feature), or set train.clip_grad",
        )

    # -------------------------------------------------------------- predict
    def predict(self, x, *, batch_size: int = 4096) -> torch.Tensor:
        """Raw outputs (regression values, logits) for `x`, on the CPU; (n, output_dim)."""
        x = self._x_tensor(x)
        with thread_count(self._threads(batch_size)):
            return self._outputs(x, batch_size).cpu()

    def _outputs(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Eval-mode, no-grad outputs for x in slices, on the device; the mode is restored."""
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                return torch.cat([self.module(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])
        finally:
            self.module.train(was_training)

    # -------------------------------------------------------------- tensors
    def _threads(self, batch_size: int) -> int | None:
        n_params = sum(p.numel() for p in self.module.parameters())
        return choose_threads(self.threads, self.device, n_params, batch_size)

    def _float_dtype(self) -> torch.dtype:
        return next((p.dtype for p in self.module.parameters() if p.is_floating_point()), torch.float32)

    def _x_tensor(self, x) -> torch.Tensor:
        t = _as_tensor(x)
        # integer inputs are features, unless the model looks tokens up in an embedding
        if t.is_floating_point() or t.dtype == torch.bool or not _has_embedding(self.module):
            t = t.to(self._float_dtype())
        return t.to(self.device)

    def _tensors(self, x, y, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        xt, yt = self._x_tensor(x), _as_tensor(y)
        if yt.is_floating_point() or yt.dtype == torch.bool:
            yt = yt.to(self._float_dtype())
        else:
            yt = yt.long()  # class indices
        if xt.shape[0] == 0:
            raise DataError(f"x_{split} has no rows", hint="check the split fractions and the data")
        if xt.shape[0] != yt.shape[0]:
            raise DataError(f"x_{split} has {xt.shape[0]} rows but y_{split} has {yt.shape[0]}")
        return xt, yt.to(self.device)


def _as_tensor(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach()
    return torch.as_tensor(np.asarray(a))


def _has_embedding(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Embedding) for m in module.modules())


def _nan_last(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else math.inf


def _resolve_device(device: str | torch.device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"train.device: {device!r} is not a device; use 'auto', 'cpu' or 'cuda'") from None


def _check_args(lr, batch_size, epochs, weight_decay, l1, clip_grad, patience, min_delta, threads) -> list[str]:
    checks = [
        ("train.lr", lr, _number(lr) and lr > 0, "must be > 0"),
        ("train.batch_size", batch_size, _integer(batch_size) and batch_size >= 1, "must be an int >= 1"),
        ("train.epochs", epochs, _integer(epochs) and epochs >= 1, "must be an int >= 1"),
        ("train.weight_decay", weight_decay, _number(weight_decay) and weight_decay >= 0, "must be >= 0"),
        ("train.l1", l1, _number(l1) and l1 >= 0, "must be >= 0"),
        ("train.clip_grad", clip_grad, clip_grad is None or (_number(clip_grad) and clip_grad > 0), "must be > 0 or unset"),
        ("train.patience", patience, patience is None or (_integer(patience) and patience >= 1), "must be an int >= 1 or unset"),
        ("train.min_delta", min_delta, _number(min_delta) and min_delta >= 0, "must be >= 0"),
        ("train.threads", threads, threads == "auto" or (_integer(threads) and threads >= 1), "must be 'auto' or an int >= 1"),
    ]
    return [f"{key}: {value!r} {rule}" for key, value, ok, rule in checks if not ok]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
