"""The PNG plots `explain` writes beside its CSVs, one file per display."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure, SubFigure

from ..atomic import write_bytes
from .displays import ImportanceDisplay
from .explanation import Explanation

DPI = 110


def figures(explanation: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
    """(file name, caption, figure) for every plot of this explanation."""
    e = explanation
    out: list[tuple[str, str, Figure | SubFigure]] = []
    if not e.importance.empty:
        out.append(("importance.png", "Global importance", ImportanceDisplay.from_importance(e.importance).figure_))
    if e.attributions is None or not len(e.rows):
        return out
    out.extend(e.layout.figures(e))
    return out


def write_plots(explanation: Explanation, folder: Path) -> list[Path]:
    import io

    written = []
    for name, _, figure in figures(explanation):
        # the displays here draw on figures of their own (no axes given), never on a subfigure
        assert isinstance(figure, Figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
        write_bytes(folder / name, buffer.getvalue())
        written.append(folder / name)
    return written
