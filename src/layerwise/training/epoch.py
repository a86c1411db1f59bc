"""One training epoch: the batch loop around the Trainer's step, and the epoch's one host sync.

The Trainer (trainer.py) owns the state and the order of things around an epoch
(callbacks, checkpoints, resume); this file is what happens inside one, as functions of
the trainer. Two batch sources share the same step:

  in memory  `train_epoch`: one `torch.randperm` on the device per epoch, batches sliced
             with `index_select` (the batch order the trainer's docstring promises);
  streamed   `train_stream_epoch`: (x, y) batches from an iterable (data/streaming.py),
             moved to the device one at a time; the stream, not the trainer, owns the order.

The step itself is the Trainer's public surface, and this file uses nothing else of it:
`train_step` (forward, loss + L1, backward) on every batch, `apply_update` (the optimizer,
after the NaN/inf guard in its per-step modes) every `accumulate` batches and at the epoch's
last. Then the callbacks that watch batches (`on_batch_end`: a progress bar) hear of it;
usually there are none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import torch

from ..errors import DataError, LayerwiseError
from . import distributed
from .callbacks import Callback
from .nonfinite import nonfinite_error

if TYPE_CHECKING:
    from .trainer import Trainer

# () -> (outputs (n, output_dim) on the device, targets on the device, targets on the CPU or None)
ValOutputs = Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]


def train_epoch(
    trainer: Trainer, x: torch.Tensor, y: torch.Tensor, epoch: int, done: list[torch.Tensor]
) -> torch.Tensor:
    """One pass over the shuffled in-memory training split; the batch losses, detached, (n_batches,).

    `done` holds the losses of the batches a mid-epoch checkpoint had finished: the
    epoch's permutation is drawn again from the same generator state and they are skipped."""
    bs = trainer.batch_size
    trainer.start_epoch()
    generator = trainer.batch_generator()
    before = generator.get_state()  # replays this epoch's permutation on resume
    idx = torch.randperm(x.shape[0], generator=generator, device=trainer.device)  # (n,)
    n_batches = math.ceil(x.shape[0] / bs)
    losses = list(done)
    hooks = batch_hooks(trainer)
    for s in range(len(done), n_batches):
        batch = idx[s * bs : (s + 1) * bs]
        share = 1.0
        if trainer.world > 1:
            batch, share = distributed.shard(batch, trainer.world, trainer.rank)
        # index_select == x[batch], without advanced indexing's extra checks
        loss, boundary = trainer.train_step(
            x.index_select(0, batch), y.index_select(0, batch), epoch=epoch, step=s, n_batches=n_batches, share=share
        )
        losses.append(loss)
        if boundary:
            trainer.apply_update(loss, epoch=epoch, step=s, n_batches=n_batches)
            if trainer.interrupted:
                trainer.save_interrupt(epoch, s + 1, n_batches, before, losses)
        for hook in hooks:
            hook(trainer, epoch, s + 1, n_batches)
    return torch.stack(losses)


