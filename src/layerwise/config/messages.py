"""How the schema speaks: one line per validation error (key path, what is wrong, a did-you-mean)
and values shown short enough for a message."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..errors import did_you_mean

# The tags of model.init's two forms (a scheme name, or a mapping); never part of a key path.
INIT_NAME, INIT_MAPPING = "init-name", "init-mapping"

# A value in a message is shown by its repr, cut short: reprlib walks only as much of a
# large structure as it shows.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 120, 60


def shorten(value: Any, limit: int = 200) -> str:
    """repr(value) for a message, at most `limit` characters."""
    return cut(_REPR.repr(value), limit)


def cut(text: str, limit: int = 200) -> str:
    """`text` for a message, at most `limit` characters (a key can be any string, megabytes long)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(error: Mapping[str, Any], raw: dict[str, Any], root: type[BaseModel]) -> str:
    """One line for one pydantic error met validating `root` (the schema): key path, what is wrong, and a
    did-you-mean."""
    loc = [str(p) for p in error["loc"] if p not in (INIT_NAME, INIT_MAPPING)]
    path = cut(".".join(loc)) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        known = known_keys(root, loc[:-1])
        return f"{path}: unknown key{did_you_mean(loc[-1], known)}"
    if kind == "missing":
        return f"{path}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    if not loc:  # a check across sections names its own key path
        return message
    given = error.get("input")
    if kind == "literal_error":
        choices = error.get("ctx", {}).get("expected", "")
        options = [c.strip().strip("'") for c in choices.replace(" or ", ", ").split(",")]
        text = str(given) if isinstance(given, (str, int, float)) else ""
        close = did_you_mean(text, options) if len(text) <= 200 else ""
        return f"{path}: {shorten(given)} is not one of {choices}{close}"
    if isinstance(given, (str, int, float, bool)) and kind not in ("value_error", "assertion_error"):
        return f"{path}: {message} (got {shorten(given)})"
    return f"{path}: {message}"


def known_keys(root: type[BaseModel], loc: list[str]) -> list[str]:
    """The field names of the section of `root` at `loc`, for did-you-mean on unknown keys."""
    model = root
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
