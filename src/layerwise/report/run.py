"""A run folder read back: what `layerwise run` or `layerwise evaluate --out` wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UsageError


@dataclass
class RunRecord:
    folder: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    predictions: pd.DataFrame | None = None
    spec: dict[str, Any] | None = None  # the bundle's spec.json: task, model, preprocessing
    # the model section's layers (models.summary.layers), where the writer has them; else rebuilt from the spec
    architecture: list[dict[str, Any]] | None = None

    @classmethod
    def read(cls, folder: str | Path) -> RunRecord:
        folder = Path(folder)
        if not (folder / "metrics.json").is_file():
            raise UsageError(
                f"{folder}: not a layerwise run folder (no metrics.json)",
                hint="pass the folder written by `layerwise run` (e.g. runs/bitcoin)",
            )
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        history: list[dict[str, Any]] = []
        if (folder / "history.csv").is_file():
            frame = pd.read_csv(folder / "history.csv")
            # a CSV header's names are strings: str() only tells the type checker so
            history = [
                {str(k): (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")
            ]
        predictions = pd.read_csv(folder / "predictions.csv") if (folder / "predictions.csv").is_file() else None
        # a run keeps the spec in its bundle; `layerwise evaluate --out` beside the metrics
        spec_path = next(
            (p for p in (folder / "bundle" / "spec.json", folder / "spec.json") if p.is_file()),
            folder / "bundle" / "spec.json",
        )
        spec = json.loads(spec_path.read_text(encoding="utf-8")) if spec_path.is_file() else None
        return cls(folder, metrics, history, predictions, spec)

    @property
    def task(self) -> str:
        return self.metrics["task"]

    @property
    def preprocessing(self) -> dict[str, Any]:
        """The bundle's saved preprocessing state by part (features, target, series, vocabulary, images),
        as a Predictor holds it; empty without a spec."""
        return dict((self.spec or {}).get("preprocessing", {}))

    @property
    def series(self) -> dict[str, Any] | None:
        """A forecast's saved series transform (the Predictor's `series`); None for any other run."""
        return self.preprocessing.get("series")

    @property
    def vocabulary(self) -> dict[str, Any] | None:
        """A generation run's saved vocabulary (the Predictor's `vocabulary`); None for any other run."""
        return self.preprocessing.get("vocabulary")

    @property
    def classes(self) -> list[Any]:
        return list((self.spec or {}).get("task", {}).get("classes", []))

    @property
    def time(self) -> str | None:
        return (self.spec or {}).get("task", {}).get("time")
