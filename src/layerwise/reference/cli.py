"""cli.md: every command of the typer app, with its arguments and options."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from .config import type_name
from .text import GENERATED, cell


def cli_page() -> str:
    import typer

    from ..cli import app

    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)  # the app has several commands, so typer makes a group
    lines = [
        GENERATED,
        "",
        "# Command line",
        "",
        cell(root.help or "", table=False),
        "",
        "Every command exits 0 on success; see [exit codes](exit-codes.md) for the rest.",
        "",
    ]
    if root.params:
        lines += ["Options of `layerwise` itself, given before the command:", "", *_params_table(root.params), ""]
    context = _click_context(root)
    for name in root.list_commands(context):
        command = root.get_command(context, name)
        if command is None or command.hidden:
            continue
        lines += [
            f"## layerwise {name}",
            "",
            f"```text\n{_usage(name, command)}\n```",
            "",
            cell(command.help or "", table=False),
            "",
        ]
        if command.params:
            lines += [*_params_table(command.params), ""]
    return "\n".join(lines)


def _click_context(root: Any) -> Any:
    # typer bundles its own click; build the context from the command's own module.
    context_class = root.context_class
    return context_class(root, info_name="layerwise")


def _usage(name: str, command: Any) -> str:
    arguments = [
        (p.name or "").upper() if p.required else f"[{(p.name or '').upper()}]"
        for p in command.params
        if p.param_type_name == "argument"
    ]
    options = " [OPTIONS]" if any(p.param_type_name == "option" for p in command.params) else ""
    return " ".join(["layerwise", name + options, *arguments])


def _params_table(params: list[Any]) -> list[str]:
    rows = ["| argument or option | type | default | description |", "|---|---|---|---|"]
    for param in params:
        if getattr(param, "hidden", False):
            continue
        rows.append(
            f"| {_param_name(param)} | {cell(_param_type(param))} | {cell(_param_default(param))} "
            f"| {cell(getattr(param, 'help', None) or '')} |"
        )
    return rows


def _param_name(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"`{(param.name or '').upper()}`"
    return ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])


def _param_type(param: Any) -> str:
    annotation: Any = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if annotation is None:  # plain click: its ParamType's name
        annotation = getattr(getattr(param, "type", None), "name", "text")
    name = {Path: "path", str: "text", int: "integer", float: "number", bool: "flag"}.get(annotation)
    if name is None and typing.get_origin(annotation) is list:
        inner = typing.get_args(annotation)[0]
        name = {Path: "path", str: "text", int: "integer", float: "number"}.get(inner, type_name(inner))
    name = name or type_name(annotation)
    if param.multiple:
        name += ", repeatable"
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        name += f", {low if low is not None else ''}..{high if high is not None else ''}"
    return name


def _param_default(param: Any) -> str:
    if param.required:
        return "required"
    default = param.default
    if default is None or (param.multiple and not default):
        return ""
    if isinstance(default, bool):
        return "off" if default is False else "on"
    return f"`{default}`"
