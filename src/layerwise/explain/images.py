"""The images an image bundle explains, read as `predict` reads them, and the run's own test split.

DATA is an image file, a folder (of class folders or plain images, searched recursively) or a
NumPy array shaped like the training images, exactly what `layerwise predict` accepts. Where
`predict` reports an unreadable file in its `error` column, there is nothing to attribute
here, so it is an error naming the files.

Without DATA: a Result hands over its test images; a bundle reads its data folder again from
the stored config and splits it as the run did (same files, same seed), since the run folder
keeps the test split's file names but not its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle.predictor import Predictor
from ..config.schema import ExperimentConfig
from ..data.images import SUFFIXES, FilePixels, ImagePreprocessor, LazyImages, image_array, list_images
from ..errors import DataError, UsageError

SHOWN = 5  # unreadable files named in a message


@dataclass
class ImageInputs:
    x: Any  # (n, channels, h, w) normalized model inputs: an array, or LazyImages for images on disk
    labels: list[Any]  # (n,) each image's file (relative to DATA) or index
    pixels: Any  # (n, h, w) the images as read, channels averaged, what heatmaps lie over (or a ChannelMean)


def image_inputs(
    predictor: Predictor, data: Any, *, test_images: Any = None, test_labels: list[Any] | None = None
) -> ImageInputs:
    """Model inputs for `data` (None: the run's test split; `test_images` an array, or FilePixels)."""
    labels: list[Any]
    pixels: Any
    if data is None and test_images is not None:
        pixels = test_images if isinstance(test_images, FilePixels) else np.asarray(test_images, dtype=np.float32)
        labels = list(test_labels) if test_labels is not None else list(range(len(pixels)))
        source = "the run's test split"
    elif data is None:
        pixels, labels = _test_split(predictor)
        source = "the run's test split"
    elif isinstance(data, np.ndarray):
        pixels, source = image_array(data, np.zeros(len(data)), source="data").images, "data"
        labels = list(range(len(pixels)))
    elif isinstance(data, (str, Path)):
        pixels, labels = _read(predictor, Path(data))
        source = str(data)
    else:
        raise UsageError(
            f"data: an image bundle explains an image file, a folder of them or a NumPy array, "
            f"not a {type(data).__name__}",
            hint="pass what `layerwise predict` takes",
        )
    if isinstance(pixels, FilePixels):  # left on disk: only the images explained are decoded
        pre = _preprocessor(predictor)
        return ImageInputs(LazyImages(pixels, pre), labels, ChannelMean(pixels))
    x = _preprocessor(predictor).transform(pixels, source=source)  # the shape check and message of predict
    return ImageInputs(x, labels, pixels.mean(axis=1))


@dataclass
class ChannelMean:
    """The (h, w) pictures of images left on disk, channels averaged, decoded when indexed."""

    pixels: FilePixels

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.pixels[index].mean(axis=-3)


def black(predictor: Predictor) -> tuple[np.ndarray, str]:
    """The baseline: a black image (every pixel 0 before normalization), in model space."""
    pre = _preprocessor(predictor)
    zero = np.zeros((1, pre.channels, *pre.size), dtype=np.float32)
    return pre.transform(zero)[0], "a black image (every pixel 0 before normalization)"


def _read(predictor: Predictor, path: Path) -> tuple[np.ndarray, list[str]]:
    if path.is_file() and path.suffix.lower() not in SUFFIXES:
        raise DataError(
            f"{path}: not an image file (expected {', '.join(SUFFIXES)})",
            hint="pass an image file or a folder of them, as `layerwise predict` takes",
        )
    files = list_images(path)  # names a path that does not exist
    if not files:
        raise DataError(
            f"{path}: no image files found ({', '.join(SUFFIXES)}), searched recursively",
            hint="pass an image file or a folder of them",
        )
    pixels, errors = _preprocessor(predictor).read(files)
    bad = [(f, e) for f, e in zip(files, errors) if e is not None]
    if bad:
        named = "; ".join(f"{f}: {e}" for f, e in bad[:SHOWN])
        raise DataError(
            f"{len(bad)} of {len(files)} file(s) cannot be read as images: {named}",
            hint="remove or replace them; `layerwise predict` lists every unreadable file",
        )
    root = path if path.is_dir() else path.parent
    return pixels, [str(f.relative_to(root)) for f in files]


def _preprocessor(predictor: Predictor) -> ImagePreprocessor:
    # only image bundles are explained here (explain() sends them by their `images`)
    assert predictor.images is not None, "an image bundle keeps its image preprocessor"
    return predictor.images


def _test_split(predictor: Predictor) -> tuple[np.ndarray, list[Any]]:
    from ..tasks import prepare_again

    if not predictor.config:
        raise UsageError("this model has no stored config to find its images; pass DATA")
    cfg = ExperimentConfig.from_dict(predictor.config)
    if cfg.data.path is None:
        raise UsageError("the run read its images from Python (no data.path); pass DATA (a folder or an array)")
    _, images, prepared = prepare_again(cfg)
    index = prepared.index["test"]
    labels = [images.files[i] for i in index] if images.files is not None else index.tolist()
    return (images.images.take(index) if images.lazy else images.images[index]), labels
