"""write_report: a run folder in, RUN_DIR/report.html out, atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..atomic import write_text
from .page import render
from .run import RunRecord


def write_report(
    folder: str | Path, out: str | Path | None = None, *, architecture: list[dict[str, Any]] | None = None
) -> Path:
    """Render the report of the run in `folder` to `out` (default `folder/report.html`). `architecture`:
    the model's layers (models.summary), where the caller has them; else the model is rebuilt (torch)."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder / "report.html"
    record = RunRecord.read(folder)
    record.architecture = architecture
    write_text(out, render(record))
    return out
