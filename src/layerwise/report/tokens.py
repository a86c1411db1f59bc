"""The Explanations section's part for a table with text columns: a few explained rows with each
token's background coloured by its attribution, and the tokens that matter most overall.

Every text comes from the data, so every character of it is escaped; a token's colour is the
only markup, and the title (hover) says its attribution. Blue pushes the explained output up,
red down; the stronger the colour, the larger |attribution| against the row's largest.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from .sections import html_table

if TYPE_CHECKING:
    from ..explain.explanation import Explanation

SHOWN_ROWS = 5  # explained rows shown with their tokens highlighted
TOP = 15  # tokens in the table of the most important ones
AFTER = 200  # characters of a text shown after its last token; the rest is cut
UP, DOWN = (31, 119, 180), (214, 39, 40)


def tokens_part(e: Explanation) -> str:
    """The highlighted rows and the top tokens' table; empty for an explanation without tokens."""
    if e.tokens is None or e.tokens.empty or e.texts is None:
        return ""
    by_row: dict[Any, pd.DataFrame] = dict(tuple(e.tokens.groupby("row", sort=False)))
    shown = [i for i, label in enumerate(e.rows) if label in by_row][:SHOWN_ROWS]
    items = []
    for i in shown:
        tokens = by_row[e.rows[i]]
        scale = float(tokens["attribution"].abs().max()) or 1.0
        prediction = f" (prediction {escape(str(e.predictions[i]))})" if e.predictions else ""
        texts = "".join(
            f"<p><strong>{escape(str(column))}</strong>: {highlighted(e.texts[i].get(str(column)), part, scale)}</p>"
            for column, part in tokens.groupby("column", sort=False)
        )
        items.append(f"<li><p>row {escape(str(e.rows[i]))}{prediction}</p>{texts}</li>")
    top = e.token_importance(TOP)
    table = html_table(
        [("column", "token", "mean |attribution|", "mean attribution", "occurrences")]
        + [
            (r["column"], r["token"], _num(r["importance"]), _num(r["mean"]), int(r["count"]))
            for r in top.to_dict("records")
        ]
    )
    return (
        "<h3>Tokens</h3><p>Each token's background: blue pushes the output up, red down; the stronger, "
        f"the larger its share of the row's largest attribution. The first {len(shown)} explained rows:</p>"
        f'<ol class="tokens">{"".join(items)}</ol>'
        f"<h3>Tokens that matter most</h3><p>Mean |attribution| of each token over its occurrences in the "
        f"{len(e.rows):,} explained rows (tokens.csv has every one).</p>{table}"
    )


def highlighted(text: Any, tokens: pd.DataFrame, scale: float) -> str:
    """`text` escaped, each token's characters (its start and end offsets) in a coloured span."""
    if not isinstance(text, str):
        return "<em>(no text)</em>"
    out, at = [], 0
    for t in tokens.sort_values("start", kind="stable").to_dict("records"):
        start, end = int(t["start"]), int(t["end"])
        if start < at:  # offsets never overlap; if they did, the earlier token keeps its characters
            continue
        value = float(t["attribution"])
        red, green, blue = UP if value >= 0 else DOWN
        alpha = min(1.0, abs(value) / scale) * 0.85
        out.append(escape(text[at:start]))
        out.append(
            f'<span style="background: rgba({red}, {green}, {blue}, {alpha:.2f})" '
            f'title="{escape(str(t["token"]))}: {value:+.4g}">{escape(text[start:end])}</span>'
        )
        at = end
    rest = text[at : at + AFTER]
    cut = len(text) > at + AFTER
    return "".join(out) + escape(rest) + ("<span class='note'> … (cut)</span>" if cut else "")


def _num(x: float) -> str:
    return f"{x:+.4g}" if math.isfinite(x) else "n/a"
