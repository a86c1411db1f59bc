"""Names for model blocks, so a YAML `model.type: mlp` resolves to a class.

A block is an `nn.Module` class with two extra methods, which is all the registry
asks of it (the Keras `get_config`/`from_config` contract):

    @classmethod
    def from_config(cls, cfg: dict, input_shape: tuple[int, ...], output_dim: int) -> nn.Module
    def get_config(self) -> dict        # a plain, JSON-ready dict that from_config accepts

`input_shape` is the shape of one sample, without the batch dim. Subclassing
`layerwise.models.Block` (block.py) gives both methods from a `defaults` table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

from ..errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from torch import nn


class BlockClass(Protocol):
    """A registered block class, as the registry and `build` use it (the contract above)."""

    __name__: str
    block_type: str  # set by @register; a block's get_config writes it as `type`

    def from_config(self, cfg: dict, input_shape: tuple[int, ...], output_dim: int) -> nn.Module: ...


_C = TypeVar("_C", bound=type)

_BLOCKS: dict[str, BlockClass] = {}


def register(name: str) -> Callable[[_C], _C]:
    """Class decorator: make the block available as `model.type: <name>`."""

    def add(cls: _C) -> _C:
        for method in ("from_config", "get_config"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"block {cls.__name__} needs a {method} method to be registered")
        if name in _BLOCKS and _BLOCKS[name] is not cls:
            raise ValueError(f"model type {name!r} is already registered by {_BLOCKS[name].__name__}")
        block = cast(BlockClass, cls)  # the loop above checked what BlockClass asks
        block.block_type = name
        _BLOCKS[name] = block
        return cls

    return add


def unregister(name: str) -> None:
    """Forget the block registered as `name` (a test's or a notebook's throwaway block)."""
    _BLOCKS.pop(name, None)


def available() -> list[str]:
    """The registered model types, sorted."""
    return sorted(_BLOCKS)


def get(name: str) -> BlockClass:
    """The block class registered as `name`; ConfigError naming `model.type` otherwise."""
    try:
        return _BLOCKS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"model.type: unknown model type {name!r}{did_you_mean(name, _BLOCKS)}; "
            f"choose one of {', '.join(available())}"
        ) from None
