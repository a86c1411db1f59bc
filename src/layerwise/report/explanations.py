"""The report's Explanations section: shown when RUN_DIR/explain/ exists, written by `layerwise
explain` or by the run itself (evaluate.explain).

Reads the saved Explanation back and lays out its plots, the honesty checks and the notes;
it computes nothing. A run folder without explanations gets no section at all.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from .run import RunRecord
from .sections import html_figure, html_section, html_table
from .tokens import tokens_part

if TYPE_CHECKING:
    from ..explain.explanation import Explanation

FOLDER = "explain"


def explanations(run: RunRecord) -> str:
    folder = Path(run.folder) / FOLDER
    if not (folder / "explain.json").is_file():
        return ""
    # imported only when there is something to show: explain loads Captum
    from ..explain.explanation import Explanation

    return section(Explanation.read(folder))


def section(e: Explanation) -> str:
    """The section's HTML for one Explanation."""
    from ..explain.attribute import METHODS
    from ..explain.plots import figures

    method = METHODS.get(e.method, "permutation importance")
    what = {"series": "windows", "image": "images", "text": "prompts"}.get(e.kind, "rows")
    text = (
        f"<p>{escape(method)} on {len(e.rows):,} explained {what}; "
        f"attributions in {escape(e.unit)}"
        + (f", against a baseline of {escape(e.baseline)}" if e.baseline else "")
        + ".</p>"
    )
    checks = ""
    if e.checks:
        checks = "<h3>Honesty checks</h3>" + html_table(
            [("check", "result", "detail")]
            + [(c["check"], "pass" if c["passed"] else "FAIL", c["detail"]) for c in e.checks]
        )
    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in e.notes)
    plots = '<div class="grid">' + "".join(html_figure(f, caption) for _, caption, f in figures(e)) + "</div>"
    return html_section("explanations", "Explanations", text + plots + tokens_part(e) + checks + notes)
