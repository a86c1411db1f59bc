"""Explanation: the numbers of one `explain` call, written to and read back from a folder.

DIR/importance.csv     feature, importance, ci_low, ci_high, method (most important first)
DIR/attributions.csv   one line per explained row and feature (and time step, or pixel), or
                       per prompt character (generation)
DIR/explain.json       method, units, baseline, per-row outputs and deltas, honesty checks
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import write_json, write_table


@dataclass
class Explanation:
    kind: str  # tabular | series | image | text
    method: str  # ig | saliency | ablation | permutation
    names: list[str]  # features (tabular, series)
    unit: str  # what an attribution is measured in
    importance: pd.DataFrame  # feature, importance, ci_low, ci_high, method
    rows: list[Any] = field(default_factory=list)  # labels of the explained rows
    attributions: np.ndarray | None = None  # (n, F) | (n, steps, F) | (n, h, w) | (n, chars)
    inputs: np.ndarray | None = None  # raw values (n, F); image (n, h, w); text chars
    predictions: list[Any] = field(default_factory=list)
    output: np.ndarray | None = None  # (n,) explained output
    baseline_output: np.ndarray | None = None
    delta: np.ndarray | None = None  # IG only
    baseline: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def attributions_frame(self) -> pd.DataFrame:
        """Long format: row, then feature (tabular), step and feature (series), y and x (image) or
        prompt, position and character with the explained next character (text)."""
        a = self.attributions
        if a is None:
            return pd.DataFrame(columns=["row", "feature", "attribution"])
        n = len(a)
        rows = np.asarray(self.rows, dtype=object)
        if self.kind == "tabular":
            f = len(self.names)
            frame = pd.DataFrame(
                {
                    "row": np.repeat(rows, f),
                    "feature": np.tile(self.names, n),
                    "value": np.asarray(self.inputs, dtype=object).reshape(-1),
                    "attribution": a.reshape(-1),
                }
            )
        elif self.kind == "series":
            steps, f = a.shape[1:]
            # step 0 is the window's last observed row, -1 the one before it, ...
            step = np.arange(-(steps - 1), 1)
            frame = pd.DataFrame(
                {
                    "row": np.repeat(rows, steps * f),
                    "step": np.tile(np.repeat(step, f), n),
                    "feature": np.tile(self.names, n * steps),
                    "attribution": a.reshape(-1),
                }
            )
        elif self.kind == "text":
            assert self.inputs is not None, "a text explanation carries its prompts' characters"
            # one line per prompt character: NaN marks the positions past a shorter prompt
            i, j = np.nonzero(np.isfinite(a))
            prompts = np.array(["".join(row) for row in self.inputs], dtype=object)
            frame = pd.DataFrame(
                {
                    "row": rows[i],
                    "prompt": prompts[i],
                    "position": j,
                    "character": self.inputs[i, j],
                    "attribution": a[i, j],
                    "target": np.asarray(self.predictions, dtype=object)[i],
                }
            )
        else:
            assert self.inputs is not None, "an image explanation carries the pictures it is laid over"
            h, w = a.shape[1:]
            frame = pd.DataFrame(
                {
                    "row": np.repeat(rows, h * w),
                    "y": np.tile(np.repeat(np.arange(h), w), n),
                    "x": np.tile(np.arange(w), n * h),
                    "value": self.inputs.reshape(-1),
                    "attribution": a.reshape(-1),
                }
            )
        return frame

    def summary(self) -> dict[str, Any]:
        per_row = []
        for i, label in enumerate(self.rows):
            assert self.output is not None and self.baseline_output is not None, "explained rows have outputs"
            item = {
                "row": _plain(label),
                "prediction": _plain(self.predictions[i]) if self.predictions else None,
                "output": _plain(self.output[i]),
                "baseline_output": _plain(self.baseline_output[i]),
            }
            if self.delta is not None:
                item["delta"] = _plain(self.delta[i])
            if self.kind == "text":
                assert self.inputs is not None, "a text explanation carries its prompts' characters"
                item["prompt"] = "".join(self.inputs[i])
            per_row.append(item)
        shape = None if self.attributions is None else list(self.attributions.shape[1:])
        return {
            "kind": self.kind,
            "method": self.method,
            "features": self.names,
            "unit": self.unit,
            "baseline": self.baseline,
            "shape": shape,
            "rows": per_row,
            "checks": self.checks,
            "notes": self.notes,
        }

    def save(self, folder: str | Path, *, plots: bool = True) -> Path:
        """Write the CSVs, explain.json and (with `plots`) the PNG plots into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_table(self.importance, folder / "importance.csv")
        if self.attributions is not None:
            write_table(self.attributions_frame(), folder / "attributions.csv")
        write_json(folder / "explain.json", self.summary())
        if plots:
            from .plots import write_plots

            write_plots(self, folder)
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> Explanation:
        folder = Path(folder)
        meta = json.loads((folder / "explain.json").read_text(encoding="utf-8"))
        importance = pd.read_csv(folder / "importance.csv")
        self = cls(
            meta["kind"],
            meta["method"],
            list(meta["features"]),
            meta["unit"],
            importance,
            baseline=meta.get("baseline", ""),
            checks=meta.get("checks", []),
            notes=meta.get("notes", []),
        )
        rows = meta.get("rows", [])
        self.rows = [r["row"] for r in rows]
        self.predictions = [r.get("prediction") for r in rows]
        self.output = np.array([_num(r.get("output")) for r in rows])
        self.baseline_output = np.array([_num(r.get("baseline_output")) for r in rows])
        if rows and "delta" in rows[0]:
            self.delta = np.array([_num(r["delta"]) for r in rows])
        path = folder / "attributions.csv"
        if path.is_file() and meta.get("shape") and self.kind == "text":
            self._read_text(pd.read_csv(path, keep_default_na=False), meta["shape"][0])
        elif path.is_file() and meta.get("shape"):
            frame = pd.read_csv(path)
            self.attributions = frame["attribution"].to_numpy(np.float64).reshape(len(rows), *meta["shape"])
            if "value" in frame.columns:
                values = frame["value"].to_numpy()
                self.inputs = values.reshape(len(rows), *meta["shape"])
        return self

    def _read_text(self, frame: pd.DataFrame, width: int) -> None:
        """Prompts' characters and attributions back into (n, width) arrays, padded as written."""
        position = {label: i for i, label in enumerate(self.rows)}
        i = np.array([position[r] for r in frame["row"]], dtype=np.int64)
        j = frame["position"].to_numpy(np.int64)
        self.attributions = np.full((len(self.rows), width), np.nan)
        self.attributions[i, j] = frame["attribution"].to_numpy(np.float64)
        self.inputs = np.full((len(self.rows), width), "", dtype=object)
        self.inputs[i, j] = frame["character"].astype(str).to_numpy()


def empty_importance() -> pd.DataFrame:
    """The importance table of an explanation with no global importance (images, prompts)."""
    return pd.DataFrame(columns=["feature", "importance", "ci_low", "ci_high", "method"])


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)
