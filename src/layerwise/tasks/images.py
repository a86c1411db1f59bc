"""Images: classification of pictures read from a folder of class folders, or given as arrays.

folder of class folders | (images, labels) arrays -> ImageSet -> stratified split
-> per-channel normalization fitted on the training split -> (n, channels, h, w)
-> judged like any classification, beside the majority class
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import Split, TargetEncoder, split
from ..data.images import (
    ImagePreprocessor,
    ImageSet,
    LazyImages,
    image_array,
    list_image_folder,
    list_image_table,
    read_image_folder,
    read_listing,
    worker_count,
)
from ..data.resources import usable_cpus
from ..data.sources import CSV_SUFFIXES, PARQUET_SUFFIXES
from ..errors import ConfigError, DataError
from .base import Head, Prepared, Task, TaskInfo
from .common import (
    augment_problems,
    augment_settings,
    class_counts,
    class_table,
    class_weights,
    declared_problems,
    finish,
    image_data,
    labelled_metric,
    loss_problems,
    parts_of,
    reference_problems,
    saved_baseline,
    split_method,
    stratify_or_fall_back,
    table_key_problems,
    text_key_problems,
    watched_metric,
)
from .registry import register

TARGET = "label"  # what the class is called where a column name is expected (predictions, spec)
# images decoded at once for outputs when they are read from disk: the first layers' activations
# (n x channels x h x w each) take far more than the images, and they are large images
LAZY_BATCH = 64


@register
class Images(Task):
    name = "images"
    types = ("classification",)
    unit = "images"
    phrase = "image folders"

    def claims(self, cfg: Any, data: Any) -> bool:
        return image_data(cfg, data)

    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        return getattr(preprocessing, "images", None) is not None

    def refused(self, cfg: Any) -> list[str]:
        problems = []
        if cfg.task.type not in ("auto", "classification"):
            problems.append(f"task.type: images are classified; '{cfg.task.type}' does not apply (use classification)")
        if cfg.data.normalize == "robust":
            problems.append("data.normalize: 'robust' is for tables; images take auto, standard, minmax or none")
        if cfg.data.split.method == "time":
            problems.append("data.split.method: images have no time order; use stratified or random (or auto)")
        if cfg.evaluate.gates.compare_to is not None:
            problems.append("evaluate.gates.compare_to: not supported for image runs yet")
        if cfg.tune is not None and cfg.tune.cv is not None:
            problems.append(
                f"tune.cv: {cfg.tune.cv}: k-fold validation is for tables and series; an image run is "
                "tuned on its validation split (remove tune.cv)"
            )
        image = cfg.data.image
        if image is not None and image.files is not None and not _is_table(cfg.data.path):
            problems.append(
                f"data.image.files: names the column of a CSV or Parquet data.path that lists image files; "
                f"data.path is {cfg.data.path!r}"
            )
        if (image is None or image.files is None) and cfg.data.target is not None and cfg.data.path is not None:
            problems.append(
                "data.target: a folder of class folders takes its classes from the folder names "
                "(remove data.target, or list the images in a table with data.image.files)"
            )
        if image is not None and image.memory_mb is not None and image.lazy != "auto":
            problems.append(
                f"data.image.memory_mb: the budget data.image.lazy: auto decides by; lazy is {image.lazy} "
                "(remove memory_mb, or set lazy: auto)"
            )
        problems += _torchrun_problems(cfg)
        if cfg.data.transform != "none":
            problems.append(f"data.transform: '{cfg.data.transform}' applies to forecasting only")
        problems += text_key_problems(cfg, "images have no text columns")
        problems += table_key_problems(cfg, "images have no columns")
        problems += reference_problems(cfg, False, "an image folder")
        problems += declared_problems(cfg, (), "is a column kind; images have no columns (remove data.columns)")
        return problems

    def read(self, cfg: Any, data: Any, log: Any) -> ImageSet:
        """The run's images (`data.image` settings), with the progress of decoding on the log."""
        if data is None and cfg.data.path is None:
            finish(["data.path: required key is missing (a folder with one sub-folder per class)"], "")
        image = _image(cfg)
        if data is not None:
            given = [
                k
                for k, on in (("lazy", image.lazy is True), ("files", image.files), ("memory_mb", image.memory_mb))
                if on
            ]
            if given:
                raise ConfigError(
                    f"data.image.{given[0]}: says how image files are read; images passed as data= are in memory",
                    hint=f"remove data.image.{given[0]}, or pass a folder as data.path",
                )
            return image_array(data[0], data[1])
        if image.files is not None:
            listing = list_image_table(cfg.data.path, image.files, cfg.data.target, cfg.data.delimiter)
        else:
            listing = list_image_folder(cfg.data.path)
        from ..training.distributed import world_size

        # under torchrun a DataLoader feed is refused (refused()): auto holds the images in memory there
        lazy = False if world_size() > 1 and image.lazy == "auto" else image.lazy
        with log.steps("reading images") as steps:
            found = read_listing(
                listing,
                size=image.size,
                mode=image.mode,
                max_corrupt=image.max_corrupt,
                progress=steps,
                lazy=lazy,
                memory_mb=image.memory_mb,
                # the one pass before training has the CPUs to itself: a decoding thread on each
                workers=max(1, usable_cpus(), worker_count(image.workers)),
            )
        log.write(f"images: {found.reading}")
        return found

    def describe(self, source: ImageSet, name: str, kind: str) -> str:
        c, h, w = source.images.shape[1:]
        return (
            f"read {name}: {len(source.labels)} images of {c}x{h}x{w} ({source.mode}), "
            f"{len(set(source.labels.tolist()))} classes; task classification"
        )

    def check(self, cfg: Any, source: ImageSet, name: str) -> str:
        problems = loss_problems("classification", cfg.train.loss)
        problems += augment_problems(cfg, "images")
        return finish(problems, "classification")

    def prepare(self, cfg: Any, source: ImageSet, kind: str, name: str, parts: Split | None = None) -> Prepared:
        """Split (stratified unless asked otherwise), fit the label encoder and pixel normalization on train."""
        data = cfg.data
        labels = source.labels.astype(str)
        method, notes = stratify_or_fall_back(cfg, labels, split_method(cfg, "classification"), "image")
        parts = parts or split(
            len(labels),
            method=method,
            train=data.split.train,
            val=data.split.val,
            test=data.split.test,
            y=labels if method == "stratified" else None,
            seed=cfg.train.seed,
        )
        encoder = TargetEncoder("classification").fit(pd.Series(source.labels[parts.train]))
        # auto: the pretrained weights' own normalization where the model has one, else per channel, standard
        weights = model_normalization(cfg) if data.normalize == "auto" else None
        pre = ImagePreprocessor(
            size=source.size,
            mode=source.mode,
            channels=int(source.images.shape[1]),
            scale=source.scale,
            normalize="standard" if data.normalize == "auto" else data.normalize,
        )
        if source.lazy:  # left on disk: fitted from the statistics measured as the files were checked
            assert source.stats is not None, "a lazy ImageSet carries its images' statistics"
            pre.fit(None, weights, stats=source.stats[parts.train])
        else:
            pre.fit(source.images[parts.train], weights)
        x, y, rows, index, files = {}, {}, {}, {}, {}
        for part, idx in parts_of(parts):
            unseen = sorted(set(source.labels[idx].tolist()) - set(encoder.classes or []), key=str)
            if unseen:
                keep = ~np.isin(source.labels[idx], unseen)
                notes.append(f"{part}: {int((~keep).sum())} images of classes absent from training dropped: {unseen}")
                idx = idx[keep]
            index[part] = idx
            # (n, channels, height, width), or the same left on disk, read by data.image.workers processes
            x[part] = (
                LazyImages(source.images.take(idx), pre, worker_count(_image(cfg).workers))
                if source.lazy
                else pre.transform(source.images[idx])
            )
            y[part] = encoder.encode(pd.Series(source.labels[idx]))
            rows[part] = len(idx)
            if source.files is not None:
                files[part] = [source.files[i] for i in idx]
        frame = pd.DataFrame({TARGET: source.labels})
        if source.files is not None:
            frame.insert(0, "file", source.files)
        task = TaskInfo(type="classification", target=TARGET, features=[], classes=list(encoder.classes or []))
        return Prepared(
            task,
            x,
            y,
            dict(y),
            rows,
            target=encoder,
            notes=notes,
            index=index,
            images=pre,
            files=files,
            frame=frame,
            cleaning=source.log,
        )

    def head(self, cfg: Any, prepared: Prepared) -> Head:
        binary_bce = prepared.task.n_classes == 2 and cfg.train.loss in ("auto", "bce")
        if binary_bce:
            prepared.y = {k: v.astype(np.float32).reshape(-1, 1) for k, v in prepared.y.items()}
        return Head(1 if binary_bce else prepared.task.n_classes, "bce" if binary_bce else "cross_entropy")

    def class_weights(self, cfg: Any, prepared: Prepared) -> list[float] | None:
        return class_weights(cfg, prepared)

    def augmentation(self, settings: dict[str, Any], prepared: Prepared) -> Any:
        from ..data import augment  # torch: imported where a run trains

        pre = prepared.images  # a raw 0 pixel after normalization: what "black" is
        return augment.from_config(settings, "images", zero=[-s / d for s, d in zip(pre.shift, pre.divide)])

    def mixing(self, settings: dict[str, Any] | None, prepared: Prepared) -> Any:
        from ..data import augment  # torch: imported where a run trains

        return augment.mixer(settings, prepared.task.n_classes)

    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        from ..evaluation import majority_baseline

        x = prepared.x[part]
        if isinstance(x, LazyImages):  # images on disk: decoded a batch at a time by worker processes
            from ..data.image_loader import disk_outputs

            raw = disk_outputs(model, x, worker_count("auto") if x.workers is None else x.workers, LAZY_BATCH)
        else:
            raw = model.raw_outputs(x)
        return model.probabilities(raw), majority_baseline(prepared.actual["train"], prepared.task.n_classes, len(raw))

    def feed(self, cfg: Any, prepared: Prepared, device: Any) -> Any:
        """A DataLoader feed for training (data/image_loader.py) when the images are on disk or are
        augmented per image; None trains on the arrays in memory."""
        from ..data.image_loader import image_feed, item_settings

        settings = augment_settings(cfg)
        lazy = isinstance(prepared.x["train"], LazyImages)
        if not lazy and not item_settings(settings):
            return None
        image = _image(cfg)
        pre = prepared.images
        return image_feed(
            prepared.x,
            prepared.y,
            batch_size=cfg.train.batch_size,
            seed=cfg.train.seed,
            augment=settings,
            shift=pre.shift,
            divide=pre.divide,
            # arrays in memory are augmented in the training process unless workers are asked for
            workers=worker_count(image.workers) if lazy or image.workers != "auto" else 0,
            device=device,
        )

    def digest(self, prepared: Prepared) -> str | None:
        """What stands for images left on disk in a resume's fingerprint: each file's name (relative
        to the folder or table, so a moved folder still resumes), size in bytes, class and split,
        and the normalization fitted from their pixels (hashing the pixels would cost another pass)."""
        if not isinstance(prepared.x["train"], LazyImages):
            return None
        seen: list[Any] = []
        for part in ("train", "val"):
            x = prepared.x[part]
            paths = x.pixels.paths if isinstance(x, LazyImages) else []
            for name, path, code in zip(prepared.files.get(part, []), paths, prepared.actual[part].tolist()):
                try:
                    size = path.stat().st_size
                except OSError as err:
                    raise DataError(
                        f"{path}: cannot be read now ({type(err).__name__}), though it was when the run began",
                        hint="restore the file, or start the run again",
                    ) from err
                seen.append((part, name, size, code))
        seen.append(("images", json.dumps(prepared.images.to_dict(), sort_keys=True)))
        return hashlib.sha256(json.dumps(seen).encode()).hexdigest()

    def baseline_fit(self, prepared: Prepared) -> dict[str, Any]:
        from ..evaluation import majority_baseline

        return {"priors": majority_baseline(prepared.actual["train"], prepared.task.n_classes, 1)[0].tolist()}

    def watched(self, cfg: Any, prepared: Prepared) -> str | None:
        return None if cfg.train.metric == "loss" else watched_metric(cfg, prepared)

    def validation_metric(self, model: Any, prepared: Prepared, compute: Any):
        return labelled_metric(model, prepared, compute)

    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        """The test predictions, with each image's file first when the images came from a folder."""
        out = class_table(
            pd.DataFrame(), prepared.target, prepared.task.classes, prepared.actual["test"], model_out, baseline_out
        )
        if prepared.files.get("test") is not None:
            out.insert(0, "file", prepared.files["test"])
        return out

    def summary(self, prepared: Prepared) -> dict[str, Any]:
        """Class balance per split, and the images' shape."""
        pre, labels = prepared.images, prepared.table[TARGET]
        return {
            "classes": {name: class_counts(labels.iloc[idx]) for name, idx in prepared.index.items()},
            "images": described(pre),
        }

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        return model.probabilities(raw).argmax(axis=1)

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        raise DataError(
            "an image bundle predicts images, not rows",
            hint="use predict_images(FOLDER_OR_FILE) or `layerwise predict BUNDLE FOLDER`",
        )

    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        """An image bundle judged on a folder of class folders, beside its saved majority-class baseline."""
        fit = saved_baseline(model)
        folder = Path(data) if isinstance(data, (str, Path)) else None
        if folder is None or not folder.is_dir():
            raise DataError(
                f"{data if folder is not None else source}: an image bundle is evaluated on a folder, not a file",
                hint="pass a folder with one sub-folder of images per class, named as the class",
            )
        from ..training.runlog import Steps

        pre = model.images
        # max_corrupt=1: unreadable files are left out and counted here; too few left is still an error;
        # a folder larger than the memory budget is read from disk a batch at a time
        with Steps("reading images", quiet=not progress) as shown:
            images = read_image_folder(
                folder,
                size=pre.size,
                mode=pre.mode,
                max_corrupt=1.0,
                progress=shown,
                lazy="auto",
                workers=usable_cpus(),
            )
        notes = list(images.log.lines())
        known = {str(c): c for c in model.target.classes}
        labels = np.array([str(v) for v in images.labels], dtype=object)
        keep = np.isin(labels, list(known))
        if not keep.any():
            raise DataError(
                f"{folder}: no class folder is named as a class of the model ({', '.join(known)})",
                hint="name each sub-folder after the class its images show",
            )
        if not keep.all():
            unseen = sorted(set(labels[~keep].tolist()))
            notes.append(f"{int((~keep).sum())} images of classes the model never saw were left out: {unseen}")
        # read_image_folder divides by 255; the bundle divides file pixels by its own scale, as predict does
        if images.lazy:
            from ..data.image_loader import disk_outputs

            on_disk = replace(images.images.take(np.flatnonzero(keep)), scale=pre.scale)
            raw = disk_outputs(model, LazyImages(on_disk, pre), worker_count("auto"), LAZY_BATCH)
        else:
            pixels = images.images[keep] * np.float32(255.0 / pre.scale)  # (n, channels, h, w)
            raw = model.raw_outputs(pre.transform(pixels, source=source))
        proba = model.probabilities(raw)
        actual = [known[v] for v in labels[keep]]
        y = model.target.encode(pd.Series(actual, dtype=object))
        baseline_out = np.repeat(np.asarray(fit["priors"], dtype=np.float64)[None, :], len(y), axis=0)
        table = class_table(
            pd.DataFrame({"file": np.asarray(images.files, dtype=object)[keep]}),
            model.target,
            model.task.classes,
            y,
            proba,
            baseline_out,
        )
        table["actual"] = actual
        metrics = {
            "cleaning": images.log.to_dict(),
            "data": {"classes": {"test": class_counts(table["actual"])}, "images": described(pre)},
        }
        return {
            "y": y,
            "model_out": proba,
            "baseline_out": baseline_out,
            "table": table,
            "judged": {},
            "notes": notes,
            "metrics": metrics,
        }


