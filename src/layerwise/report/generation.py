"""Generation's plot: cross-entropy at each character position, network beside the bigram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes

from .figure import new_axes


@dataclass
class CharacterLossDisplay:
    """Mean next-character loss by position in the example (1 = the first character)."""

    model: list[float]
    baseline: list[float]
    baseline_name: str = "bigram"

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any], ax: Axes | None = None) -> CharacterLossDisplay:
        per = metrics["per_position"]
        display = cls(per["model"], per["baseline"], metrics.get("baseline_name", "bigram"))
        display.plot(ax)
        return display

    def plot(self, ax: Axes | None = None) -> CharacterLossDisplay:
        ax = new_axes(ax)
        steps = range(1, len(self.model) + 1)
        ax.plot(steps, self.model, marker="o", ms=3, label="network")
        ax.plot(steps, self.baseline, marker="o", ms=3, color="grey", label=self.baseline_name)
        ax.set_xlabel("position of the predicted character (last: the end mark)")
        ax.set_ylabel("cross-entropy (nats)")
        ax.set_title("Per-character loss on the test split")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
