"""config.md: every key of ExperimentConfig, its type, default and description."""

from __future__ import annotations

import functools
import inspect
import io
import re
import tokenize
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .text import GENERATED, cell, summary


def config_keys(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo, type[BaseModel] | None]]:
    """(dotted path, field, section model or None) for every key, depth first in declaration order."""
    for path, field, section, _owner, _name in _config_entries(model):
        yield path, field, section


def describe(model: type[BaseModel], name: str) -> str:
    """A field's description: `Field(description=...)` if given, else its `#` comment in the source.

    config.py documents keys with comments above a field (or after it on the same line);
    pydantic does not see comments, so they are read here with `tokenize`, which tells a
    comment from a `#` inside a string.
    """
    field = model.model_fields[name]
    if field.description:
        return field.description
    return _source_comments(model).get(name, "")


@functools.cache  # inspect parses the whole module to find a class: once per section
def _source_comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the comment block right above its line, or else the comment ending it."""
    try:
        lines, _ = inspect.getsourcelines(model)
    except (OSError, TypeError):  # no source (a frozen install): only schema descriptions remain
        return {}
    comments: dict[int, str] = {}  # 0-based line in `lines` -> comment text
    alone: set[int] = set()  # lines holding only a comment
    for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
        if token.type == tokenize.COMMENT:
            row = token.start[0] - 1
            comments[row] = token.string.lstrip("#").strip()
            if not lines[row][: token.start[1]].strip():
                alone.add(row)
    # The body's indentation, from its first line (a docstring's indented example must not count).
    body = next((line for line in lines[1:] if line.strip()), "")
    indent = body[: len(body) - len(body.lstrip())]
    found: dict[str, str] = {}
    for row, line in enumerate(lines):
        match = re.match(r"^(\s+)(\w+)\s*:", line)
        if not match or match.group(1) != indent or row in alone:
            continue
        above: list[str] = []
        up = row - 1
        while up in alone and lines[up].startswith(indent) and not lines[up].startswith(indent + " "):
            above.insert(0, comments[up])
            up -= 1
        text = " ".join(above) or (comments.get(row, "") if row not in alone else "")
        found.setdefault(match.group(2), text)
    return found


def config_page() -> str:
    from ..config.schema import MAX_ALIAS_VALUES, MAX_DEPTH, ExperimentConfig

    lines = [
        GENERATED,
        "",
        "# Configuration keys",
        "",
        "Every key of an experiment file, as the dotted path that `--set`, YAML and tuning",
        "search spaces all use. A section marked *optional* is absent (null) unless set;",
        "`data.target` is the only key most experiments must set. Numbers must be finite",
        "(`.inf` and `.nan` are refused). The file is read with `yaml.safe_load` (no Python",
        f"tags); anchors and aliases may add at most {MAX_ALIAS_VALUES:,} values to what is written",
        f"out, and values nest at most {MAX_DEPTH} levels deep.",
        "",
    ]
    rows: dict[str, list[str]] = {}
    for path, field, section, owner, name in _config_entries(ExperimentConfig):
        top = path.split(".")[0]
        if section is not None and "." not in path:
            continue  # a top-level section is the heading of its own table
        rows.setdefault(top, []).append(_config_row(path, field, section, describe(owner, name)))
    for name, field in ExperimentConfig.model_fields.items():
        lines += [f"## {name}", ""]
        description = describe(ExperimentConfig, name) or summary(_section_of(field.annotation))
        if description:
            lines += [cell(description, table=False), ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|", *rows.get(name, []), ""]
    return "\n".join(lines)


def _config_entries(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[Any, ...]]:
    """config_keys with the owning section and the field's Python name, for `describe`."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"  # the YAML spelling: model.init.from, not from_
        section = _section_of(field.annotation)
        yield path, field, section, model, name
        if section is not None:
            yield from _config_entries(section, prefix=f"{path}.")


def _config_row(path: str, field: FieldInfo, section: type[BaseModel] | None, description: str) -> str:
    kind = type_name(field.annotation)
    if section is not None:  # `Section`, `Section | None`, or a name or a mapping (model.init)
        others = [a for a in typing.get_args(field.annotation) if _section_of(a) is None and a is not type(None)]
        kind = " | ".join([*(type_name(a) for a in others), "section"])
        kind += ", optional" if _is_optional(field.annotation) else ""
    bounds = _bounds(field.metadata)
    if bounds:
        kind += f", {bounds}"
    if section is not None:  # the field's comment and the section's docstring; a sentence leads
        parts = [description, summary(section)] if description[:1].isupper() else [summary(section), description]
        description = " ".join(x for x in parts if x)
    return f"| `{path}` | {cell(kind)} | {cell(_default(field, section))} | {cell(description or '')} |"


def _section_of(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside `annotation` (`Section`, `Section | None`, `Section | str`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is typing.Annotated:  # model.init: Annotated[Section, Tag(...)]
        return _section_of(typing.get_args(annotation)[0])
    for arg in typing.get_args(annotation) if _is_union(annotation) else ():
        section = _section_of(arg)
        if section is not None:
            return section
    return None


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_optional(annotation: Any) -> bool:
    return _is_union(annotation) and type(None) in typing.get_args(annotation)


def type_name(annotation: Any) -> str:
    """A short reader's name: `"a" | "b"`, `list[int]`, `float | null`."""
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "any"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if _is_union(annotation):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Annotated:  # PositiveInt: int with its bound
        bounds = _bounds(args[1:])
        return f"{type_name(args[0])} ({bounds})" if bounds else type_name(args[0])
    if origin in (list, dict, tuple, set):
        return f"{origin.__name__}[{', '.join(type_name(a) for a in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _bounds(metadata: Any) -> str:
    """The numeric and length constraints, e.g. `> 0, < 1`, `length 2`."""
    marks, low, high = [], None, None
    for meta in metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(meta, attr, None)
            if value is not None:
                marks.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value}")
        low = getattr(meta, "min_length", low)
        high = getattr(meta, "max_length", high)
    if low is not None and low == high:
        marks.append(f"length {low}")
    elif low is not None or high is not None:
        marks.append(f"length {low or 0}..{high if high is not None else ''}")
    return ", ".join(marks)


def _default(field: FieldInfo, section: type[BaseModel] | None) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.get_default(call_default_factory=True)  # our factories take no arguments
        return "(its keys below)" if isinstance(value, BaseModel) else f"`{_literal(value)}`"
    if section is not None and field.default is None:
        return "`null` (absent)"
    return f"`{_literal(field.default)}`" if field.default is not PydanticUndefined else ""


def _literal(value: Any) -> str:
    """A value as it is written in YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # quoted only where YAML would read something else
        try:
            plain = bool(value) and yaml.safe_load(value) == value
        except yaml.YAMLError:
            plain = False
        return value if plain else f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    return str(value)
