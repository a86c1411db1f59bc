"""`layerwise evaluate`: judge a saved bundle on new labelled data, as a run judges its test split.

The baseline is the one fitted when the bundle was trained (saved in its metrics.json), the
gates those of the bundle's config; training-time evidence (loss curves, leakage) does not apply.
An image bundle is judged on a folder of class folders, read as training read its files: the
bundle's size (another size is resized), mode and pixel scale; unreadable files are left out
and counted.

`--out DIR` is claimed as a run folder is (experiment/run_folder.py): the evaluation's own files only, an
earlier evaluation replaced only with `--overwrite`, and DIR locked while the command lasts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import staged_folder, write_json, write_table
from ..bundle.predictor import Predictor
from ..config.schema import TrainConfig
from ..evaluation import judge
from ..tasks import for_bundle
from ..tasks.common import evaluate_settings


def reassess(
    predictor: Predictor, frame: pd.DataFrame | str | Path, *, source: str = "data", progress: bool = False
) -> tuple[dict[str, Any], pd.DataFrame]:
    """metrics.json's content and the predictions table for `frame`, which must hold the target
    (for an image bundle: the path of a folder with one sub-folder of images per class, read
    with its progress on stderr when `progress`). The bundle's Task re-judges it (tasks/)."""
    task = for_bundle(predictor.task, predictor)
    found = task.rejudge(predictor, frame, source, progress)
    y = found["y"]
    metrics = judged(predictor, y, found["model_out"], found["baseline_out"], found["notes"], **found["judged"])
    metrics.update(rows={"test": len(y)}, source=source, leakage=None)
    metrics.update(found["metrics"])
    metrics["finding"] += f" ({len(y)} {task.unit} of {source})"
    return metrics, found["table"]


def judged(predictor: Predictor, y, model_out, baseline_out, notes: list[str], **named: Any) -> dict[str, Any]:
    """`judge` with the bundle's own evaluate settings and gates, read back through the schema (so the
    defaults are the schema's); `named` (baseline_name, beside, block) as the Task gives them."""
    ev = evaluate_settings(predictor.config)
    seed = TrainConfig.model_validate((predictor.config or {}).get("train") or {}).seed
    gates = ev.gates
    metrics = judge(
        predictor.task.type,
        y,
        model_out,
        baseline_out,
        metric=ev.metric,
        samples=ev.bootstrap,
        level=ev.level,
        seed=seed,
        beat_baseline=gates.beat_baseline,
        # the trees are fitted with the training rows at training time: a gate on them cannot pass here
        beat_reference=gates.beat_reference,
        reference_missing=(
            "the classical reference is fitted on the training rows at training time; `layerwise evaluate` "
            "does not refit it (see the run's metrics.json)"
            if gates.beat_reference
            else None
        ),
        minimum={str(k): v for k, v in gates.min.items()},
        maximum={str(k): v for k, v in gates.max.items()},
        **{"block": 1, **named},
    )
    metrics["notes"] = metrics.get("notes", []) + notes
    return metrics


def write(out: str | Path, metrics: dict[str, Any], table: pd.DataFrame, spec: dict[str, Any]) -> Path:
    """The evaluation folder: metrics.json, predictions.csv, spec.json, report.html; atomically."""
    from ..report import write_report

    out = Path(out)
    with staged_folder(out) as staged:
        write_json(staged / "metrics.json", metrics)
        write_table(table, staged / "predictions.csv")
        write_json(staged / "spec.json", spec)
        write_report(staged)
    return out
