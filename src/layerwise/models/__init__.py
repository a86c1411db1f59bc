"""Step 2 and 4: model blocks by name, built from a config, with chosen initial weights."""

from .block import Block as Block
from .blocks import GRU as GRU
from .blocks import LSTM as LSTM
from .blocks import MLP as MLP
from .blocks import CNN1d as CNN1d
from .blocks import CNN2d as CNN2d
from .blocks import Tabular as Tabular
from .blocks import Transformer as Transformer
from .build import build as build
from .init import initialize as initialize
from .registry import available as available
from .registry import get as get
from .registry import register as register
from .transfer import TransferReport as TransferReport
from .transfer import load_pretrained as load_pretrained

__all__ = [
    "Block",
    "CNN1d",
    "CNN2d",
    "GRU",
    "LSTM",
    "MLP",
    "Tabular",
    "Transformer",
    "TransferReport",
    "available",
    "build",
    "get",
    "initialize",
    "load_pretrained",
    "register",
]
