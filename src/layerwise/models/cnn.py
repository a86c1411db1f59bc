"""Convolutional networks: 1-D over series and sequences, 2-D over images.

Both are a stack of stages, conv -> norm -> activation -> pool, one stage per
entry of `channels`; then global pooling over what is left of the time axis or
the image (`readout`), dropout, and a Linear head. With `residual`, each stage is
a ResNet basic block (He et al. 2016): conv-norm-act-conv-norm plus a skip path
(a 1x1 conv where the channel count changes), then the activation.
Convs use 'same' padding, so only pooling shrinks the input: by half per stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from . import block as b
from .activations import make_activation
from .registry import register

POOLS = ("max", "avg", "none")
CNN_READOUTS = ("mean", "max")


class _CNN(b.Block):
    dims: ClassVar[int]  # 1 or 2 spatial dims
    defaults = {
        "channels": [32, 64],
        "kernel_size": 3,
        "activation": "relu",
        "norm": "batch",
        "pool": "max",
        "residual": False,
        "readout": "mean",
        "dropout": 0.0,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        activation: str = "relu",
        norm: str = "batch",
        pool: str = "max",
        residual: bool = False,
        readout: str = "mean",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.channels = list(channels) if isinstance(channels, (list, tuple)) else channels
        self.kernel_size, self.activation, self.norm = kernel_size, activation, norm
        self.pool, self.residual, self.readout = pool, residual, readout
        self.dropout = float(dropout) if isinstance(dropout, (int, float)) else dropout
        self._check(self.input_shape, output_dim)

        width = self._in_channels()
        stages = []
        for c in self.channels:
            stages.append(ConvStage(self.dims, width, c, kernel_size, norm, activation, pool, residual))
            width = c
        self.stages = nn.Sequential(*stages)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.head = nn.Linear(width, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._channels_first(x)  # (batch, in_channels, *spatial)
        x = self.stages(x)  # (batch, channels[-1], *spatial / 2**stages)
        spatial = tuple(range(2, x.dim()))
        x = x.mean(spatial) if self.readout == "mean" else x.amax(spatial)  # (batch, channels[-1])
        return self.head(self.drop(x))  # (batch, output_dim)

    def _problems(self) -> list[str]:
        problems = (
            b.widths("channels", self.channels, "[32, 64]")
            + b.positive("kernel_size", self.kernel_size)
            + self._odd_kernel()
            + b.activation(self.activation)
            + b.choice("norm", self.norm, b.NORMS)
            + b.choice("pool", self.pool, POOLS)
            + b.flag("residual", self.residual)
            + b.choice("readout", self.readout, CNN_READOUTS)
            + b.fraction("dropout", self.dropout)
        )
        if len(self.input_shape) != self.dims + 1:
            return problems + [self._shape_problem()]
        if not problems and self.pool != "none":
            problems += self._pooling_problems()
        return problems

    def _odd_kernel(self) -> list[str]:
        if not b.is_int(self.kernel_size) or self.kernel_size % 2:
            return []
        # an even kernel would pad one side more than the other and shift the features
        return [
            f"model.kernel_size: {self.kernel_size} must be odd, so 'same' padding is symmetric; "
            f"use {self.kernel_size - 1} or {self.kernel_size + 1}"
        ]

    def _pooling_problems(self) -> list[str]:
        """Each stage halves every spatial dim (floor); none may fall below one."""
        spatial = self._spatial()
        size = list(spatial)
        for stage in range(1, len(self.channels) + 1):
            size = [s // 2 for s in size]
            if min(size) < 1:
                fits = stage - 1
                shown = "x".join(map(str, spatial)) if self.dims == 2 else f"length-{spatial[0]}"
                return [
                    f"model.channels: {len(self.channels)} stages with model.pool: {self.pool} halve the "
                    f"{shown} input below one {self._unit()} at stage {stage}; use at most {fits} "
                    f"stage{'s' if fits != 1 else ''}, or model.pool: none"
                ]
        return []

    # each subclass answers these for its layout: (lookback, features) or (channels, height, width)
    def _in_channels(self) -> int:
        raise NotImplementedError

    def _spatial(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _unit(self) -> str:
        raise NotImplementedError

    def _channels_first(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _shape_problem(self) -> str:
        raise NotImplementedError


@register("cnn1d")
class CNN1d(_CNN):
    """A 1-D CNN over a window (batch, lookback, features): features are the channels."""

    dims = 1
    defaults = {**_CNN.defaults, "channels": [32, 32]}
    example_input_shape = (8, 3)

    def _in_channels(self) -> int:
        return self.input_shape[1]

    def _spatial(self) -> tuple[int, ...]:
        return self.input_shape[:1]

    def _unit(self) -> str:
        return "step"

    def _channels_first(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)  # (batch, lookback, features) -> (batch, features, lookback)

    def _shape_problem(self) -> str:
        return (
            f"model.type: cnn1d reads sequences, one sample of shape (length, features); this data "
            f"gives {self.input_shape}. Use it on a forecast task, or use mlp for rows"
        )


@register("cnn2d")
class CNN2d(_CNN):
    """A 2-D CNN over images (batch, channels, height, width)."""

    dims = 2
    example_input_shape = (1, 8, 8)

    def _in_channels(self) -> int:
        return self.input_shape[0]

    def _spatial(self) -> tuple[int, ...]:
        return self.input_shape[1:]

    def _unit(self) -> str:
        return "pixel"

    def _channels_first(self, x: torch.Tensor) -> torch.Tensor:
        return x  # already (batch, channels, height, width)

    def _shape_problem(self) -> str:
        return (
            f"model.type: cnn2d reads images, one sample of shape (channels, height, width); this "
            f"data gives {self.input_shape}. Reshape grayscale images to (n, 1, height, width)"
        )


class ConvStage(nn.Module):
    """conv -> norm -> activation [ResNet: -> conv -> norm, + skip, -> activation] -> pool."""

    def __init__(
        self, dims: int, c_in: int, c_out: int, kernel: int, norm: str, activation: str, pool: str, residual: bool
    ):
        super().__init__()
        self.residual = residual
        layers = [*_conv_norm(dims, c_in, c_out, kernel, norm), make_activation(activation)]
        if residual:
            layers += _conv_norm(dims, c_out, c_out, kernel, norm)
            self.skip = nn.Sequential(*_conv_norm(dims, c_in, c_out, 1, norm)) if c_in != c_out else nn.Identity()
            self.act = make_activation(activation)  # after the sum
        self.body = nn.Sequential(*layers)
        pools = {"max": (nn.MaxPool1d, nn.MaxPool2d), "avg": (nn.AvgPool1d, nn.AvgPool2d)}
        self.pool = pools[pool][dims - 1](2) if pool in pools else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)  # (batch, c_out, *spatial), 'same' padding keeps the size
        if self.residual:
            y = self.act(y + self.skip(x))
        return self.pool(y)  # (batch, c_out, *spatial // 2) when pooling


def _conv_norm(dims: int, c_in: int, c_out: int, kernel: int, norm: str) -> list[nn.Module]:
    conv = (nn.Conv1d, nn.Conv2d)[dims - 1]
    # a norm layer's shift makes the conv's bias redundant
    layers: list[nn.Module] = [conv(c_in, c_out, kernel, padding="same", bias=norm == "none")]
    if norm == "batch":
        layers.append((nn.BatchNorm1d, nn.BatchNorm2d)[dims - 1](c_out))
    elif norm == "layer":
        layers.append(nn.GroupNorm(1, c_out))  # one group: LayerNorm over (channels, *spatial)
    return layers
