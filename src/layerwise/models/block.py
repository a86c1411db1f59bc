"""The block contract in one base class: named settings with defaults, checked all at
once, to a plain dict and back (Keras `get_config`/`from_config`).

A subclass lists every setting it takes in `defaults`, stores each under the same
attribute name, and returns its problems from `_problems()`; the constructor calls
`self._check()` before building any layer, so a bad spec fails before any work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, cast

import torch
from torch import nn

from ..errors import ConfigError, did_you_mean
from .activations import check_activation

NORMS = ("none", "batch", "layer")
READOUTS = ("last", "mean", "max")
# Sequence blocks may also keep every step, (batch, steps, output_dim): next-token generation.
SEQUENCE_READOUTS = (*READOUTS, "steps")


class Block(nn.Module):
    """A model body ending in a Linear `head` of width `output_dim` (raw scores)."""

    defaults: ClassVar[dict[str, Any]] = {}
    # a table's rows with embedded categories (data.encode auto embeds past max_onehot; the run sets
    # model.inputs to the Preprocessor's table_layout)
    reads_table: ClassVar[bool] = False
    # one sample's shape for the conformance harness: a window (lookback, features)
    example_input_shape: ClassVar[tuple[int, ...]] = (6, 3)
    block_type: ClassVar[str]  # set by @register

    @classmethod
    def from_config(cls, cfg: dict, input_shape: Sequence[int], output_dim: int) -> Block:
        """Build from a model section; unset (None or missing) keys take `defaults`."""
        problems = check_keys(cfg, cls)
        settings = {k: cfg[k] if cfg.get(k) is not None else v for k, v in cls.defaults.items()}
        try:
            block = cls(input_shape, output_dim=output_dim, **settings)
        except ConfigError as error:  # report the unknown keys and the bad values together
            raise ConfigError(problems + error.problems) from None
        if problems:
            raise ConfigError(problems)
        return block

    def get_config(self) -> dict:
        """The model section that rebuilds this architecture (shapes are passed apart)."""
        return {"type": self.block_type, **{k: _plain(getattr(self, k)) for k in self.defaults}}

    def fit_data(self, x: torch.Tensor) -> None:
        """Data-dependent initialization from the training split's inputs `x` (n, *input_shape),
        after `build` and before any transferred weights are loaded; a no-op unless a block needs
        one (tabular: the piecewise embedding's bins)."""

    def linear_layers(self) -> list[nn.Module]:
        """Layers whose output no nonlinearity follows; initialization gives them gain 1."""
        return [cast(nn.Module, self.head)]  # a submodule, or MLP's property; never a tensor

    def _check(self, input_shape: Sequence[int], output_dim: int) -> None:
        problems = check_shape(input_shape) + check_output_dim(output_dim) + self._problems()
        if problems:
            raise ConfigError(problems)

    def _problems(self) -> list[str]:
        return []


def check_keys(cfg: dict, cls: type[Block]) -> list[str]:
    """Problems for keys `cls` does not take; keys set to None count as absent, so one
    flat model section can carry the settings of several block types unset."""
    allowed = set(cls.defaults) | {"type", "init"}
    takes = ", ".join(cls.defaults) or "no settings"
    return [
        f"model.{key}: not a setting of model type '{cls.block_type}'{did_you_mean(key, allowed)}; it takes {takes}"
        for key, value in cfg.items()
        if key not in allowed and value is not None
    ]


def check_shape(shape: Sequence[int]) -> list[str]:
    if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
        return [f"model input shape {tuple(shape)} must be positive sizes"]
    return []


def check_output_dim(output_dim: Any) -> list[str]:
    if not is_int(output_dim) or output_dim < 1:
        return [f"model output_dim {output_dim!r} must be a positive int"]
    return []


def widths(key: str, value: Any, example: str, *, allow_empty: bool = False) -> list[str]:
    """Problems with a list of layer widths (hidden sizes, channels)."""
    ok = isinstance(value, (list, tuple)) and all(is_int(v) and v >= 1 for v in value)
    if ok and (value or allow_empty):
        return []
    return [f"model.{key}: {value!r} must be a list of positive widths, e.g. {example}"]


def positive(key: str, value: Any) -> list[str]:
    return [] if is_int(value) and value >= 1 else [f"model.{key}: {value!r} must be a positive int"]


def fraction(key: str, value: Any) -> list[str]:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < 1.0
    return [] if ok else [f"model.{key}: {value!r} must be in [0, 1)"]


def flag(key: str, value: Any) -> list[str]:
    return [] if isinstance(value, bool) else [f"model.{key}: {value!r} must be true or false"]


def choice(key: str, value: Any, choices: Iterable[str]) -> list[str]:
    choices = tuple(choices)
    if value in choices:
        return []
    return [
        f"model.{key}: unknown {key} {value!r}{did_you_mean(str(value), choices)}; choose one of {', '.join(choices)}"
    ]


def activation(value: Any) -> list[str]:
    return check_activation(value) if isinstance(value, str) else [f"model.activation: {value!r} must be a name"]


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _plain(value: Any) -> Any:
    """JSON-ready: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
