"""Small, seeded problems the training tests share (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from layerwise.models import build


def data(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 4) standard normal inputs and their row sums as the target."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return x, x.sum(dim=1, keepdim=True)


def mlp() -> torch.nn.Module:
    return build({"type": "mlp", "hidden": [16]}, (4,), 1, seed=0)


def experiment(
    folder: Path, *, rows: int, target: Callable[[float, float, float], float], model: str, train: str, evaluate: str
) -> Path:
    """A CSV of `rows` seeded rows a, b, c and y = target(a, b, c),
    beside an experiment YAML with the given flow-style sections; returns the YAML's path."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 3, generator=g)
    lines = ["a,b,c,y"] + [f"{a:.5f},{b:.5f},{c:.5f},{target(a, b, c):.5f}" for a, b, c in x.tolist()]
    (folder / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = folder / "e.yaml"
    config.write_text(
        f"data: {{path: d.csv, target: y}}\nmodel: {model}\ntrain: {train}\nevaluate: {evaluate}\n", encoding="utf-8"
    )
    return config
