"""Activation functions by the names a config uses."""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError, did_you_mean

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def check_activation(name: str, key: str = "model.activation") -> list[str]:
    """The problems with an activation name: [] when it is known."""
    if name in ACTIVATIONS:
        return []
    return [
        f"{key}: unknown activation {name!r}{did_you_mean(name, ACTIVATIONS)}; choose one of {', '.join(ACTIVATIONS)}"
    ]


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for `name` (defaults of torch.nn, e.g. leaky slope 0.01)."""
    problems = check_activation(name)
    if problems:
        raise ConfigError(problems)
    return ACTIVATIONS[name]()
