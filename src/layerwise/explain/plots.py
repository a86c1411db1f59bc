"""The PNG plots `explain` writes beside its CSVs, one file per display."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure, SubFigure

from ..atomic import write_bytes
from .displays import (
    AttributionDisplay,
    ImageAttributionDisplay,
    ImportanceDisplay,
    SeriesAttributionDisplay,
    TextAttributionDisplay,
)
from .explanation import Explanation

DPI = 110
# Per-prediction plots for the first few explained rows; the CSV has them all.
SHOWN = 3


def figures(explanation: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
    """(file name, caption, figure) for every plot of this explanation."""
    e = explanation
    out: list[tuple[str, str, Figure | SubFigure]] = []
    if not e.importance.empty:
        out.append(("importance.png", "Global importance", ImportanceDisplay.from_importance(e.importance).figure_))
    if e.attributions is None or not len(e.rows):
        return out
    if e.kind == "tabular":
        for i in range(min(SHOWN, len(e.rows))):
            out.append(
                (f"row-{e.rows[i]}.png", f"Why row {e.rows[i]}", AttributionDisplay.from_explanation(e, i).figure_)
            )
    elif e.kind == "series":
        out.append(
            (
                "steps.png",
                "Time step × feature, mean |attribution|",
                SeriesAttributionDisplay.from_explanation(e).figure_,
            )
        )
        out.append(
            (
                f"row-{e.rows[0]}.png",
                f"Why the forecast from row {e.rows[0]}",
                SeriesAttributionDisplay.from_explanation(e, 0).figure_,
            )
        )
    elif e.kind == "text":
        out.append(
            (
                "prompts.png",
                "Why the next character: each prompt character coloured by its attribution",
                TextAttributionDisplay.from_explanation(e).figure_,
            )
        )
    else:
        out.append(
            ("images.png", "Attribution heatmaps over the images", ImageAttributionDisplay.from_explanation(e).figure_)
        )
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
