"""Optimizers by name, each in the fastest correct implementation torch has for it.

torch's default for an optimizer built without flags is the `foreach` kernel on
CUDA but the per-tensor Python loop on CPU. `fused=True` does the whole update in
one kernel per dtype/device group and is available for SGD, Adam and AdamW on
both CPU and CUDA (torch >= 2.4); RMSprop has no fused kernel, so it gets
`foreach=True` (one batched op per step instead of one per parameter).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

import torch

from ..errors import ConfigError, did_you_mean

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
_FUSED_DEVICES = ("cpu", "cuda")


class _Fast(TypedDict, total=False):
    """The one implementation flag an optimizer is built with: `fused` or `foreach`."""

    fused: bool
    foreach: bool


def param_groups(module: torch.nn.Module) -> list[dict[str, Any]]:
    """The module's parameter groups, each {"params": [...], "lr_scale": share of the learning rate}:
    its own (`param_groups()`, a backbone's discriminative rates), or one group of every parameter."""
    own = getattr(module, "param_groups", None)
    return own() if callable(own) else [{"params": list(module.parameters()), "lr_scale": 1.0}]


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | list[dict[str, Any]],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """The optimizer `name` over `params` (L2 regularization = `weight_decay`).

    `momentum` applies to sgd and rmsprop; `nesterov` to sgd only. Adam's
    weight decay is coupled L2; AdamW's is decoupled (Loshchilov & Hutter).
    `params` may be groups (`param_groups`): each trains at lr times its `lr_scale`.
    """
    unknown = check_optimizer(name)
    if unknown:
        raise ConfigError(unknown)
    given: list[Any] = list(params)
    groups: list[dict[str, Any]] = given if given and isinstance(given[0], dict) else [{"params": given}]
    # each group keeps its lr_scale (torch keeps extra keys, in its state_dict too): lr_find sweeps by it
    chosen: list[dict[str, Any]] = []
    for group in groups:
        trained = [p for p in group["params"] if p.requires_grad]
        scale = float(group.get("lr_scale", 1.0))
        if trained:
            chosen.append({"params": trained, "lr": lr * scale, "lr_scale": scale})
    flat = [p for g in chosen for p in g["params"]]
    problems = []
    if not lr > 0:
        problems.append(f"train.lr: {lr} must be > 0")
    if not weight_decay >= 0:
        problems.append(f"train.weight_decay: {weight_decay} must be >= 0")
    if not 0 <= momentum < 1:
        problems.append(f"train.momentum: {momentum} must be in [0, 1)")
    if nesterov and (name != "sgd" or momentum == 0):
        problems.append("train.nesterov: needs optimizer 'sgd' with momentum > 0")
    if problems:
        raise ConfigError(problems)
    fast = _fast_flag(flat)
    if name == "sgd":
        return torch.optim.SGD(chosen, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, **fast)
    if name == "adam":
        return torch.optim.Adam(chosen, lr=lr, weight_decay=weight_decay, **fast)
    if name == "adamw":
        return torch.optim.AdamW(chosen, lr=lr, weight_decay=weight_decay, **fast)
    return torch.optim.RMSprop(chosen, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)


def check_optimizer(name: str) -> list[str]:
    """The problems with an optimizer name: [] when it is known."""
    if name in OPTIMIZERS:
        return []
    return [
        f"train.optimizer: unknown optimizer {name!r}{did_you_mean(name, OPTIMIZERS)}; "
        f"choose one of {', '.join(OPTIMIZERS)}"
    ]


def _fast_flag(params: list[torch.nn.Parameter]) -> _Fast:
    """{"fused": True} when every param is a float tensor on a fused-capable device."""
    fusable = bool(params) and all(p.device.type in _FUSED_DEVICES and torch.is_floating_point(p) for p in params)
    return {"fused": True} if fusable else {"foreach": True}
