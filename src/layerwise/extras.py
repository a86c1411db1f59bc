"""The optional features and the pip extra that installs each (pyproject.toml's optional-dependencies).

`pip install layerwise` is the core: data -> train -> tune -> evaluate (report.html with its
plots) -> bundle -> predict. Everything else is opt-in, so a user who only trains does not
carry a web server, an ONNX toolchain or a database driver. Where layerwise imports an
optional package it does so inside `needs_extra`, so a missing one is one UsageError naming
the command to run, never a ModuleNotFoundError from deep inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import MissingExtra


@dataclass(frozen=True)
class Extra:
    """What an extra is for, and a note added to its install hint."""

    purpose: str
    note: str = ""


EXTRAS = {
    "serve": Extra("`layerwise serve` (the REST API)"),
    "onnx": Extra("ONNX export and `layerwise.onnx_predict`"),
    "explain": Extra("attributions (`layerwise explain`, evaluate.explain)"),
    "tune-postgres": Extra("a study stored in PostgreSQL (postgresql:// storage)",
                           note='or "layerwise[tune-postgres-binary]" where the system has no libpq'),
    "images": Extra("reading image files"),
    "tensorboard": Extra("train.tensorboard (TensorBoard event files)"),
}


@contextmanager
def needs_extra(name: str, *, instead: str = "") -> Iterator[None]:
    """Run the imports of extra `name` inside; if one fails, raise MissingExtra naming the pip command.

    Only the extra's own imports go inside the block: any ImportError there means the extra
    is not (or not wholly) installed. `instead` says how to do without it (e.g. a config key to unset).
    """
    extra = EXTRAS[name]
    try:
        yield
    except ImportError as err:
        module = err.name.partition(".")[0] if err.name else None
        why = f"the module '{module}' is not installed" if module else str(err).strip().splitlines()[0]
        hint = f'pip install "layerwise[{name}]"'
        hint += "".join(f"; {text}" for text in (extra.note, instead) if text)
        raise MissingExtra(f"{extra.purpose} needs the optional extra [{name}]: {why}",
                           extra=name, module=module, hint=hint) from None
