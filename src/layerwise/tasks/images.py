"""Image classification data for a run: read the images, split, normalize on train only.

    folder of class folders | (images, labels) arrays -> ImageSet -> stratified split
    -> per-channel normalization fitted on the training split -> Prepared (n, channels, h, w)

The run then trains and judges it like any classification (majority-class baseline).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config.schema import ExperimentConfig
from ..data import TargetEncoder, split
from ..data.images import ImagePreprocessor, ImageSet, image_array, is_image_folder, read_image_folder
from ..errors import ConfigError
from ..bundle.predictor import TaskInfo
from .prepare import Prepared, split_method

TARGET = "label"       # what the class is called where a column name is expected (predictions, spec)


def is_image_run(cfg: ExperimentConfig, data: Any) -> bool:
    """Images when data= is an (images, labels) pair, `data.image` is set, or data.path is a folder of folders."""
    if isinstance(data, tuple) and len(data) == 2 and np.ndim(data[0]) in (3, 4):
        return True
    if data is not None:
        return False
    return cfg.data.image is not None or is_image_folder(cfg.data.path)


def read_images(cfg: ExperimentConfig, data: Any, progress: Any = None) -> tuple[ImageSet, str]:
    """The run's images and where they came from; every config problem first, at once.
    `progress(done, total)` hears of each image file decoded."""
    image, problems = cfg.data.image, []
    if cfg.task.type not in ("auto", "classification"):
        problems.append(f"task.type: images are classified; '{cfg.task.type}' does not apply (use classification)")
    if cfg.data.normalize == "robust":
        problems.append("data.normalize: 'robust' is for tables; images take standard, minmax or none")
    if cfg.data.split.method == "time":
        problems.append("data.split.method: images have no time order; use stratified or random (or auto)")
    if cfg.evaluate.gates.compare_to is not None:
        problems.append("evaluate.gates.compare_to: not supported for image runs yet")
    if data is None and cfg.data.path is None:
        problems.append("data.path: required key is missing (a folder with one sub-folder per class)")
    if problems:
        raise ConfigError(problems)
    if data is not None:
        images = image_array(data[0], data[1])
        return images, "data"
    images = read_image_folder(cfg.data.path, size=None if image is None else image.size,
                               mode="auto" if image is None else image.mode,
                               max_corrupt=0.05 if image is None else image.max_corrupt, progress=progress)
    return images, str(cfg.data.path)


def prepare_images(cfg: ExperimentConfig, images: ImageSet) -> Prepared:
    """Split (stratified unless asked otherwise), fit the label encoder and pixel normalization on train."""
    data = cfg.data
    method = split_method(cfg, "classification")
    labels = images.labels.astype(str)
    notes = []
    if method == "stratified" and data.split.method == "auto":
        counts = pd.Series(labels).value_counts()
        if (counts < 2).any():
            method = "random"
            notes.append(f"random split instead of stratified: class(es) {list(counts[counts < 2].index)} "
                         "have a single image")
    parts = split(len(labels), method=method, train=data.split.train, val=data.split.val, test=data.split.test,
                  y=labels if method == "stratified" else None, seed=cfg.train.seed)
    encoder = TargetEncoder("classification").fit(pd.Series(images.labels[parts.train]))
    pre = ImagePreprocessor(size=images.size, mode=images.mode, channels=int(images.images.shape[1]),
                            scale=images.scale, normalize=data.normalize).fit(images.images[parts.train])
    x, y, rows, index, files = {}, {}, {}, {}, {}
    for name in ("train", "val", "test"):
        idx = getattr(parts, name)
        unseen = sorted(set(images.labels[idx].tolist()) - set(encoder.classes), key=str)
        if unseen:
            keep = ~np.isin(images.labels[idx], unseen)
            notes.append(f"{name}: {int((~keep).sum())} images of classes absent from training dropped: {unseen}")
            idx = idx[keep]
        index[name] = idx
        x[name] = pre.transform(images.images[idx])              # (n, channels, height, width)
        y[name] = encoder.encode(pd.Series(images.labels[idx]))
        rows[name] = len(idx)
        if images.files is not None:
            files[name] = [images.files[i] for i in idx]
    task = TaskInfo(type="classification", target=TARGET, features=[], classes=list(encoder.classes))
    return Prepared(task, x, y, dict(y), rows, target=encoder, notes=notes, index=index, images=pre, files=files)


def labels_frame(images: ImageSet) -> pd.DataFrame:
    """The images' labels (and files) as a table: what `_judge` and the predictions table index into."""
    frame = pd.DataFrame({TARGET: images.labels})
    if images.files is not None:
        frame.insert(0, "file", images.files)
    return frame


def data_summary(prepared: Prepared, frame: pd.DataFrame) -> dict[str, Any]:
    """The report's data section: class balance per split, and the images' shape."""
    pre = prepared.images
    counts = {name: frame[TARGET].iloc[idx].astype(str).value_counts().sort_index()
              for name, idx in prepared.index.items()}
    classes = {name: {str(k): int(v) for k, v in c.items()} for name, c in counts.items()}
    return {"classes": classes, "images": {"size": list(pre.size), "mode": pre.mode, "channels": pre.channels,
                                           "normalize": pre.normalize}}


def test_table(prepared: Prepared, table: pd.DataFrame) -> pd.DataFrame:
    """The test predictions table, with each image's file first when the images came from a folder."""
    if prepared.files.get("test") is not None:
        table.insert(0, "file", prepared.files["test"])
    return table
