"""Result: what a run produced, and `summary`, metrics.json as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..bundle.predictor import Predictor
from ..config.schema import ExperimentConfig
from ..evaluation.gate import favours


@dataclass
class Result:
    """What a run produced: metrics beside the baseline, history, the bundle and the model."""

    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    predictor: Predictor
    out: Path | None = None
    config: ExperimentConfig | None = None
    log: list[str] = field(default_factory=list)
    test_rows: pd.DataFrame | None = field(default=None, repr=False)  # the test split's cleaned rows
    # image runs: (n, c, h, w) test pixels, or a data.images.FilePixels when they were read from disk
    test_images: Any = field(default=None, repr=False)

    @property
    def bundle_path(self) -> Path | None:
        return None if self.out is None else self.out / "bundle"

    @property
    def model(self) -> torch.nn.Module:
        return self.predictor.module

    @property
    def beats_baseline(self) -> bool:
        return bool(self.metrics["beats_baseline"])

    @property
    def verdict(self) -> str:
        """DEPLOY or DO NOT DEPLOY, from the configured gates (evaluate.gates)."""
        return self.metrics["verdict"]

    @property
    def deploy(self) -> bool:
        return self.metrics["verdict"] == "DEPLOY"

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.predictor.predict(frame)

    def summary(self, *, table: bool = True) -> str:
        """The verdict in plain words; with `table`, every test metric beside the baseline's first."""
        return summary(self.metrics, table=table)

    def explain(self, data: Any = None, **options: Any) -> Any:
        """Attributions and global importance on this run's test split (or `data`); see layerwise.explain."""
        from ..explain import explain

        return explain(self, data, **options)


def summary(m: dict[str, Any], *, table: bool = True) -> str:
    """metrics.json as text: the metrics table with intervals (network, naive baseline and, where the run
    has one, the classical reference), the findings, then the verdict."""
    if not table:
        return m["headline"]
    ci = m.get("ci") or {}
    level = f"{ci.get('level', 0.95):.0%}"
    reference = m.get("reference")
    rows: list[tuple[str, ...]] = [("metric", "network", f"{level} interval", "baseline", "difference interval")]
    rows[0] += ("reference",) if reference else ()
    for name, value in m["test"].items():
        mark = " *" if name == m["primary_metric"] else ""
        row = (
            name + mark,
            f"{value:,.4g}",
            _pair(ci.get("model", {}).get(name)),
            f"{m['baseline'].get(name, float('nan')):,.4g}",
            _pair(ci.get("difference", {}).get(name)),
        )
        rows.append(row + ((f"{reference['test'].get(name, float('nan')):,.4g}",) if reference else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
        for r in rows
    ]
    lines.append(f"baseline: {m['baseline_name']}; * decides; difference = network - baseline; rows {m['rows']}")
    lines += [f"other baseline: {b['finding']}" for b in m.get("other_baselines") or []]
    if reference:
        primary = m["primary_metric"]
        lines.append(
            f"classical reference: {reference['name']}, fitted on the same training rows: {primary} "
            f"{reference['test'].get(primary, float('nan')):,.4g}; network - reference "
            f"{m['test'][primary] - reference['test'].get(primary, float('nan')):+,.4g}, "
            f"{level} interval {_pair(reference.get('difference'))}: {_versus(primary, reference)}"
        )
    lines += [f"note: {n}" for n in m.get("notes", [])]
    lines += [f"finding: {f}" for f in (m.get("diagnosis") or {}).get("findings", [])]
    lines += [f"leakage: {w['detail']}" for w in m.get("leakage") or []]
    if m.get("data_curve"):
        lines.append(f"data: {m['data_curve']['finding']}")
    return "\n".join([*lines, "", m["finding"], m["headline"]])


def _versus(primary: str, reference: dict[str, Any]) -> str:
    """The network against the classical reference, in words, from the paired interval."""
    if reference.get("beats_reference"):
        return "the network beats it"
    interval = reference.get("difference")
    if interval and all(v is not None for v in interval) and favours(primary, interval) == "baseline":
        return "it beats the network: consider the simpler model"
    return "the network is not shown to beat it"


def _pair(interval: list[float] | None) -> str:
    if not interval or any(v is None or not np.isfinite(v) for v in interval):
        return "-"
    return f"[{interval[0]:,.4g}, {interval[1]:,.4g}]"
