"""Figures without pyplot's global state: a fresh Agg figure in, an embeddable PNG out."""

from __future__ import annotations

import base64
import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

SIZE = (6.4, 3.6)  # inches; at DPI this is 704 x 396 px, sharp on a laptop, scaled down on a phone
DPI = 110


def new_axes(ax: Axes | None = None, *, size: tuple[float, float] = SIZE) -> Axes:
    """`ax` itself, or the axes of a new figure laid out by matplotlib's constrained layout."""
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").add_subplot()


def png_data_uri(figure: Figure | SubFigure) -> str:
    """The figure as a `data:image/png;base64,...` URI: the report needs no other file."""
    # the report's plots draw on figures of their own (new_axes), never on a subfigure, which cannot save
    assert isinstance(figure, Figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
