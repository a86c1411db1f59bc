"""Initial weights (step 4): the classic schemes, and `auto`, a default per layer type.

`auto`, layer by layer:
  - Linear and Conv layers followed by the block's activation: He (kaiming_normal)
    for ReLU-like activations, Xavier (xavier_normal) with the activation's gain
    for tanh and sigmoid.
  - Layers no activation follows (the head, a Transformer's input projection):
    Xavier with gain 1, which keeps the output's variance near the input's.
  - Recurrent layers (LSTM, GRU), gate by gate: Xavier-uniform input weights,
    orthogonal recurrent weights (Saxe et al. 2014: repeated multiplication by
    an orthogonal matrix neither explodes nor vanishes), and for LSTMs a forget-
    gate bias of 1 (Jozefowicz et al. 2015), so memory is kept until learned otherwise.
  - Transformer encoder layers: Xavier-uniform, as torch.nn.Transformer and the
    reference implementation do; learned positions N(0, 0.02^2), as in GPT-2.
  - Token embeddings (nn.Embedding): N(0, 1), torch's own default, drawn from the
    seeded generator like every other weight; the padding row stays zero.
  - Biases zeros (except that forget gate); norm layers weight ones, bias zeros.
  - A layer with an `initialize_own(generator)` method (the tabular block's numeric and
    category embeddings, its input scaling and member adapters, its member heads) draws its
    own parameters, from the seeded generator, under every scheme: their scales are part of
    the recipe (a frequency's spread, a scale of 1, adapters of +-1), not a layer's fan-in.

A named scheme overrides `auto` for every weight matrix of the block, with the
gain of the activation that follows it (1 where none does); the bias rules stay.
`model.init` is this per-block override: a scheme name, or a mapping whose `scheme`
does the same for the layers not loaded from an earlier bundle (transfer.py).
The two fixed-scale schemes use the conventions of the libraries that made
them common: `normal` is N(0, 0.02^2) (GPT-2, BERT), `uniform` is U(-0.05, 0.05)
(Keras's RandomUniform). Neither adapts to layer width, which is why `auto`
prefers He or Xavier.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError, did_you_mean
from .activations import check_activation
from .positions import LearnedPositions

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
# or near zero on the left, identity on the right), so they take ReLU's gain, and so does
# PReLU (He et al. 2015 draw its layers as ReLU's; its slopes start at 0.25 and are learned).
# the names torch's calculate_gain and kaiming_* take that this module passes
Nonlinearity = Literal["linear", "relu", "leaky_relu", "tanh", "sigmoid"]
_NONLINEARITY: dict[str, Nonlinearity] = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "elu": "relu",
    "gelu": "relu",
    "silu": "relu",
    "prelu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}
_XAVIER_FIRST = ("tanh", "sigmoid")  # Glorot & Bengio's setting: symmetric, saturating

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
_WEIGHTED = (nn.Linear, nn.modules.conv._ConvNd)
_RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)
LSTM_FORGET_BIAS = 1.0


def scheme_of(init: str | dict | None) -> str:
    """The scheme of a model section's `init`: the name itself, or a mapping's `scheme`
    (the layers a bundle does not fill take it; see layerwise.models.transfer)."""
    if isinstance(init, dict):
        return init.get("scheme") or "auto"
    return init or "auto"


def resolve(scheme: str, activation: str) -> str:
    """The concrete scheme `auto` stands for in a layer the activation follows: He
    (kaiming_normal) for ReLU-like activations, Xavier (xavier_normal) for tanh and sigmoid."""
    if scheme != "auto":
        return scheme
    return "xavier_normal" if activation in _XAVIER_FIRST else "kaiming_normal"


def initialize(module: nn.Module, scheme: str = "auto", activation: str = "relu", seed: int | None = None) -> nn.Module:
    """Initialize `module`'s weights in place, layer type by layer type, and return it.

    Args:
        scheme: one of SCHEMES.
        activation: the activation that follows the Linear/Conv layers; sets He's
            `nonlinearity` and the Xavier/orthogonal gain (torch's calculate_gain).
            Layers in `module.linear_layers()` (a block's head) take gain 1 instead.
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
    generators: dict[torch.device, torch.Generator] = {}

    def generator(t: torch.Tensor) -> torch.Generator | None:
        if seed is None:
            return None
        if t.device not in generators:  # a generator draws only on its own device
            generators[t.device] = torch.Generator(device=t.device).manual_seed(seed)
        return generators[t.device]

    def fill(w: torch.Tensor, auto: str, nonlinearity: Nonlinearity) -> None:
        _fill(w, auto if scheme == "auto" else scheme, nonlinearity, generator(w))

    linear: list[nn.Module] = getattr(module, "linear_layers", lambda: [])()
    linear_ids = {id(m) for m in linear}
    done: set[int] = set()
    with torch.no_grad():
        for layer in module.modules():
            if id(layer) in done:
                continue
            own = getattr(layer, "initialize_own", None)
            if callable(own):  # a layer with its own recipe (tabular.py's embeddings, adapters, heads)
                done.update(id(sub) for sub in layer.modules())
                first = next(layer.parameters(), None)
                if first is not None:
                    own(generator(first))
            elif isinstance(layer, _RECURRENT):
                _recurrent(layer, fill)
            elif isinstance(layer, nn.TransformerEncoderLayer):
                for sub in layer.modules():  # attention and feed-forward; its norms below
                    done.add(id(sub))
                    _attention_or_linear(sub, fill)
            elif isinstance(layer, nn.MultiheadAttention):
                for sub in layer.modules():
                    done.add(id(sub))
                    _attention_or_linear(sub, fill)
            elif isinstance(layer, LearnedPositions):
                fill(layer.weight, "normal", "linear")
            elif isinstance(layer, nn.Embedding):
                if scheme == "auto":  # torch's default for token vectors, now from the seeded generator
                    nn.init.normal_(layer.weight, 0.0, 1.0, generator=generator(layer.weight))
                else:
                    fill(layer.weight, scheme, "linear")
                if layer.padding_idx is not None:
                    layer.weight[layer.padding_idx].zero_()  # padding adds nothing, before or after training
            elif isinstance(layer, _WEIGHTED) and id(layer) in linear_ids:
                fill(layer.weight, "xavier_normal", "linear")
                _zero(layer.bias)
            elif isinstance(layer, _WEIGHTED):
                fill(layer.weight, resolve("auto", activation), _NONLINEARITY[activation])
                _zero(layer.bias)
            if isinstance(layer, _NORMS) and getattr(layer, "weight", None) is not None:
                nn.init.ones_(layer.weight)
                _zero(layer.bias)
    return module


def _recurrent(layer: nn.RNNBase, fill) -> None:
    """Gate by gate: each gate's (hidden, in) block is a layer of its own."""
    h = layer.hidden_size
    for name, p in layer.named_parameters():
        if name.startswith("weight_ih"):
            for gate in p.split(h):
                fill(gate, "xavier_uniform", "linear")
        elif name.startswith("weight_hh"):
            for gate in p.split(h):
                fill(gate, "orthogonal", "linear")
        elif name.startswith("bias"):
            nn.init.zeros_(p)
            if isinstance(layer, nn.LSTM) and name.startswith("bias_ih"):
                # gates are ordered input, forget, cell, output; bias_hh adds to it and stays 0
                p[h : 2 * h].fill_(LSTM_FORGET_BIAS)


def _attention_or_linear(sub: nn.Module, fill) -> None:
    if isinstance(sub, nn.MultiheadAttention) and sub.in_proj_weight is not None:
        fill(sub.in_proj_weight, "xavier_uniform", "linear")  # q, k, v stacked: (3 * d_model, d_model)
        _zero(sub.in_proj_bias)
    elif isinstance(sub, nn.MultiheadAttention):  # separate q/k/v widths
        for w in (sub.q_proj_weight, sub.k_proj_weight, sub.v_proj_weight):
            fill(w, "xavier_uniform", "linear")
        _zero(sub.in_proj_bias)
    elif isinstance(sub, nn.Linear):
        fill(sub.weight, "xavier_uniform", "linear")
        _zero(sub.bias)
    elif isinstance(sub, _NORMS) and sub.weight is not None:
        nn.init.ones_(sub.weight)
        _zero(sub.bias)


def _zero(bias: torch.Tensor | None) -> None:
    if bias is not None:
        nn.init.zeros_(bias)


def _fill(w: torch.Tensor, scheme: str, nonlinearity: Nonlinearity, g) -> None:
    slope = LEAKY_SLOPE if nonlinearity == "leaky_relu" else 0.0
    gain = nn.init.calculate_gain(nonlinearity, slope if slope else None)
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
    if activation != "linear" and activation not in _NONLINEARITY:
        raise ValueError(f"Unsupported nonlinearity {activation}")  # torch's calculate_gain's words
    nonlinearity = _NONLINEARITY.get(activation, "linear")  # "linear": gain 1
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
