"""Activation functions by the names a config uses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, did_you_mean

PRELU_SLOPE = 0.25  # nn.PReLU's initial negative slope (He et al. 2015)


class PReLU(nn.Module):
    """Parametric ReLU over the last dim: x where x >= 0, slope * x elsewhere, with a learned
    slope per neuron (`width` of them) or one shared (`width=None`).

    torch's nn.PReLU puts its slopes on dim 1, the channels; a tabular block's members make its
    hidden vectors (batch, members, width), so the slopes here follow the last dim instead."""

    def __init__(self, width: int | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.full((width or 1,), PRELU_SLOPE))

    def extra_repr(self) -> str:
        return f"slopes={self.weight.numel()}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight.numel() == 1 or x.dim() <= 2:  # one slope, or the last dim is dim 1
            return F.prelu(x, self.weight)
        # torch's kernel (several times faster than a where) slopes dim 1: fold the leading dims
        return F.prelu(x.reshape(-1, x.shape[-1]), self.weight).reshape(x.shape)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "prelu": PReLU,
}


def check_activation(name: str, key: str = "model.activation") -> list[str]:
    """The problems with an activation name: [] when it is known."""
    if name in ACTIVATIONS:
        return []
    return [
        f"{key}: unknown activation {name!r}{did_you_mean(name, ACTIVATIONS)}; choose one of {', '.join(ACTIVATIONS)}"
    ]


def make_activation(name: str, width: int | None = None) -> nn.Module:
    """A fresh activation module for `name` (defaults of torch.nn, e.g. leaky slope 0.01).

    `width`: the size of the last dim it is applied to, where a parametric activation (prelu)
    learns one slope per neuron; None shares one slope (convolutions: the last dim is a position)."""
    problems = check_activation(name)
    if problems:
        raise ConfigError(problems)
    if name == "prelu":
        return PReLU(width)
    return ACTIVATIONS[name]()
