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

from ..errors import ConfigError, did_you_mean

_BLOCKS: dict[str, type] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make the block available as `model.type: <name>`."""

    def add(cls: type) -> type:
        for method in ("from_config", "get_config"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"block {cls.__name__} needs a {method} method to be registered")
        if name in _BLOCKS and _BLOCKS[name] is not cls:
            raise ValueError(f"model type {name!r} is already registered by {_BLOCKS[name].__name__}")
        _BLOCKS[name] = cls
        cls.block_type = name
        return cls

    return add


def available() -> list[str]:
    """The registered model types, sorted."""
    return sorted(_BLOCKS)


def get(name: str) -> type:
    """The block class registered as `name`; ConfigError naming `model.type` otherwise."""
    try:
        return _BLOCKS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"model.type: unknown model type {name!r}{did_you_mean(name, _BLOCKS)}; "
            f"choose one of {', '.join(available())}"
        ) from None
