"""Position information for attention, which by itself cannot tell the steps apart."""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalPositions(nn.Module):
    table: torch.Tensor  # a buffer, (length, d_model)
    """Fixed sines and cosines of geometric wavelengths (Vaswani et al. 2017, section 3.5).

    Computed, not learned, so it holds no parameters and stays out of the state_dict.
    """

    def __init__(self, length: int, d_model: int):
        super().__init__()
        position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (length, 1)
        rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        table = torch.zeros(length, d_model)
        table[:, 0::2] = torch.sin(position * rate)
        table[:, 1::2] = torch.cos(position * rate[: d_model // 2])  # odd d_model: one fewer cosine
        self.register_buffer("table", table, persistent=False)  # (length, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]  # (batch, length, d_model)


class LearnedPositions(nn.Module):
    """One learned vector per step, as in BERT and GPT-2."""

    def __init__(self, length: int, d_model: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(length, d_model))  # (length, d_model)
        nn.init.normal_(self.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]  # (batch, length, d_model)


POSITIONS = {"sinusoidal": SinusoidalPositions, "learned": LearnedPositions}
