"""Displays of an Explanation's numbers: each computes nothing, plots on new or given axes.

AttributionDisplay          one prediction: signed bars, largest first
ImportanceDisplay           global importance with intervals, one panel per method
SeriesAttributionDisplay    time step × feature heatmap (one window, or mean |attribution|)
ImageAttributionDisplay     images with their attribution heatmaps laid over them
TextAttributionDisplay      prompts, each character coloured by its attribution
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from ..errors import UsageError
from .explanation import Explanation

SIZE = (6.4, 3.6)
METHOD_NAMES = {
    "ig": "mean |Integrated Gradients|",
    "saliency": "mean |Saliency|",
    "ablation": "mean |Feature Ablation|",
    "permutation": "permutation importance",
}


def _axes(ax: Axes | None, size: tuple[float, float] = SIZE) -> Axes:
    return ax if ax is not None else Figure(figsize=size, layout="constrained").add_subplot()


def _attributions(e: Explanation) -> np.ndarray:
    """The per-row attributions a display draws; a permutation-only explanation has none."""
    if e.attributions is None:
        raise UsageError(
            f"this {e.method} explanation has no per-row attributions to plot",
            hint="explain with --method ig, saliency or ablation",
        )
    return e.attributions


class AttributionDisplay:
    """Why one prediction: each feature's attribution, pushing the output up (blue) or down (red)."""

    ax_: Axes
    figure_: Figure | SubFigure

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, index: int = 0, *, top: int = 12, ax: Axes | None = None
    ) -> AttributionDisplay:
        e = explanation
        values = _attributions(e)[index]
        order = np.argsort(-np.abs(values))[:top][::-1]
        labels = [e.names[j] if e.inputs is None else f"{e.names[j]} = {_short(e.inputs[index][j])}" for j in order]
        self = cls()
        self.ax_ = ax = _axes(ax, (SIZE[0], 0.6 + 0.28 * len(order)))
        ax.barh(range(len(order)), values[order], color=["#1f77b4" if v >= 0 else "#d62728" for v in values[order]])
        ax.set_yticks(range(len(order)), labels)
        ax.axvline(0, color="black", linewidth=0.8)
        prediction = e.predictions[index] if e.predictions else ""
        ax.set_title(f"row {e.rows[index]}: prediction {_short(prediction)}", fontsize=10)
        ax.set_xlabel(f"attribution ({e.unit})")
        self.figure_ = ax.figure
        return self


class ImportanceDisplay:
    """Which inputs matter overall: one bar per feature, with its interval, per method."""

    axes_: list[Axes]
    figure_: Figure | SubFigure

    @classmethod
    def from_importance(
        cls, importance: pd.DataFrame, *, top: int = 15, axes: Sequence[Axes] | None = None
    ) -> ImportanceDisplay:
        methods = list(dict.fromkeys(importance["method"]))
        self = cls()
        if axes is None:
            rows = min(top, importance.groupby("method").size().max())
            figure = Figure(figsize=(SIZE[0], 0.8 + 0.28 * rows * len(methods)), layout="constrained")
            axes = list(np.atleast_1d(figure.subplots(len(methods), 1)))
        for ax, method in zip(axes, methods):
            part = importance[importance["method"] == method].head(top).iloc[::-1]
            value = part["importance"].to_numpy(np.float64)
            err = np.vstack([value - part["ci_low"].to_numpy(np.float64), part["ci_high"].to_numpy(np.float64) - value])
            ax.barh(
                range(len(part)),
                value,
                xerr=np.clip(err, 0, None),
                color="#1f77b4",
                alpha=0.8,
                error_kw={"elinewidth": 1, "capsize": 2},
            )
            ax.set_yticks(range(len(part)), part["feature"].astype(str))
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_title(f"{METHOD_NAMES.get(method, method)}, 95% interval", fontsize=10)
        self.axes_, self.figure_ = list(axes), axes[0].figure
        return self


