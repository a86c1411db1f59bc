"""Model-space inputs for a bundle's network: from raw rows or image files, or drawn at random for a check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..bundle.predictor import Predictor
from ..data.images import ImagePreprocessor
from ..errors import DataError, UsageError


def model_inputs(predictor: Predictor, frame: pd.DataFrame | str | Path, *, source: str = "data") -> np.ndarray:
    """What `predictor.predict(frame)` feeds its network: rows (n, features) or windows (n, lookback, features);
    for an image bundle, `frame` is an image file or folder and the inputs are (n, channels, height, width)."""
    task = predictor.task
    if predictor.images is not None:
        if isinstance(frame, pd.DataFrame):
            raise UsageError(
                f"{source}: an image bundle reads image files, not a table of rows",
                hint="pass an image file or a folder of them",
            )
        return _image_inputs(predictor.images, Path(frame), source)
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(
            f"{source}: a bundle of rows reads a table, not the path {str(frame)!r}",
            hint="read the file first (layerwise.data.read_table) and pass the DataFrame",
        )
    if predictor.series is None:
        # every bundle of rows that is neither images nor a series holds a fitted table preprocessor
        assert predictor.features is not None
        return predictor.features.transform(frame, source=source)  # names the columns a file lacks
    if task.time is not None and task.time in frame.columns:
        frame = frame.sort_values(task.time, kind="stable", key=lambda c: pd.to_datetime(c, errors="coerce"))
    inputs, _ = predictor.series.transform(frame.reset_index(drop=True), source=source)
    lookback = task.lookback
    ends = np.arange(predictor.series.warmup + lookback - 1, len(inputs))
    # (n_windows, lookback, features): as Predictor._predict_series cuts them
    windows = inputs[ends[:, None] - np.arange(lookback - 1, -1, -1)[None, :]]
    return windows[np.isfinite(windows).all(axis=(1, 2))].astype(np.float32)


def random_inputs(predictor: Predictor, rows: int, seed: int = 0) -> np.ndarray:
    """Standard-normal inputs of the network's shape: how standardized features are spread.

    A text column's slice holds token ids instead, as the tokenizer writes them: real ids from
    the left, then padding (0), each row a random number of tokens; rows 2 and 3 (the first that
    export holds out from tracing) are an empty text and a full one, the two edges a text
    encoder treats apart.
    """
    shape = (rows, *predictor.model["input_shape"])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    for offset, length, vocab in text_slices(predictor):
        counts = rng.integers(0, length + 1, rows)
        counts[2:3], counts[3:4] = 0, length
        ids = rng.integers(1, vocab, (rows, length))  # (rows, length): [UNK] and real tokens
        ids[np.arange(length)[None, :] >= counts[:, None]] = 0
        x[:, offset : offset + length] = ids
    return x


def text_slices(predictor: Predictor) -> list[tuple[int, int, int]]:
    """(offset, length, vocabulary size) of each text column's token ids in a model-space row."""
    features = predictor.features
    if features is None or "text" not in features.kinds.values():
        return []
    layout = features.layout
    slices, offset = [], layout["dense"]
    for text in layout["texts"]:
        slices.append((offset, text["length"], text["vocab"]))
        offset += text["length"]
    return slices


def _image_inputs(images: ImagePreprocessor, path: Path, source: str) -> np.ndarray:
    """The readable images under `path`, decoded and normalized as `predict_images` does."""
    from ..data.images import list_images

    files = list_images(path)
    pixels, errors = images.read(files)
    ok = np.array([e is None for e in errors], dtype=bool)
    if not ok.any():
        raise DataError(
            f"{path}: no readable image files", hint="pass an image file or a folder of them (PNG, JPEG, ...)"
        )
    return images.transform(pixels[ok], source=source)  # (n, channels, height, width)
