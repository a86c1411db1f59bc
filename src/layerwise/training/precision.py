"""Numeric precision of the forward pass: fp32, or mixed bf16 / fp16 through torch.autocast.

"16-mixed" also needs a GradScaler: fp16 gradients underflow without loss scaling;
bf16 has fp32's exponent range and does not.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from ..errors import ConfigError

PRECISIONS = ("32", "bf16", "16-mixed")


def check_precision(precision) -> list[str]:
    if str(precision) not in PRECISIONS:
        return [f"train.precision: {precision!r} is not one of {list(PRECISIONS)}"]
    return []


def autocast(precision: str | int, device: torch.device):
    """A context-manager factory for the forward pass and loss."""
    precision = str(precision)
    if precision == "32":
        return contextlib.nullcontext
    if device.type == "mps" and precision == "bf16":
        raise ConfigError("train.precision: bf16 is not supported on mps; use 16-mixed or 32")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return functools.partial(torch.autocast, device_type=device.type, dtype=dtype)


def grad_scaler(precision: str | int, device: torch.device) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler(device.type) if str(precision) == "16-mixed" else None