class SeriesAttributionDisplay:
    """Which past steps of which inputs drove a forecast; mean |attribution| over rows by default."""

    ax_: Axes
    figure_: Figure | SubFigure

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, index: int | None = None, *, ax: Axes | None = None
    ) -> SeriesAttributionDisplay:
        e = explanation
        attributions = _attributions(e)
        if index is None:
            values, title, cmap = (
                np.abs(attributions).mean(axis=0),
                f"mean |attribution| over {len(e.rows)} windows",
                "viridis",
            )
        else:
            values, title, cmap = attributions[index], f"window ending at row {e.rows[index]}", "RdBu"
        steps = values.shape[0]
        self = cls()
        self.ax_ = ax = _axes(ax)
        limit = np.abs(values).max() or 1.0
        image = ax.imshow(
            values.T,
            aspect="auto",
            cmap=cmap,
            vmin=None if index is None else -limit,
            vmax=None if index is None else limit,
            extent=(-(steps - 1) - 0.5, 0.5, len(e.names) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(e.names)), e.names)
        ax.set_xlabel("time step (0 = last observed)")
        ax.set_title(title, fontsize=10)
        ax.figure.colorbar(image, ax=ax, label=e.unit)
        self.figure_ = ax.figure
        return self


class ImageAttributionDisplay:
    """Images in grey with their attributions over them: red pushes toward the explained class."""

    axes_: list[Axes]
    figure_: Figure | SubFigure

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, indices: Sequence[int] | None = None, *, axes: Sequence[Axes] | None = None
    ) -> ImageAttributionDisplay:
        e = explanation
        indices = list(range(min(8, len(e.rows)))) if indices is None else list(indices)
        attributions = _attributions(e)
        assert e.inputs is not None, "an image explanation carries the pictures it is laid over"
        if axes is None:
            figure = Figure(figsize=(1.6 * len(indices), 2.0), layout="constrained")
            axes = list(np.atleast_1d(figure.subplots(1, len(indices))))
        for ax, i in zip(axes, indices):
            a = attributions[i]
            limit = np.abs(a).max() or 1.0
            ax.imshow(np.asarray(e.inputs[i], dtype=np.float64), cmap="gray")
            ax.imshow(a, cmap="bwr", vmin=-limit, vmax=limit, alpha=0.55)
            ax.set_title(f"row {e.rows[i]}: {_short(e.predictions[i]) if e.predictions else ''}", fontsize=8)
            ax.set_axis_off()
        self = cls()
        self.axes_, self.figure_ = list(axes), axes[0].figure
        return self


class TextAttributionDisplay:
    """Each prompt's characters on a colour per position: blue pushes toward the explained next
    character, red away from it; one colour scale for all shown prompts, so they compare."""

    ax_: Axes
    figure_: Figure | SubFigure

    @classmethod
    def from_explanation(
        cls, explanation: Explanation, indices: Sequence[int] | None = None, *, ax: Axes | None = None
    ) -> TextAttributionDisplay:
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        e = explanation
        indices = list(range(min(12, len(e.rows)))) if indices is None else list(indices)
        attributions = _attributions(e)
        assert e.inputs is not None, "a text explanation carries its prompts' characters"
        width = attributions.shape[1]
        self = cls()
        self.ax_ = ax = _axes(ax, (3.0 + 0.3 * (width + 4), 1.0 + 0.42 * len(indices)))
        shown = attributions[indices]
        limit = float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0
        norm, cmap = Normalize(-(limit or 1.0), limit or 1.0), colormaps["RdBu"]
        for line, i in enumerate(indices):
            for j, char in enumerate(e.inputs[i]):
                if char == "":
                    continue
                ax.text(
                    j,
                    -line,
                    "\u2423" if char == " " else char,
                    ha="center",
                    va="center",
                    family="monospace",
                    fontsize=12,
                    bbox={
                        "boxstyle": "square,pad=0.3",
                        "facecolor": cmap(norm(attributions[i, j])),
                        "edgecolor": "none",
                    },
                )
            length = sum(c != "" for c in e.inputs[i])
            ax.text(length + 0.2, -line, f"\u2192 {_short(e.predictions[i])!r}", ha="left", va="center", fontsize=10)
        ax.set_xlim(-0.8, width + 3.5)
        ax.set_ylim(-len(indices) + 0.4, 0.6)
        ax.set_axis_off()
        ax.set_title(f"attribution to each character: {e.unit}", fontsize=10)
        ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8)
        self.figure_ = ax.figure
        return self


def _short(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:,.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"
