"""Real digit images on disk: scikit-learn's 8x8 digits written as PNG files, one folder per class.

Shared by the image tests (run, predict, evaluate, serve, export, tune) so each writes the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_digits(root: Path, per_class: int = 40, *, big: int = 0, start: int = 0) -> list[Path]:
    """scikit-learn's 8x8 digits as grayscale PNGs in one folder per class; the first `big` at 16x16.

    `start` skips that many images of each class first, so two calls can write disjoint sets.
    """
    data = load_digits()
    files = []
    for label in range(10):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(np.flatnonzero(data.target == label)[start : start + per_class]):
            image = Image.fromarray((data.images[i] * 255 / 16).astype(np.uint8), mode="L")
            if k < big:
                image = image.resize((16, 16), Image.Resampling.NEAREST)
            files.append(folder / f"{i:04d}.png")
            image.save(files[-1])
    return files
