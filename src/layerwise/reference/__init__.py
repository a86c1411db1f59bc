"""The guide's reference pages, generated from the code so they cannot drift from it.

    python -m layerwise.reference docs/reference

writes config.md (every key of ExperimentConfig, from the pydantic schema), cli.md (every
command and option, from the typer app), exit-codes.md (from errors.py) and metrics.md
(from the declared list in layerwise.evaluation.keys). The output is deterministic (no
dates, stable order), so tests/docs/test_reference.py can compare it with what is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import cli_page as cli_page
from .config import config_keys as config_keys
from .config import config_page as config_page
from .config import describe as describe
from .exit_codes import exit_codes_page as exit_codes_page
from .metrics import metrics_page as metrics_page

_BUILDERS = {"config.md": config_page, "cli.md": cli_page, "exit-codes.md": exit_codes_page, "metrics.md": metrics_page}
PAGES = tuple(_BUILDERS)


def pages() -> dict[str, str]:
    """File name -> Markdown text of every reference page."""
    return {name: build() for name, build in _BUILDERS.items()}


def write(folder: str | Path) -> list[Path]:
    """Write every page into `folder` (created if missing); returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m layerwise.reference FOLDER   (e.g. docs/reference)", file=sys.stderr)
        return 2
    for path in write(argv[0]):
        print(f"wrote {path}")
    return 0
