"""Learning-rate schedules: torch's own schedulers, chosen by name.

| type        | steps       | settings (defaults)                                          |
|-------------|-------------|--------------------------------------------------------------|
| none        |             |                                                              |
| step        | each epoch  | lr x gamma (0.1) every step_size epochs (epochs // 3)        |
| exponential | each epoch  | lr x gamma (0.95) each epoch                                 |
| cosine      | each update | linear warm-up over `warmup` epochs (0), then cosine to min_lr |
| flat_cosine | each update | lr held over the first `flat` (0.5) of the updates, then cosine to min_lr |
| onecycle    | each update | torch's OneCycleLR peaking at lr (warm-up fraction 0.3)       |
| plateau     | each epoch  | lr x gamma (0.1) after `patience` (5) epochs without a better val loss |

An "update" is one optimizer step: a batch, or `accumulate` batches.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import lr_scheduler

from ..errors import ConfigError

SCHEDULES = ("none", "step", "exponential", "cosine", "flat_cosine", "onecycle", "plateau")
PER_UPDATE = ("cosine", "flat_cosine", "onecycle")
_SETTINGS = {"type", "step_size", "gamma", "warmup", "patience", "min_lr", "flat"}
FLAT = 0.5  # flat_cosine: the share of the updates at the starting lr (RealMLP's flat_cos holds half)


def check_schedule(spec: str | dict | None) -> list[str]:
    """Problems with a schedule spec, each with its key path."""
    if spec is None:
        return []
    spec = {"type": spec} if isinstance(spec, str) else dict(spec)
    problems = [f"train.schedule.{k}: unknown key; use {sorted(_SETTINGS)}" for k in spec if k not in _SETTINGS]
    if spec.get("type", "none") not in SCHEDULES:
        problems.append(f"train.schedule.type: {spec.get('type')!r} is not one of {list(SCHEDULES)}")
    flat = spec.get("flat")
    if flat is not None and (isinstance(flat, bool) or not isinstance(flat, (int, float)) or not 0 <= flat < 1):
        problems.append(f"train.schedule.flat: {flat!r} must be a share of the updates in [0, 1), e.g. 0.5")
    return problems


def make_schedule(
    spec: str | dict | None, optimizer: torch.optim.Optimizer, *, epochs: int, updates_per_epoch: int
) -> tuple[Any, str] | tuple[None, None]:
    """(scheduler, "update" | "epoch" | "plateau"): how often the trainer steps it."""
    spec = {"type": spec} if isinstance(spec, str) else dict(spec or {"type": "none"})
    kind = spec.pop("type", "none")
    if kind == "none":
        return None, None
    gamma = spec.get("gamma")
    total = epochs * updates_per_epoch
    if kind == "step":
        return lr_scheduler.StepLR(
            optimizer, step_size=spec.get("step_size") or max(1, epochs // 3), gamma=0.1 if gamma is None else gamma
        ), "epoch"
    if kind == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.95 if gamma is None else gamma), "epoch"
    if kind == "plateau":
        return lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.1 if gamma is None else gamma, patience=spec.get("patience", 5)
        ), "plateau"
    if kind == "onecycle":
        peak = [group["lr"] for group in optimizer.param_groups]
        return lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total), "update"
    if kind in ("cosine", "flat_cosine"):
        warmup = spec.get("warmup", 0) * updates_per_epoch
        floor = spec.get("min_lr", 0.0) / optimizer.param_groups[0]["lr"]
        flat = spec.get("flat")
        hold = warmup if kind == "cosine" else max(warmup, round((FLAT if flat is None else flat) * total))
        return lr_scheduler.LambdaLR(optimizer, _cosine(warmup, hold, total, floor)), "update"
    raise ConfigError(f"train.schedule.type: {kind!r} is not one of {list(SCHEDULES)}")


def _cosine(warmup: int, hold: int, total: int, floor: float):
    """The lr factor after `update` updates: a linear warm-up to 1 over `warmup` updates, 1 until
    `hold` (cosine: hold = warmup), then half a cosine from 1 down to `floor` at `total`."""

    # A plain function (not a lambda over objects): LambdaLR's state_dict then holds no code.
    def factor(update: int) -> float:
        if update < warmup:
            return (update + 1) / warmup
        if update < hold:
            return 1.0
        progress = min(1.0, (update - hold) / max(1, total - hold))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
