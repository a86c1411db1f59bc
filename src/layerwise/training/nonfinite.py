"""The NaN/inf guard: what `train.on_nan` does when a loss or gradient is not finite.

  stop        (default) checked at the epoch's one host sync, so it costs nothing per step:
              training stops with an error naming the epoch and the first bad step, and the
              weights go back to the end of the last finite epoch (or the best, with early
              stopping). Nothing non-finite is ever checkpointed.
  skip_batch  checked after every backward (one host sync per step): the update is dropped.
  reduce_lr   as skip_batch, and the learning rate is halved each time.

Either per-step mode gives up, as `stop` does, after `PATIENCE` bad updates in a row.
"""

from __future__ import annotations

import torch

from ..errors import LayerwiseError

PATIENCE = 10


def updates_are_finite(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> bool:
    """Whether the loss and every gradient are finite; one host sync."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.nn.utils.get_total_norm(grads, foreach=True) if grads else torch.zeros(())
    return bool(torch.isfinite(loss.detach() + norm.to(loss.device)))


def halve_lr(optimizer: torch.optim.Optimizer, scheduler) -> None:
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    if scheduler is not None and hasattr(scheduler, "base_lrs"):  # schedules recompute from these
        scheduler.base_lrs = [lr * 0.5 for lr in scheduler.base_lrs]


def nonfinite_error(epoch: int, step: int, steps: int, value: float, lr: float, restored: str) -> LayerwiseError:
    return LayerwiseError(
        f"training loss or gradient became {value} at epoch {epoch}, step {step} of {steps}; "
        f"weights were restored to {restored} (or the best epoch, with early stopping)",
        hint=f"likely causes: a learning rate too high (train.lr is {lr:g}), or unnormalized inputs "
        "(standardize each feature); or set train.clip_grad, or train.on_nan: skip_batch | reduce_lr",
    )
