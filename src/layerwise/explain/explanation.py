"""Explanation: the numbers of one `explain` call, written to and read back from a folder.

DIR/importance.csv     feature, importance, ci_low, ci_high, method (most important first)
DIR/attributions.csv   one line per explained row and feature (and time step, or pixel), or
                       per prompt character (generation)
DIR/explain.json       method, units, baseline, per-row outputs and deltas, honesty checks
DIR/tokens.csv, DIR/token_importance.csv
                       a table with text columns: per token of each explained row, and per token
                       over them (tokens.py says what each holds)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..atomic import write_json, write_table
from ..errors import DataError

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

# Per-prediction plots for the first few explained rows; the CSV has them all.
SHOWN = 3


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
    # a table with text columns (tokens.py): row, column, position, token, start, end, attribution
    tokens: pd.DataFrame | None = None
    texts: list[dict[str, Any]] | None = None  # per explained row, {text column: its text}
    presence: list[dict[str, float]] | None = None  # ig: per row, {text column: its token positions' effect}

    def token_importance(self, top: int | None = None) -> pd.DataFrame:
        """Mean |attribution| per token over the explained rows, most important first (tokens.py)."""
        from .tokens import TOP_TOKENS, token_importance

        assert self.tokens is not None, "only a table with text columns has tokens"
        return token_importance(self.tokens, TOP_TOKENS if top is None else top)

    @property
    def layout(self) -> InputKind:
        """What this kind of input makes of the numbers; chosen here, asked everywhere else."""
        return INPUT_KINDS[self.kind]

    def attributions_frame(self) -> pd.DataFrame:
        """Long format: row, then feature (tabular), step and feature (series), y and x (image) or
        prompt, position and character with the explained next character (text)."""
        if self.attributions is None:
            return pd.DataFrame(columns=["row", "feature", "attribution"])
        return self.layout.frame(self, self.attributions, np.asarray(self.rows, dtype=object))

    def describe(self) -> list[str]:
        """Lines for the terminal beyond the importance table (one per prompt for text), or none."""
        return self.layout.describe(self)

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
            if self.texts is not None:
                item["texts"] = {k: _plain(v) for k, v in self.texts[i].items()}
            if self.presence is not None:
                item["presence"] = {k: _plain(v) for k, v in self.presence[i].items()}
            per_row.append(item | self.layout.row_fields(self, i))
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
        if self.tokens is not None:
            write_table(self.tokens, folder / "tokens.csv")
            write_table(self.token_importance(), folder / "token_importance.csv")
        write_json(folder / "explain.json", self.summary())
        if plots:
            from .plots import write_plots

            write_plots(self, folder)
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> Explanation:
        folder = Path(folder)
        meta = json.loads((folder / "explain.json").read_text(encoding="utf-8"))
        if meta["kind"] not in INPUT_KINDS:
            raise DataError(
                f"{folder / 'explain.json'}: kind {meta['kind']!r} is not one of {', '.join(INPUT_KINDS)}",
                hint="read a folder `layerwise explain` wrote, or explain again",
            )
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
        if rows and "texts" in rows[0]:
            self.texts = [r["texts"] for r in rows]
        if rows and "presence" in rows[0]:
            self.presence = [{k: _num(v) for k, v in r["presence"].items()} for r in rows]
        path = folder / "attributions.csv"
        if path.is_file() and meta.get("shape"):
            self.layout.read(self, path, tuple(meta["shape"]))
        if (folder / "tokens.csv").is_file():
            # a token "NA" or "1" is text, never a missing value or a number
            self.tokens = pd.read_csv(folder / "tokens.csv", dtype={"column": str, "token": str}, keep_default_na=False)
        return self


class InputKind:
    """What one kind of input makes of an Explanation: its attributions in long format (the CSV),
    what explain.json adds per row, how the CSV reads back, its plots and terminal lines."""

    name: str

    def frame(self, e: Explanation, a: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        raise NotImplementedError

    def row_fields(self, e: Explanation, i: int) -> dict[str, Any]:
        """explain.json's extra fields for explained row `i`."""
        return {}

    def read(self, e: Explanation, path: Path, shape: tuple[int, ...]) -> None:
        """attributions.csv back into `e.attributions` (n, *shape), and its values, where written, into `e.inputs`."""
        frame = pd.read_csv(path)
        e.attributions = frame["attribution"].to_numpy(np.float64).reshape(len(e.rows), *shape)
        if "value" in frame.columns:
            e.inputs = frame["value"].to_numpy().reshape(len(e.rows), *shape)

    def figures(self, e: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
        """(file name, caption, figure) of the local attributions' plots."""
        raise NotImplementedError

    def describe(self, e: Explanation) -> list[str]:
        return []


class TabularInput(InputKind):
    name = "tabular"

    def frame(self, e: Explanation, a: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        n, f = len(a), len(e.names)
        return pd.DataFrame(
            {
                "row": np.repeat(rows, f),
                "feature": np.tile(e.names, n),
                "value": np.asarray(e.inputs, dtype=object).reshape(-1),
                "attribution": a.reshape(-1),
            }
        )

    def figures(self, e: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
        from .displays import AttributionDisplay

        return [
            (f"row-{e.rows[i]}.png", f"Why row {e.rows[i]}", AttributionDisplay.from_explanation(e, i).figure_)
            for i in range(min(SHOWN, len(e.rows)))
        ]

    def describe(self, e: Explanation) -> list[str]:
        """A table with text columns: the tokens that matter most over the explained rows."""
        if e.tokens is None or e.tokens.empty:
            return []
        top = e.token_importance(10)
        return [
            "tokens by mean |attribution|: "
            + ", ".join(
                f"{r['column']}:{r['token']!r} {r['importance']:.3g} ({r['count']}x)" for r in top.to_dict("records")
            )
        ]


class SeriesInput(InputKind):
    name = "series"

    def frame(self, e: Explanation, a: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        n, (steps, f) = len(a), a.shape[1:]
        # step 0 is the window's last observed row, -1 the one before it, ...
        step = np.arange(-(steps - 1), 1)
        return pd.DataFrame(
            {
                "row": np.repeat(rows, steps * f),
                "step": np.tile(np.repeat(step, f), n),
                "feature": np.tile(e.names, n * steps),
                "attribution": a.reshape(-1),
            }
        )

    def figures(self, e: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
        from .displays import SeriesAttributionDisplay

        return [
            (
                "steps.png",
                "Time step × feature, mean |attribution|",
                SeriesAttributionDisplay.from_explanation(e).figure_,
            ),
            (
                f"row-{e.rows[0]}.png",
                f"Why the forecast from row {e.rows[0]}",
                SeriesAttributionDisplay.from_explanation(e, 0).figure_,
            ),
        ]


class ImageInput(InputKind):
    name = "image"

    def frame(self, e: Explanation, a: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        assert e.inputs is not None, "an image explanation carries the pictures it is laid over"
        n, (h, w) = len(a), a.shape[1:]
        return pd.DataFrame(
            {
                "row": np.repeat(rows, h * w),
                "y": np.tile(np.repeat(np.arange(h), w), n),
                "x": np.tile(np.arange(w), n * h),
                "value": e.inputs.reshape(-1),
                "attribution": a.reshape(-1),
            }
        )

    def figures(self, e: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
        from .displays import ImageAttributionDisplay

        return [
            ("images.png", "Attribution heatmaps over the images", ImageAttributionDisplay.from_explanation(e).figure_)
        ]


class TextInput(InputKind):
    name = "text"

    def frame(self, e: Explanation, a: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        assert e.inputs is not None, "a text explanation carries its prompts' characters"
        # one line per prompt character: NaN marks the positions past a shorter prompt
        i, j = np.nonzero(np.isfinite(a))
        prompts = np.array(["".join(row) for row in e.inputs], dtype=object)
        return pd.DataFrame(
            {
                "row": rows[i],
                "prompt": prompts[i],
                "position": j,
                "character": e.inputs[i, j],
                "attribution": a[i, j],
                "target": np.asarray(e.predictions, dtype=object)[i],
            }
        )

    def row_fields(self, e: Explanation, i: int) -> dict[str, Any]:
        assert e.inputs is not None, "a text explanation carries its prompts' characters"
        return {"prompt": "".join(e.inputs[i])}

    def read(self, e: Explanation, path: Path, shape: tuple[int, ...]) -> None:
        """Prompts' characters and attributions back into (n, width) arrays, padded as written."""
        # a prompt "NA" or "null" is text here, never a missing value
        frame = pd.read_csv(path, keep_default_na=False)
        width = shape[0]
        position = {label: i for i, label in enumerate(e.rows)}
        i = np.array([position[r] for r in frame["row"]], dtype=np.int64)
        j = frame["position"].to_numpy(np.int64)
        e.attributions = np.full((len(e.rows), width), np.nan)
        e.attributions[i, j] = frame["attribution"].to_numpy(np.float64)
        e.inputs = np.full((len(e.rows), width), "", dtype=object)
        e.inputs[i, j] = frame["character"].astype(str).to_numpy()

    def figures(self, e: Explanation) -> list[tuple[str, str, Figure | SubFigure]]:
        from .displays import TextAttributionDisplay

        return [
            (
                "prompts.png",
                "Why the next character: each prompt character coloured by its attribution",
                TextAttributionDisplay.from_explanation(e).figure_,
            )
        ]

    def describe(self, e: Explanation) -> list[str]:
        from .text import describe

        return describe(e)


INPUT_KINDS: dict[str, InputKind] = {k.name: k for k in (TabularInput(), SeriesInput(), ImageInput(), TextInput())}


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
