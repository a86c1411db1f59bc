"""Images for classification: a folder of class folders, or NumPy arrays, as (n, channels, height, width).

    folder/
      cat/  a.png  b.jpg ...        one sub-folder per class, named as the class
      dog/  ...

Files are decoded with Pillow, converted to one mode (grayscale: 1 channel, rgb: 3) and resized
to one size; a file Pillow cannot read is skipped and written to the cleaning log, and too many
of them is an error. Pixels of files (and of uint8 arrays) are scaled to [0, 1]; per-channel
normalization is fitted on the training split by `ImagePreprocessor`, which also reads new
files the same way at prediction time.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, needs_extra
from .cleaning_log import CleaningLog

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CHANNELS = {"grayscale": 1, "rgb": 3}
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
SHOWN = 5  # corrupt files named in a message


@dataclass
class ImageSet:
    """Decoded images and their labels; `files` relative to the folder (None for arrays)."""

    images: np.ndarray  # (n, channels, height, width) float32
    labels: np.ndarray  # (n,) class labels
    log: CleaningLog
    files: list[str] | None = None
    mode: str = "grayscale"
    scale: float = 1.0  # what pixels were divided by: 255 for files and uint8 arrays

    @property
    def size(self) -> list[int]:
        return list(self.images.shape[2:])


def is_image_folder(path: str | Path | None) -> bool:
    """A folder holding sub-folders (the classes): what `layerwise init` and `run` treat as images."""
    if path is None:
        return False
    path = Path(path)
    return path.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())


def list_images(path: str | Path) -> list[Path]:
    """Image files in `path` (searched recursively) in sorted order, or `path` itself when a file."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def read_image_folder(
    path: str | Path,
    *,
    size: Sequence[int] | None = None,
    mode: str = "auto",
    max_corrupt: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> ImageSet:
    """Read every image of every class folder under `path`.

    Args:
        size: (height, width) every image is resized to; None = the most common size.
        mode: grayscale, rgb, or auto (rgb when any image has colour).
        max_corrupt: the largest share of unreadable files that is skipped rather than refused.
        progress: called as progress(done, total) as the image files are decoded (the slow
            part; their headers are read first, quickly).
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a folder", hint="pass a folder with one sub-folder of images per class")
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[tuple[Path, str]] = []
    ignored = 0
    for folder in classes:
        found = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
        pictures = [p for p in found if p.suffix.lower() in SUFFIXES]
        ignored += len(found) - len(pictures)
        if not pictures:
            raise DataError(
                f"{folder}: class folder '{folder.name}' holds no image files ({', '.join(SUFFIXES)})",
                hint="add its images, or remove the empty folder",
            )
        files += [(p, folder.name) for p in pictures]
    if len(classes) < 2:
        raise DataError(
            f"{path}: {len(classes)} class folder(s); classification needs at least 2",
            hint="put each class's images in a sub-folder named after the class",
        )
    log = CleaningLog(rows_in=len(files))
    if ignored:
        log.add("not_an_image", None, ignored, f"ignored {ignored} file(s) without an image extension")
    headers, bad = {}, []
    for p, _ in files:
        try:
            with _quiet(), _open(p) as img:
                headers[p] = (img.mode, (img.height, img.width))
        except UNREADABLE:
            bad.append(p)
    if mode == "auto":
        mode = "rgb" if any(m not in GRAY_MODES for m, _ in headers.values()) else "grayscale"
    if size is None and headers:
        size = Counter(s for _, s in headers.values()).most_common(1)[0][0]
    size = tuple(int(s) for s in size) if size is not None else (1, 1)
    arrays, labels, kept, resized = [], [], [], 0
    tell = progress or (lambda done, total: None)
    for i, (p, label) in enumerate(files):
        tell(i, len(files))
        if p in bad:
            continue
        try:
            arrays.append(decode_image(p, size, mode))
        except UNREADABLE:
            bad.append(p)
            continue
        resized += headers[p][1] != size
        labels.append(label)
        kept.append(p.relative_to(path).as_posix())
    tell(len(files), len(files))
    _check_corrupt(path, bad, len(files), max_corrupt, log)
    if resized:
        log.add("resized", None, resized, f"resized {resized} image(s) of another size to {size[0]}x{size[1]}")
    for folder in classes:
        if folder.name not in labels:
            raise DataError(
                f"{folder}: class folder '{folder.name}' holds no readable image",
                hint="replace its corrupt files, or remove the folder",
            )
    log.rows_out = len(kept)
    images = np.stack(arrays).astype(np.float32) / 255.0  # (n, channels, height, width)
    return ImageSet(images, np.asarray(labels, dtype=object), log, kept, mode, 255.0)


def image_array(images: Any, labels: Any, *, source: str = "data") -> ImageSet:
    """NumPy images (n, height, width) or (n, channels, height, width) with n labels, checked.

    uint8 pixels are divided by 255; other numbers are kept as they are.
    """
    x = np.asarray(images)
    y = np.asarray(labels).reshape(-1) if labels is not None else None
    if x.ndim not in (3, 4):
        raise DataError(
            f"{source}: images of shape {x.shape}; expected (n, height, width) or (n, channels, height, width)"
        )
    if y is None or len(y) != len(x):
        raise DataError(
            f"{source}: {len(x)} images but {0 if y is None else len(y)} labels",
            hint="pass data=(images, labels) with one label per image",
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{source}: images of dtype {x.dtype}; expected numbers")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = x.astype(np.float32) / np.float32(scale)
    if x.ndim == 3:
        x = x[:, None]  # (n, 1, height, width)
    bad = ~np.isfinite(x).reshape(len(x), -1).all(axis=1)
    if bad.any():
        raise DataError(
            f"{source}: image {int(np.flatnonzero(bad)[0])} holds NaN or infinite pixels "
            f"({int(bad.sum())} image(s) in all)"
        )
    missing = [i for i, v in enumerate(y) if v is None or (isinstance(v, float) and np.isnan(v))]
    if missing:
        raise DataError(f"{source}: label {missing[0]} is missing ({len(missing)} in all)")
    plain = np.array([v.item() if isinstance(v, np.generic) else v for v in y], dtype=object)
    log = CleaningLog(rows_in=len(x), rows_out=len(x))
    return ImageSet(x, plain, log, None, "grayscale" if x.shape[1] == 1 else "rgb", scale)


@dataclass
class ImagePreprocessor:
    """Reads files as training did (mode, size, pixel scale), then normalizes each channel.

    `normalize`: standard (mean 0, std 1 per channel), minmax (0..1 per channel) or none,
    fitted on the training split only; or weights: the given per-channel mean and std that
    pretrained weights were trained with (models/backbone.py), fitted on nothing. Saved in the
    bundle as JSON.
    """

    size: list[int]
    mode: str
    channels: int
    scale: float = 255.0
    normalize: str = "standard"
    shift: list[float] = field(default_factory=list)
    divide: list[float] = field(default_factory=list)

    def fit(self, images: np.ndarray, weights: tuple[list[float], list[float]] | None = None) -> ImagePreprocessor:
        """Fit the normalization on the training images; with `weights` ((mean, std) of RGB
        channels), use those instead (a grayscale channel takes their averages)."""
        if weights is not None:
            low, high = (float(images.min()), float(images.max())) if images.size else (0.0, 1.0)
            if low < 0 or high > 1 + 1e-6:  # the weights' statistics are of pixels in [0, 1]
                raise DataError(
                    f"data: pixels range over [{low:g}, {high:g}]; pretrained weights read pixels scaled to [0, 1]",
                    hint="pass uint8 images, or float images divided by their maximum (255 for 8 bits); "
                    "or set data.normalize: standard",
                )
            mean, std = (np.asarray(v, dtype=np.float64) for v in weights)
            if self.channels == 1:
                mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
            self.normalize, self.shift, self.divide = "weights", mean.tolist(), std.tolist()
            return self
        per_channel = images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1).astype(np.float64)
        if self.normalize == "standard":
            shift, divide = per_channel.mean(axis=1), per_channel.std(axis=1)
        elif self.normalize == "minmax":
            shift, divide = per_channel.min(axis=1), np.ptp(per_channel, axis=1)
        else:
            shift, divide = np.zeros(len(per_channel)), np.ones(len(per_channel))
        divide = np.where(divide > 1e-12, divide, 1.0)  # a constant channel stays put
        self.shift, self.divide = shift.tolist(), divide.tolist()
        return self

    def transform(self, images: np.ndarray, *, source: str = "data") -> np.ndarray:
        """(n, channels, height, width) scaled pixels -> normalized float32 model inputs."""
        if tuple(images.shape[1:]) != (self.channels, *self.size):
            raise DataError(
                f"{source}: images of shape {tuple(images.shape[1:])}; the model reads "
                f"{(self.channels, *self.size)} (channels, height, width)"
            )
        shift = np.asarray(self.shift, dtype=np.float32)[None, :, None, None]
        divide = np.asarray(self.divide, dtype=np.float32)[None, :, None, None]
        return ((images - shift) / divide).astype(np.float32)

    def read(self, files: Sequence[str | Path]) -> tuple[np.ndarray, list[str | None]]:
        """Decode `files` as in training: (n, channels, h, w) scaled pixels (zeros where a file is
        unreadable) and, per file, None or why it could not be read."""
        out = np.zeros((len(files), self.channels, *self.size), dtype=np.float32)
        errors: list[str | None] = []
        for i, p in enumerate(files):
            try:
                out[i] = decode_image(Path(p), tuple(self.size), self.mode) / np.float32(self.scale)
                errors.append(None)
            except UNREADABLE as err:
                errors.append(f"not a readable image ({type(err).__name__})")
        return out, errors

    def input_schema(self) -> dict[str, Any]:
        return {"image": {"kind": "image", "mode": self.mode, "channels": self.channels, "size": self.size}}

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "mode": self.mode,
            "channels": self.channels,
            "scale": self.scale,
            "normalize": self.normalize,
            "shift": list(self.shift),
            "divide": list(self.divide),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImagePreprocessor:
        return cls(**d)


# -- decoding ---------------------------------------------------------------------------------
def _open(path: Path):
    with needs_extra("images"):
        from PIL import Image

    return Image.open(path)


def decode_image(path: Path, size: tuple[int, ...], mode: str) -> np.ndarray:
    """One file as uint8 (channels, height, width), converted and resized (bilinear)."""
    with needs_extra("images"):
        from PIL import Image

    with _quiet(), Image.open(path) as opened:
        img = opened.convert("L" if mode == "grayscale" else "RGB")
        if (img.height, img.width) != tuple(size):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(img, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


@contextmanager
def _quiet() -> Iterator[None]:
    # Pillow warns on odd but readable files (palette transparency, large images); the file is
    # still read, so the warning must not stop a run where warnings are errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _unreadable() -> tuple[type[BaseException], ...]:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # no image can be opened then: _open and decode_image say which extra to install
        return (OSError, ValueError, SyntaxError)

    return (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError)


UNREADABLE = _unreadable()


def _check_corrupt(path: Path, bad: list[Path], total: int, max_corrupt: float, log: CleaningLog) -> None:
    if not bad:
        return
    names = ", ".join(p.relative_to(path).as_posix() for p in bad[:SHOWN]) + (" ..." if len(bad) > SHOWN else "")
    share = len(bad) / max(total, 1)
    if share > max_corrupt:
        raise DataError(
            f"{path}: {len(bad)} of {total} image files ({share:.1%}) cannot be read: {names}",
            hint=f"replace or remove them, or raise data.image.max_corrupt (now {max_corrupt:g})",
        )
    log.add("corrupt_image", None, len(bad), f"skipped {len(bad)} corrupt image file(s) Pillow cannot read: {names}")
