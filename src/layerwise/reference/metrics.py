"""metrics.md: the top-level keys of metrics.json (layerwise.evaluation.keys)."""

from __future__ import annotations

from .text import GENERATED, cell


def metrics_page() -> str:
    from ..evaluation.keys import METRICS_KEYS, TASKS

    lines = [
        GENERATED,
        "",
        "# metrics.json",
        "",
        "`layerwise run` writes `metrics.json` into the run folder (and into `bundle/`);",
        "`layerwise evaluate` writes one for new labelled data. These are its top-level keys,",
        "and for each the tasks whose file has it.",
        "",
        "| key | tasks | description |",
        "|---|---|---|",
    ]
    for key in METRICS_KEYS:
        tasks = "all" if set(key.tasks) >= set(TASKS) else ", ".join(key.tasks)
        lines.append(f"| `{key.name}` | {tasks} | {cell(key.description)} |")
    return "\n".join(lines) + "\n"