def train_stream_epoch(
    trainer: Trainer, batches: Iterable, epoch: int, n_batches: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over streamed (x, y) batches; (batch losses, batch sizes), both (n_batches,).

    A signal stops the epoch at the next update; the trainer then saves the state of the
    last epoch end (a stream cannot be rewound to the middle of an epoch)."""
    trainer.start_epoch()
    # the losses go into one tensor made up front, not a list of per-batch scalars: a few
    # thousand tiny allocations kept for the whole epoch, between each batch's large
    # short-lived arrays, pin glibc's heap so the freed batches are never given back
    # (the streaming benchmark's peak grew by ~0.5 MB a batch, to 1.5 GB)
    losses: torch.Tensor | None = None  # (n_batches,), made at the first loss, in its dtype
    sizes = []
    hooks = batch_hooks(trainer)
    for s, (xb, yb) in enumerate(batches):
        xb, yb = trainer.to_device(xb, yb, "train")  # (batch, features), (batch, ...) on the device
        loss, boundary = trainer.train_step(xb, yb, epoch=epoch, step=s, n_batches=n_batches)
        if losses is None:
            losses = loss.new_empty(max(n_batches, 1))
        elif s == len(losses):  # the stream gave more batches than n_rows said: room for more
            losses = torch.cat([losses, torch.empty_like(losses)])
        losses[s] = loss
        sizes.append(xb.shape[0])
        if boundary:
            trainer.apply_update(loss, epoch=epoch, step=s, n_batches=n_batches)
            if trainer.interrupted:
                trainer.save_interrupt_stream(epoch, s + 1, n_batches)
        for hook in hooks:
            hook(trainer, epoch, s + 1, max(n_batches, s + 1))  # a stream may give more than counted
    if losses is None or not sizes:  # (both at once: the stream gave no batch)
        raise DataError(
            f"epoch {epoch}: the streamed training batches were empty although the split was counted with rows",
            hint="check that batches(epoch) yields (x, y) for every epoch",
        )
    sizes_t = torch.tensor(sizes, dtype=torch.float32, device=trainer.device)
    return losses[: len(sizes)], sizes_t


EVAL_ELEMENTS = 1 << 22  # input numbers an evaluation batch holds at most (16 MB of float32)


def eval_rows(x: torch.Tensor, batch_size: int) -> int:
    """Rows per evaluation batch: 4096 (at least `batch_size`), fewer for large samples. A batch of
    4096 images of 3x128x128 would hold 800 MB, and each early layer's activations more than that."""
    per_row = max(1, math.prod(x.shape[1:]))
    return max(batch_size, min(4096, EVAL_ELEMENTS // per_row))


def batch_hooks(trainer: Trainer) -> list[Callable[[Trainer, int, int, int], None]]:
    """The `on_batch_end` of the callbacks that override it: asked once an epoch, so a step
    with no callback watching batches pays for an empty loop only."""
    return [cb.on_batch_end for cb in trainer.callbacks if type(cb).on_batch_end is not Callback.on_batch_end]


def stream_outputs(trainer: Trainer, batches: Iterable) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Eval outputs and targets of streamed (x, y) batches, held on the device; features are not."""
    outs, ys = [], []
    for xb, yb in batches:
        xt, yt = trainer.to_device(xb, yb, "val")
        outs.append(trainer.predict_outputs(xt, eval_rows(xt, trainer.batch_size)))  # (batch, output_dim)
        ys.append(yt)
    if not outs:
        raise DataError("the streamed validation split has no rows", hint="check the split fractions")
    y = torch.cat(ys)
    return torch.cat(outs), y, y.cpu() if trainer.metric is not None else None


def epoch_logs(
    trainer: Trainer, epoch: int, losses: torch.Tensor, sizes: torch.Tensor, n: int, val: ValOutputs | None, good: dict
) -> dict:
    """The epoch's history row, from one host sync; raises the NaN error (weights back to `good`)."""
    if trainer.world > 1:
        losses = distributed.mean_over_ranks(losses.clone())  # the global batches' losses
    if trainer.on_nan == "stop":
        train_loss = (losses * sizes).sum() / n  # non-finite if any batch was
    else:  # skipped batches do not count
        kept = sizes * torch.isfinite(losses)
        train_loss = (losses.nan_to_num(0.0, 0.0, 0.0) * kept).sum() / kept.sum()
    finite = torch.stack([torch.isfinite(p).all() for p in trainer.module.parameters()]).all()
    val_loss = preds = y_cpu = None
    if val is not None:
        preds, y_val, y_cpu = val()
        val_loss = trainer.loss_fn(preds, y_val).detach()
        # the epoch's one host sync
        train_loss, ok, val_loss = torch.stack([train_loss, finite.float(), val_loss.float()]).tolist()
    else:
        train_loss, ok = torch.stack([train_loss, finite.float()]).tolist()
    if not (math.isfinite(train_loss) and ok):
        raise_nonfinite(trainer, epoch, losses, good)
    metric = None
    if trainer.metric is not None and preds is not None:
        assert y_cpu is not None  # val() gives the targets on the CPU whenever the trainer has a metric
        metric = float(trainer.metric(preds.cpu(), y_cpu))
    lr = trainer.optimizer.param_groups[0]["lr"]
    return {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_metric": metric, "lr": lr}


def raise_nonfinite(trainer: Trainer, epoch: int, losses: torch.Tensor, good: dict) -> None:
    bad = torch.nonzero(~torch.isfinite(losses))
    step = int(bad[0]) + 1 if len(bad) else len(losses)  # finite losses: a gradient went bad last
    value = losses[step - 1].item() if len(bad) else float("nan")
    trainer.module.load_state_dict(good)
    restored = f"the end of epoch {epoch - 1}" if epoch > 1 else "their initial values"
    raise nonfinite_error(epoch, step, len(losses), value, trainer.optimizer.param_groups[0]["lr"], restored)


def compile_failure(error: BaseException) -> LayerwiseError | None:
    """The LayerwiseError for `train.compile: true` when torch.compile cannot build the model
    (on CPU its inductor backend needs a working C++ compiler), or None for any other error."""
    import torch._dynamo.exc
    import torch._inductor.exc

    kinds = tuple(
        k
        for k in (
            getattr(torch._dynamo.exc, "BackendCompilerFailed", None),
            getattr(torch._inductor.exc, "InductorError", None),
        )
        if k is not None
    )
    if not isinstance(error, kinds):
        return None
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return LayerwiseError(
        f"train.compile: torch.compile could not build the model: {first}",
        hint="install a C++ compiler (gcc / g++, or set CXX) for the inductor backend, or set train.compile: false",
    )
