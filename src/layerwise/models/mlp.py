"""The multilayer perceptron: dense layers of any depth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from . import block as b
from .activations import make_activation
from .registry import register


@register("mlp")
class MLP(b.Block):
    """A multilayer perceptron of any depth; `hidden=[]` is a linear model.

    Every dim after the batch dim is flattened first, so a forecasting window
    (batch, lookback, features) feeds it as (batch, lookback * features).
    Each hidden width adds Linear -> [norm] -> activation -> [dropout].
    """

    defaults = {"hidden": [64, 64], "activation": "relu", "dropout": 0.0, "norm": "none"}
    example_input_shape = (6,)

    def __init__(
        self,
        input_shape: Sequence[int],
        hidden: Sequence[int],
        output_dim: int,
        activation: str = "relu",
        dropout: float = 0.0,
        norm: str = "none",
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.hidden = list(hidden) if isinstance(hidden, (list, tuple)) else hidden
        self.output_dim = output_dim
        self.activation = activation
        self.dropout = float(dropout) if isinstance(dropout, (int, float)) else dropout
        self.norm = norm
        self._check(self.input_shape, output_dim)

        layers: list[nn.Module] = [nn.Flatten(start_dim=1)]  # (batch, *input_shape) -> (batch, in)
        width = math.prod(self.input_shape)
        for h in self.hidden:
            layers.append(nn.Linear(width, h))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(h))
            elif norm == "layer":
                layers.append(nn.LayerNorm(h))
            layers.append(make_activation(activation, h))  # prelu: a slope per neuron
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = h
        layers.append(nn.Linear(width, output_dim))  # head: (batch, output_dim), raw scores
        self.layers = nn.Sequential(*layers)

    @property
    def head(self) -> nn.Linear:
        return cast(nn.Linear, self.layers[-1])  # the head appended last in __init__

    def _problems(self) -> list[str]:
        return (
            b.widths("hidden", self.hidden, "[64, 64]", allow_empty=True)
            + b.activation(self.activation)
            + b.fraction("dropout", self.dropout)
            + b.choice("norm", self.norm, b.NORMS)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
