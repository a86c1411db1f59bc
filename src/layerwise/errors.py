"""The errors a user can cause, each with the exit code the CLI returns for it.

Exit codes (documented in the README):
    0  success
    1  anything else (a bug, an interrupted run)
    2  usage or configuration error  (ConfigError, UsageError)
    3  data error: a file or value in the user's data or bundle  (DataError, BundleError)
    4  the deploy gate says DO NOT DEPLOY  (`layerwise run --gate`, `layerwise evaluate --gate`);
       not an error: the run folder and metrics.json are written, with "verdict" and "reasons"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

GATE_FAILED = 4


class LayerwiseError(Exception):
    """An error the user can fix; its message names what is at fault and how to fix it."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


class ConfigError(LayerwiseError):
    """The configuration is invalid; `problems` lists every one, each with its key path."""

    exit_code = 2

    def __init__(self, problems: list[str] | str, *, hint: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = f"invalid configuration: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"invalid configuration ({len(self.problems)} problems):\n{lines}"
        super().__init__(message, hint=hint)


class UsageError(LayerwiseError):
    """The command line was used wrongly."""

    exit_code = 2


class DataError(LayerwiseError):
    """The data cannot be used as it is: names the file, row or column at fault."""

    exit_code = 3


class BundleError(LayerwiseError):
    """A model bundle is missing, corrupt, or does not match its manifest."""

    exit_code = 3


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class MissingExtra(UsageError):
    """An optional feature's package is not installed: the hint names the `pip install "layerwise[x]"` to run."""

    def __init__(self, message: str, *, extra: str, module: str | None, hint: str):
        self.extra = extra
        self.module = module
        super().__init__(message, hint=hint)


# -- optional extras ---------------------------------------------------------------------
# The optional features and the pip extra that installs each (pyproject.toml's optional-dependencies).
#
# `pip install layerwise` is the core: data -> train -> tune -> evaluate (report.html with its
# plots) -> bundle -> predict. Everything else is opt-in, so a user who only trains does not
# carry a web server, an ONNX toolchain or a database driver. Where layerwise imports an
# optional package it does so inside `needs_extra`, so a missing one is one UsageError naming
# the command to run, never a ModuleNotFoundError from deep inside.


@dataclass(frozen=True)
class Extra:
    """What an extra is for, and a note added to its install hint."""

    purpose: str
    note: str = ""


EXTRAS = {
    "serve": Extra("`layerwise serve` (the REST API)"),
    "onnx": Extra("ONNX export and `layerwise.onnx_predict`"),
    "explain": Extra("attributions (`layerwise explain`, evaluate.explain)"),
    "tune-postgres": Extra(
        "a study stored in PostgreSQL (postgresql:// storage)",
        note='or "layerwise[tune-postgres-binary]" where the system has no libpq',
    ),
    "images": Extra("reading image files and torchvision models (model.type: backbone)"),
    "tensorboard": Extra("train.tensorboard (TensorBoard event files)"),
    "text": Extra("text columns (Hugging Face tokenizers)"),
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
        raise MissingExtra(
            f"{extra.purpose} needs the optional extra [{name}]: {why}", extra=name, module=module, hint=hint
        ) from None
