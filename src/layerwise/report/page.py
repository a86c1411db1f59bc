"""The report page: one self-contained HTML file, no script, no network; laptop, phone and print."""

from __future__ import annotations

from html import escape

from .. import __version__
from . import sections
from .explanations import explanations
from .run import RunRecord

CSS = """
:root { color-scheme: light; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
       max-width: 980px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .2rem 0 1rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
section { margin: 0 0 2rem; }
#verdict { padding: .8rem 1rem; border-radius: 6px; border-left: 8px solid; }
#verdict h2 { border: 0; margin-top: 0; }
#verdict.deploy { background: #e9f7ec; border-color: #2e7d32; }
#verdict.nodeploy { background: #fdecea; border-color: #c62828; }
.headline { font-size: 1.15rem; }
.warn { color: #8a4b00; } .finding { background: #fff8e1; padding: .4rem .6rem; border-radius: 4px; }
.note { color: #555; font-size: .9rem; }
.table { overflow-x: auto; } table { border-collapse: collapse; margin: .5rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .25rem .6rem; text-align: left; vertical-align: top; }
td:not(:first-child) { font-variant-numeric: tabular-nums; }
figure { margin: .5rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .85rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: .5rem 1rem; }
footer { color: #777; font-size: .8rem; }
@media print { body { max-width: none; font-size: 11pt; } section, figure, tr { break-inside: avoid; }
               #verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""

ORDER = (
    sections.verdict,
    sections.data,
    sections.model,
    sections.training,
    sections.results,
    sections.plots,
    explanations,
)


def render(run: RunRecord) -> str:
    """The whole report as one HTML string."""
    m = run.metrics
    title = f"layerwise report: {m['task']} of {(run.spec or {}).get('task', {}).get('target', 'the target')}"
    body = "".join(section(run) for section in ORDER)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}"
        f"<footer>Written by layerwise {escape(__version__)}.</footer></body></html>\n"
    )
