"""Model blocks: the bodies a config names with `model.type`.

Each block ends in a plain Linear head of width `output_dim` and returns raw
scores (regression values, logits): losses apply sigmoid/softmax themselves, and
so does whoever turns logits into probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError, did_you_mean
from .activations import check_activation, make_activation
from .registry import register

NORMS = ("none", "batch", "layer")


def _check_keys(cfg: dict, known: Sequence[str]) -> list[str]:
    """Problems for keys this block does not take; keys set to None count as absent,
    so one flat model section can carry the settings of several block types."""
    allowed = set(known) | {"type", "init"}
    return [
        f"model.{key}: not a setting of this model type{did_you_mean(key, allowed)}"
        for key, value in cfg.items()
        if key not in allowed and value is not None
    ]


@register("mlp")
class MLP(nn.Module):
    """A multilayer perceptron of any depth; `hidden=[]` is a linear model.

    Every dim after the batch dim is flattened first, so a forecasting window
    (batch, lookback, features) feeds it as (batch, lookback * features).
    Each hidden width adds Linear -> [norm] -> activation -> [dropout].
    """

    defaults = {"hidden": [64, 64], "activation": "relu", "dropout": 0.0, "norm": "none"}

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
        self.input_shape = tuple(int(d) for d in input_shape)
        self.hidden = [int(h) for h in hidden] if _all_ints(hidden) else hidden
        self.output_dim = output_dim
        self.activation = activation
        self.dropout = float(dropout)
        self.norm = norm
        _raise_problems(self._problems())

        layers: list[nn.Module] = [nn.Flatten(start_dim=1)]  # (batch, *input_shape) -> (batch, in)
        width = math.prod(self.input_shape)
        for h in self.hidden:
            layers.append(nn.Linear(width, h))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(h))
            elif norm == "layer":
                layers.append(nn.LayerNorm(h))
            layers.append(make_activation(activation))
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = h
        layers.append(nn.Linear(width, output_dim))  # head: (batch, output_dim), raw scores
        self.layers = nn.Sequential(*layers)

    def _problems(self) -> list[str]:
        problems = []
        if not self.input_shape or any(d < 1 for d in self.input_shape):
            problems.append(f"model input shape {self.input_shape} must be positive sizes")
        if not _all_ints(self.hidden) or any(h < 1 for h in self.hidden):
            problems.append(f"model.hidden: {self.hidden!r} must be a list of positive widths, e.g. [64, 64]")
        if not isinstance(self.output_dim, int) or self.output_dim < 1:
            problems.append(f"model output_dim {self.output_dim!r} must be a positive int")
        problems += check_activation(self.activation)
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"model.dropout: {self.dropout} must be in [0, 1)")
        if self.norm not in NORMS:
            problems.append(
                f"model.norm: unknown norm {self.norm!r}{did_you_mean(self.norm, NORMS)}; "
                f"choose one of {', '.join(NORMS)}"
            )
        return problems

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    @classmethod
    def from_config(cls, cfg: dict, input_shape: Sequence[int], output_dim: int) -> MLP:
        """Build from a model section; missing keys take `MLP.defaults`."""
        _raise_problems(_check_keys(cfg, cls.defaults))
        settings = {k: cfg[k] if cfg.get(k) is not None else v for k, v in cls.defaults.items()}
        return cls(input_shape, output_dim=output_dim, **settings)

    def get_config(self) -> dict:
        """The model section that rebuilds this architecture (shapes are passed apart)."""
        return {
            "type": "mlp",
            "hidden": list(self.hidden),
            "activation": self.activation,
            "dropout": self.dropout,
            "norm": self.norm,
        }


def _all_ints(values) -> bool:
    return isinstance(values, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    )


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise ConfigError(problems)
