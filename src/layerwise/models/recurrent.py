"""Recurrent networks, LSTM and GRU, over a window (batch, lookback, features).

One recurrent layer per entry of `hidden`, so widths may differ between layers
(torch's `num_layers` needs one width for all). Dropout sits between layers and
before the head. `readout` turns the sequence of states into one vector: `last`
is each direction's final state (the forward pass's at the last step, the
backward pass's at the first), `mean` and `max` pool over the steps, and `steps`
keeps every step's output (next-token generation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from . import block as b
from .registry import register


class _Recurrent(b.Block):
    cell: ClassVar[type[nn.LSTM] | type[nn.GRU]]
    defaults = {"hidden": [64], "bidirectional": False, "readout": "last", "dropout": 0.0}

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        hidden: Sequence[int] = (64,),
        bidirectional: bool = False,
        readout: str = "last",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.hidden = list(hidden) if isinstance(hidden, (list, tuple)) else hidden
        self.bidirectional, self.readout = bidirectional, readout
        self.dropout = float(dropout) if isinstance(dropout, (int, float)) else dropout
        self._check(self.input_shape, output_dim)

        directions = 2 if bidirectional else 1
        width = self.input_shape[1]
        layers = []
        for h in self.hidden:
            layers.append(self.cell(width, h, batch_first=True, bidirectional=bidirectional))
            width = h * directions
        self.layers = nn.ModuleList(layers)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.head = nn.Linear(width, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = self.drop(x)
            x, _ = layer(x)  # (batch, lookback, hidden[i] * directions)
        if self.readout == "last":
            h = self.hidden[-1]
            # the forward direction ends at the last step; the backward one at the first
            x = torch.cat([x[:, -1, :h], x[:, 0, h:]], dim=1) if self.bidirectional else x[:, -1]
        elif self.readout == "mean":
            x = x.mean(1)
        elif self.readout == "max":
            x = x.amax(1)
        # (batch[, steps], hidden[-1] * directions) -> (batch[, steps], output_dim)
        return self.head(self.drop(x))

    def _problems(self) -> list[str]:
        problems = (
            b.widths("hidden", self.hidden, "[64]")
            + b.flag("bidirectional", self.bidirectional)
            + b.choice("readout", self.readout, b.SEQUENCE_READOUTS)
            + b.fraction("dropout", self.dropout)
        )
        if len(self.input_shape) != 2:
            problems.append(
                f"model.type: {self.block_type} reads sequences, one sample of shape (length, features); "
                f"this data gives {self.input_shape}. Use it on a forecast task, or use mlp for rows"
            )
        return problems


@register("lstm")
class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber 1997)."""

    cell = nn.LSTM


@register("gru")
class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al. 2014)."""

    cell = nn.GRU