def described(pre: ImagePreprocessor) -> dict[str, Any]:
    return {"size": list(pre.size), "mode": pre.mode, "channels": pre.channels, "normalize": pre.normalize}


def model_normalization(cfg: Any) -> tuple[list[float], list[float]] | None:
    """The (mean, std) the model's pretrained weights read images with (a backbone with weights), or None."""
    from ..models import get  # torch: imported where a run builds its model

    block = get(cfg.model.type)
    normalization = getattr(block, "normalization", None)
    return None if normalization is None else normalization(cfg.model.model_dump())


def _is_table(path: Any) -> bool:
    return path is not None and Path(str(path)).suffix.lower() in CSV_SUFFIXES + PARQUET_SUFFIXES


def _image(cfg: Any) -> Any:
    """The data.image section, its defaults where the config has none."""
    from ..config.schema import ImageConfig  # pydantic: not where only a bundle predicts

    return cfg.data.image or ImageConfig()


def _torchrun_problems(cfg: Any) -> list[str]:
    """A DataLoader feed (images read from disk, or augmented one by one) trains in one process."""
    from ..data.augment import ITEM_KEYS, active  # torch: imported where a run is checked
    from ..training.distributed import world_size

    if world_size() <= 1:
        return []
    image = cfg.data.image
    asked = ["data.image.lazy: true"] if image is not None and image.lazy is True else []
    asked += [f"data.augment.{k}" for k in active(augment_settings(cfg)) if k in ITEM_KEYS]
    return [
        f"{key}: images fed by a DataLoader (read from disk, or augmented one by one) train in one process; "
        f"this run was started under torchrun with {world_size()} processes (run it without torchrun, or hold "
        "the images in memory with batch augmentation only: flip, shift, rotate, brightness, mixup, cutmix)"
        for key in asked
    ]
