"""write_report: a run folder in, RUN_DIR/report.html out, atomically."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_text
from .page import render
from .run import RunRecord


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Render the report of the run in `folder` to `out` (default `folder/report.html`)."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder / "report.html"
    write_text(out, render(RunRecord.read(folder)))
    return out
