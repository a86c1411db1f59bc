"""Initial weights (step 4): the classic schemes, and `auto`, which follows the activation.

Linear and Conv weights get the scheme, their biases zeros; norm layers get
weight ones, bias zeros. Other modules (embeddings, recurrent cells) keep
PyTorch's own initialization.

The two fixed-scale schemes use the conventions of the libraries that made
them common: `normal` is N(0, 0.02^2) (GPT-2, BERT), `uniform` is U(-0.05, 0.05)
(Keras's RandomUniform). Neither adapts to layer width, which is why `auto`
prefers He or Xavier.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError, did_you_mean
from .activations import check_activation

NORMAL_STD = 0.02
UNIFORM_LIMIT = 0.05
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default negative slope

SCHEMES = (
    "auto",
    "normal",
    "uniform",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
)

# He et al. derived their gain for ReLU; ELU, GELU and SiLU are ReLU-like (zero
# or near zero on the left, identity on the right), so they take ReLU's gain.
_NONLINEARITY = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "elu": "relu",
    "gelu": "relu",
    "silu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}
_XAVIER_FIRST = ("tanh", "sigmoid")  # Glorot & Bengio's setting: symmetric, saturating

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
_WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)


def resolve(scheme: str, activation: str) -> str:
    """The concrete scheme `auto` stands for: He (kaiming_normal) for ReLU-like
    activations, Xavier (xavier_normal) for tanh and sigmoid."""
    if scheme != "auto":
        return scheme
    return "xavier_normal" if activation in _XAVIER_FIRST else "kaiming_normal"


def initialize(
    module: nn.Module, scheme: str = "auto", activation: str = "relu", seed: int | None = None
) -> nn.Module:
    """Initialize `module`'s Linear/Conv/norm layers in place and return it.

    Args:
        scheme: one of SCHEMES.
        activation: the activation that follows the layers; sets He's
            `nonlinearity` and the Xavier/orthogonal gain (torch's calculate_gain).
        seed: draws from a private generator seeded with it; None uses torch's global one.
    """
    problems = check_activation(activation)
    if scheme not in SCHEMES:
        problems.append(
            f"model.init: unknown initialization {scheme!r}{did_you_mean(scheme, SCHEMES)}; "
            f"choose one of {', '.join(SCHEMES)}"
        )
    if problems:
        raise ConfigError(problems)
    concrete = resolve(scheme, activation)
    nonlinearity = _NONLINEARITY[activation]
    slope = LEAKY_SLOPE if nonlinearity == "leaky_relu" else 0.0
    gain = nn.init.calculate_gain(nonlinearity, slope if slope else None)
    generators: dict[torch.device, torch.Generator] = {}

    def generator(t: torch.Tensor) -> torch.Generator | None:
        if seed is None:
            return None
        if t.device not in generators:  # a generator draws only on its own device
            generators[t.device] = torch.Generator(device=t.device).manual_seed(seed)
        return generators[t.device]

    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, _WEIGHTED):
                _fill(layer.weight, concrete, nonlinearity, slope, gain, generator(layer.weight))
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
            elif isinstance(layer, _NORMS) and getattr(layer, "weight", None) is not None:
                nn.init.ones_(layer.weight)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
    return module


def _fill(w: torch.Tensor, scheme: str, nonlinearity: str, slope: float, gain: float, g) -> None:
    if scheme == "normal":
        nn.init.normal_(w, 0.0, NORMAL_STD, generator=g)
    elif scheme == "uniform":
        nn.init.uniform_(w, -UNIFORM_LIMIT, UNIFORM_LIMIT, generator=g)
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(w, gain=gain, generator=g)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w, gain=gain, generator=g)
    elif scheme == "kaiming_uniform":
        nn.init.kaiming_uniform_(w, a=slope, nonlinearity=nonlinearity, generator=g)
    elif scheme == "kaiming_normal":
        nn.init.kaiming_normal_(w, a=slope, nonlinearity=nonlinearity, generator=g)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(w, gain=gain, generator=g)


def expected_std(scheme: str, activation: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation `scheme` gives a (fan_out, fan_in) weight; tests compare against it."""
    concrete = resolve(scheme, activation)
    nonlinearity = _NONLINEARITY[activation]
    slope = LEAKY_SLOPE if nonlinearity == "leaky_relu" else None
    gain = nn.init.calculate_gain(nonlinearity, slope)
    if concrete == "normal":
        return NORMAL_STD
    if concrete == "uniform":
        return UNIFORM_LIMIT / math.sqrt(3)
    if concrete.startswith("xavier"):
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    if concrete.startswith("kaiming"):
        return gain / math.sqrt(fan_in)
    # orthogonal: rows (or columns) are orthonormal, scaled by gain
    return gain / math.sqrt(max(fan_in, fan_out))
