"""A Transformer encoder over a window (batch, lookback, features).

Each step's features are projected to `d_model`, positions are added (sinusoidal
or learned), then `layers` pre-norm encoder layers (attention with `heads` heads,
a feed-forward of width 4 * d_model as in Vaswani et al.) and a final LayerNorm,
as in GPT-2: pre-norm trains stably without a warm-up. With `causal`, step t
attends only to steps <= t, which generation needs. `readout` pools the steps
into one vector for the head: `mean`, `max`, or the `last` step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import block as b
from .activations import make_activation
from .positions import POSITIONS
from .registry import register

FF_RATIO = 4  # feed-forward width / d_model (Vaswani et al. 2017)


@register("transformer")
class Transformer(b.Block):
    mask: torch.Tensor  # a buffer, (length, length)
    defaults = {
        "d_model": 64,
        "heads": 4,
        "layers": 2,
        "positions": "sinusoidal",
        "causal": False,
        "activation": "gelu",
        "readout": "mean",
        "dropout": 0.0,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        positions: str = "sinusoidal",
        causal: bool = False,
        activation: str = "gelu",
        readout: str = "mean",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.d_model, self.heads, self.layers, self.positions = d_model, heads, layers, positions
        self.causal, self.activation, self.readout = causal, activation, readout
        self.dropout = float(dropout) if isinstance(dropout, (int, float)) else dropout
        self._check(self.input_shape, output_dim)

        length, features = self.input_shape
        self.embed = nn.Linear(features, d_model)
        self.position = POSITIONS[positions](length, d_model)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.encoder = encoder_stack(d_model, heads, layers, self.dropout, activation)
        # -inf above the diagonal: step t may not attend to t + 1, ...; not saved, it is computed
        mask = nn.Transformer.generate_square_subsequent_mask(length) if causal else torch.zeros(0, 0)
        self.register_buffer("mask", mask, persistent=False)  # (length, length) when causal
        self.head = nn.Linear(d_model, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        x = self.drop(self.position(self.embed(x)))  # (batch, lookback, d_model)
        mask = self.mask[:steps, :steps] if self.causal else None
        x = self.encoder(x, mask=mask, is_causal=self.causal)  # (batch, lookback, d_model)
        if self.readout == "last":
            x = x[:, -1]
        elif self.readout == "mean":
            x = x.mean(1)
        elif self.readout == "max":
            x = x.amax(1)
        return self.head(x)  # (batch[, steps], d_model) -> (batch[, steps], output_dim)

    def linear_layers(self) -> list[nn.Module]:
        return [self.embed, self.head]  # the embedding feeds a sum with the positions, no activation

    def _problems(self) -> list[str]:
        problems = (
            b.positive("d_model", self.d_model)
            + b.positive("heads", self.heads)
            + b.positive("layers", self.layers)
            + b.choice("positions", self.positions, POSITIONS)
            + b.flag("causal", self.causal)
            + b.activation(self.activation)
            + b.choice("readout", self.readout, b.SEQUENCE_READOUTS)
            + b.fraction("dropout", self.dropout)
        )
        if not problems and self.d_model % self.heads:
            problems.append(
                f"model.heads: {self.heads} heads do not divide model.d_model {self.d_model}; each head "
                f"takes d_model / heads dims. Use heads in {_divisors(self.d_model)}, or change d_model"
            )
        if len(self.input_shape) != 2:
            problems.append(
                f"model.type: transformer reads sequences, one sample of shape (length, features); this data "
                f"gives {self.input_shape}. Use it on a forecast task, or use mlp for rows"
            )
        return problems


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, min(n, 16) + 1) if n % d == 0]


def encoder_stack(d_model: int, heads: int, layers: int, dropout: float, activation: str) -> nn.TransformerEncoder:
    """`layers` pre-norm encoder layers (feed-forward FF_RATIO x d_model) and a final LayerNorm."""
    layer = nn.TransformerEncoderLayer(
        d_model,
        heads,
        FF_RATIO * d_model,
        dropout,
        make_activation(activation),
        batch_first=True,
        norm_first=True,
    )
    # nested tensors only speed up padded batches, and pre-norm layers cannot use them (asking only warns)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
