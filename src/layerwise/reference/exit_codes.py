"""exit-codes.md: the codes errors.py documents and the error kinds that return them."""

from __future__ import annotations

import inspect
import re

from .text import GENERATED, cell, summary


def exit_codes_page() -> str:
    from .. import errors
    from ..training.signals import Interrupted

    lines = [
        GENERATED,
        "",
        "# Exit codes",
        "",
        "What `layerwise` returns to the shell, so scripts and CI can branch on it.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| {code} | {cell(meaning)} |" for code, meaning in exit_codes(errors.__doc__ or "")]
    lines += [
        "",
        "## Error kinds",
        "",
        "Every error a user can cause is one of these: its message names the file, row,",
        "column or key at fault, and a `hint:` line says what would fix it.",
        "",
        "| error | exit code | when |",
        "|---|---|---|",
    ]
    kinds = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.LayerwiseError) and c.__module__ == errors.__name__
    ]
    for kind in sorted(kinds, key=lambda c: (c is not errors.LayerwiseError, c.exit_code, c.__name__)):
        lines.append(f"| `{kind.__name__}` | {kind.exit_code} | {cell(summary(kind))} |")
    lines.append(
        f"| `{Interrupted.__name__}` | 128 + signal (130 on Ctrl-C, 143 on SIGTERM) | {cell(summary(Interrupted))} |"
    )
    return "\n".join(lines) + "\n"


def exit_codes(doc: str) -> list[tuple[int, str]]:
    """The `code  meaning` table of errors.py's docstring, continuation lines joined."""
    table: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^\s+(\d+)\s{2,}(.+)$", line)
        if match:
            table.append((int(match.group(1)), match.group(2).strip()))
        elif table and line.startswith("       ") and line.strip():
            code, meaning = table[-1]
            table[-1] = (code, f"{meaning} {line.strip()}")
    return table
