"""Step 2 and 4: model blocks by name, built from a config, with chosen initial weights."""

from .blocks import MLP as MLP
from .build import build as build
from .init import initialize as initialize
from .registry import available as available
from .registry import get as get
from .registry import register as register

__all__ = ["MLP", "available", "build", "get", "initialize", "register"]
