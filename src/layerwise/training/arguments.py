"""Argument checks and input conversion for the Trainer."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError


def as_tensor(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach()
    return torch.as_tensor(np.asarray(a))


def has_embedding(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Embedding) for m in module.modules())


def resolve_device(device: str | torch.device) -> torch.device:
    """`auto` picks cuda, then mps (Apple silicon), then cpu."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"train.device: {device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'mps'") from None


def check_args(
    lr,
    batch_size,
    epochs,
    weight_decay,
    l1,
    clip_grad,
    patience,
    min_delta,
    threads,
    checkpoint_every=1,
    keep=2,
    accumulate=1,
    on_nan="stop",
) -> list[str]:
    checks = [
        (
            "train.checkpoint_every",
            checkpoint_every,
            _integer(checkpoint_every) and checkpoint_every >= 0,
            "must be an int >= 0 (0: only on SIGTERM / SIGINT)",
        ),
        ("train.keep", keep, _integer(keep) and keep >= 1, "must be an int >= 1"),
        ("train.accumulate", accumulate, _integer(accumulate) and accumulate >= 1, "must be an int >= 1"),
        (
            "train.on_nan",
            on_nan,
            on_nan in ("stop", "skip_batch", "reduce_lr"),
            "must be 'stop', 'skip_batch' or 'reduce_lr'",
        ),
        ("train.lr", lr, _number(lr) and lr > 0, "must be > 0"),
        ("train.batch_size", batch_size, _integer(batch_size) and batch_size >= 1, "must be an int >= 1"),
        ("train.epochs", epochs, _integer(epochs) and epochs >= 1, "must be an int >= 1"),
        ("train.weight_decay", weight_decay, _number(weight_decay) and weight_decay >= 0, "must be >= 0"),
        ("train.l1", l1, _number(l1) and l1 >= 0, "must be >= 0"),
        (
            "train.clip_grad",
            clip_grad,
            clip_grad is None or (_number(clip_grad) and clip_grad > 0),
            "must be > 0 or unset",
        ),
        (
            "train.patience",
            patience,
            patience is None or (_integer(patience) and patience >= 1),
            "must be an int >= 1 or unset",
        ),
        ("train.min_delta", min_delta, _number(min_delta) and min_delta >= 0, "must be >= 0"),
        (
            "train.threads",
            threads,
            threads == "auto" or (_integer(threads) and threads >= 1),
            "must be 'auto' or an int >= 1",
        ),
    ]
    return [f"{key}: {value!r} {rule}" for key, value, ok, rule in checks if not ok]


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
