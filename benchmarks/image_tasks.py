"""A harder small-image task, made offline from scikit-learn's digits: 10 classes, 28x28 grayscale.

Each image is one of the 1,797 real 8x8 digits, upscaled to 16..22 pixels, turned by up to +-20
degrees, thickened or thinned at random, placed anywhere in a 28x28 frame, crossed by one or two
random strokes and covered in Gaussian noise. The source digits are split first: the training
folder is made from 70% of them and the test folder from the other 30%, so no test image shares
a source digit with any training image (variants of one digit are near copies; mixing them would
measure memory, not generalization).

    write_task(root, train=4286, test=1000, seed=0)
        root/train/<class>/<n>.png   (a run's own 70/15/15 split of it: 3,000 training images)
        root/test/<class>/<n>.png    (judged with `layerwise evaluate BUNDLE root/test`)

Used by benchmarks/image_defaults.py and benchmarks/transfer_images.py. Not a test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SIDE = 28


def variant(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """One 28x28 grayscale image from an 8x8 digit (values 0..16)."""
    size = int(rng.integers(16, 23))
    img = Image.fromarray((digit * 255 / 16).astype(np.uint8), mode="L").resize((size, size), Image.Resampling.BILINEAR)
    img = img.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR, expand=True)
    stroke = rng.integers(3)
    if stroke == 1:
        img = img.filter(ImageFilter.MaxFilter(3))  # thicker
    elif stroke == 2:
        img = img.filter(ImageFilter.MinFilter(3)).point(lambda v: min(255, int(v * 1.6)))  # thinner
    frame = Image.new("L", (SIDE, SIDE), 0)
    x = int(rng.integers(0, max(1, SIDE - img.width + 1)))
    y = int(rng.integers(0, max(1, SIDE - img.height + 1)))
    frame.paste(img, (x, y))
    draw = ImageDraw.Draw(frame)
    for _ in range(int(rng.integers(1, 3))):  # clutter: a random stroke across the frame
        a, b = rng.integers(0, SIDE, size=2), rng.integers(0, SIDE, size=2)
        draw.line([tuple(a), tuple(b)], fill=int(rng.integers(60, 180)), width=int(rng.integers(1, 3)))
    pixels = np.asarray(frame, dtype=np.float32) + rng.normal(0, 28, size=(SIDE, SIDE))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")


def write_task(root: Path, train: int = 4286, test: int = 1000, seed: int = 0) -> dict[str, Path]:
    """The task's train and test folders under `root` (made once; reused when present)."""
    root = Path(root)
    folders = {"train": root / "train", "test": root / "test"}
    if all(f.is_dir() for f in folders.values()):
        return folders
    data = load_digits()
    pools = dict(
        zip(
            ("train", "test"),
            train_test_split(np.arange(len(data.target)), test_size=0.3, stratify=data.target, random_state=seed),
        )
    )
    rng = np.random.default_rng(seed)
    for part, count in (("train", train), ("test", test)):
        pool = pools[part]
        for n in range(count):
            i = int(pool[n % len(pool)]) if n < len(pool) else int(rng.choice(pool))
            folder = folders[part] / str(data.target[i])
            folder.mkdir(parents=True, exist_ok=True)
            variant(data.images[i], rng).save(folder / f"{n:05d}.png")
    return folders


if __name__ == "__main__":
    import sys

    print(write_task(Path(sys.argv[1] if len(sys.argv) > 1 else "build/image_tasks/digits28")))
