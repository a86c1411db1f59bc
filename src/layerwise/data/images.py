"""Images for classification: a folder of class folders, a table listing image files, or NumPy
arrays, as (n, channels, height, width).

    folder/                          images.csv (data.image.files: path, data.target: label)
      cat/  a.png  b.jpg ...           path,label
      dog/  ...                        photos/a.jpg,cat     (relative to the table's folder)

Files are decoded with Pillow, converted to one mode (grayscale: 1 channel, rgb: 3) and resized
to one size; a file Pillow cannot read is skipped and written to the cleaning log, and too many
of them is an error. Pixels of files (and of uint8 arrays) are scaled to [0, 1]; per-channel
normalization is fitted on the training split by `ImagePreprocessor`, which also reads new
files the same way at prediction time.

Held in memory, or left on disk (`data.image.lazy`; auto decides by the decoded size against a
memory budget): `FilePixels` and `LazyImages` are then array-likes that decode when indexed, and
data/image_loader.py feeds training from them through a DataLoader, so memory does not grow
with the number of images. Either way every file is decoded once before training, so
unreadable files are found, skipped and counted alike.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, needs_extra
from .cleaning_log import CleaningLog
from .resources import available_mb, usable_cpus

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CHANNELS = {"grayscale": 1, "rgb": 3}
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
SHOWN = 5  # corrupt files named in a message
MOST_WORKERS = 8  # data.image.workers: auto
STATS_CHUNK = 256  # images whose pixels are summed at a time when normalization is fitted


@dataclass
class ImageSet:
    """Images and their labels; `files` relative to the folder or table (None for arrays).

    `images` is the decoded (n, channels, h, w) float32 array, or a `FilePixels` that decodes
    them when indexed (data.image.lazy); `stats` then holds what normalization is fitted from,
    measured as the files were checked: per image and channel, the sum of pixels, of their
    squares, the least and the largest, (n, channels, 4) float64.
    """

    images: Any  # np.ndarray (n, channels, height, width) float32, or FilePixels
    labels: np.ndarray  # (n,) class labels
    log: CleaningLog
    files: list[str] | None = None
    mode: str = "grayscale"
    scale: float = 1.0  # what pixels were divided by: 255 for files and uint8 arrays
    stats: np.ndarray | None = None
    reading: str = ""  # how the images are held, and why (the run log's line)

    @property
    def size(self) -> list[int]:
        return list(self.images.shape[2:])

    @property
    def lazy(self) -> bool:
        return isinstance(self.images, FilePixels)


@dataclass
class Listing:
    """Image files and their class labels, found but not yet opened."""

    root: Path  # what `files` are named relative to, in messages and predictions.csv
    paths: list[Path]
    labels: list[str]
    log: CleaningLog
    classes: list[str]  # every class named, to check each keeps a readable image
    where: dict[str, Path] = field(default_factory=dict)  # a class's folder, for its messages


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


def list_image_folder(path: str | Path) -> Listing:
    """The image files of every class folder under `path`, by class; nothing is opened."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: not a folder", hint="pass a folder with one sub-folder of images per class")
    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths: list[Path] = []
    labels: list[str] = []
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
        paths += pictures
        labels += [folder.name] * len(pictures)
    if len(classes) < 2:
        raise DataError(
            f"{path}: {len(classes)} class folder(s); classification needs at least 2",
            hint="put each class's images in a sub-folder named after the class",
        )
    log = CleaningLog(rows_in=len(paths))
    if ignored:
        log.add("not_an_image", None, ignored, f"ignored {ignored} file(s) without an image extension")
    names = [f.name for f in classes]
    return Listing(path, paths, labels, log, names, {f.name: f for f in classes})


def list_image_table(path: str | Path, column: str, target: str | None, delimiter: str = ",") -> Listing:
    """The image files a CSV or Parquet table lists in `column`, with their classes in `target`.

    A relative path is taken from the table's folder. Rows without a path or a label are skipped
    and logged; a path to no file counts as an unreadable image (data.image.max_corrupt)."""
    from .sources import read_table

    path = Path(path)
    if target is None:
        raise DataError(
            f"{path}: data.target is missing; a table of images needs the column holding each image's class",
            hint=f"set data.target to the label column (data.image.files: {column} names the files)",
        )
    table = read_table(path, delimiter=delimiter)
    for key, name, holds in (("data.image.files", column, "each image file"), ("data.target", target, "its class")):
        if name not in table.columns:
            raise DataError(
                f"{path}: {key}: no column '{name}' (columns: {', '.join(map(str, table.columns[:12]))})",
                hint=f"set {key} to the column that holds {holds}",
            )
    named, labels = table[column], table[target]
    if labels.dtype.kind == "f" and bool((labels.dropna() % 1 == 0).all()):
        labels = labels.astype("Int64")  # whole-number classes a missing value turned into floats: 1, not 1.0
    kept = named.notna() & (named.astype(str).str.strip() != "") & labels.notna()
    log = CleaningLog(rows_in=len(table))
    if not kept.all():
        first = int(np.flatnonzero(~kept.to_numpy())[0]) + 1  # the header is not a row
        log.add(
            "missing_target",
            None,
            int((~kept).sum()),
            f"skipped {int((~kept).sum())} row(s) without a file or a label (the first: data row {first})",
        )
    root = path.parent
    paths = [Path(str(v).strip()) for v in named[kept]]
    paths = [p if p.is_absolute() else root / p for p in paths]
    classes = sorted({str(v) for v in labels[kept]})
    if len(classes) < 2:
        raise DataError(
            f"{path}: column '{target}' holds {len(classes)} class(es); classification needs at least 2",
            hint="check data.target names the label column",
        )
    return Listing(root, paths, [str(v) for v in labels[kept]], log, classes)


def read_image_folder(path: str | Path, **options: Any) -> ImageSet:
    """Read every image of every class folder under `path`; `options` as `read_listing` takes them."""
    return read_listing(list_image_folder(path), **options)


def read_listing(
    listing: Listing,
    *,
    size: Sequence[int] | None = None,
    mode: str = "auto",
    max_corrupt: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
    lazy: bool | str = False,
    memory_mb: float | None = None,
    workers: int = 1,
) -> ImageSet:
    """Check and read the listed images: decoded into memory, or (lazy) left on disk.

    Args:
        size: (height, width) every image is resized to; None = the most common size.
        mode: grayscale, rgb, or auto (rgb when any image has colour).
        max_corrupt: the largest share of unreadable files that is skipped rather than refused.
        progress: called as progress(done, total) as the image files are decoded (the slow
            part; their headers are read first, quickly).
        lazy: True, False, or "auto": lazily when the decoded images, as read and normalized,
            would not fit `memory_mb` (None: half the memory available now); see `holding`.
        workers: threads decoding at once.
    Lazily, every file is still decoded once here, in `workers` threads, and dropped: an
    unreadable file is found before training as it is in memory, and the statistics
    normalization needs are measured on the way (`ImageSet.stats`).
    """
    paths, labels, log = listing.paths, listing.labels, listing.log
    headers, bad = read_headers(paths)
    found_mode, found_size = header_choice(headers)
    mode = found_mode if mode == "auto" else mode
    shape = tuple(int(s) for s in size) if size is not None else found_size
    good = [i for i, p in enumerate(paths) if p in headers]
    held, reading = holding(lazy, len(good), CHANNELS[mode], shape, memory_mb)
    pixels = FilePixels([paths[i] for i in good], shape, mode, 255.0, workers)
    tell = progress or (lambda done, total: None)
    results = _decoded_all(pixels, held, workers, tell, len(paths))
    arrays, kept, resized = [], [], 0
    kept_labels: list[str] = []
    for i, found in zip(good, results):
        p = paths[i]
        if found is None:
            bad.append(p)
            continue
        arrays.append(found)
        resized += headers[p][1] != shape
        kept_labels.append(labels[i])
        kept.append(i)
    _check_corrupt(listing.root, bad, len(paths), max_corrupt, log)
    if resized:
        log.add("resized", None, resized, f"resized {resized} image(s) of another size to {shape[0]}x{shape[1]}")
    present = set(kept_labels)
    for name in listing.classes:
        if name not in present:
            folder = listing.where.get(name)
            raise DataError(
                f"{folder}: class folder '{name}' holds no readable image"
                if folder is not None
                else f"{listing.root}: class '{name}' has no readable image file",
                hint="replace its corrupt files, or remove the folder" if folder is not None else "replace its files",
            )
    log.rows_out = len(kept)
    files = [_relative(paths[i], listing.root) for i in kept]
    out_labels = np.asarray(kept_labels, dtype=object)
    if held == "lazy":
        lazy_pixels = FilePixels([paths[i] for i in kept], shape, mode, 255.0, workers)
        return ImageSet(lazy_pixels, out_labels, log, files, mode, 255.0, np.stack(arrays), reading)
    images = np.empty((len(arrays), CHANNELS[mode], *shape), dtype=np.float32)  # (n, channels, height, width)
    for j, raw in enumerate(arrays):  # filled one image at a time: no second full-size temporary
        np.divide(raw, np.float32(255.0), out=images[j], dtype=np.float32)
    return ImageSet(images, out_labels, log, files, mode, 255.0, None, reading)


def read_headers(paths: Sequence[Path]) -> tuple[dict[Path, tuple[str, tuple[int, int]]], list[Path]]:
    """({file: (Pillow mode, (height, width))}, the files whose header cannot be read): quick, no pixels."""
    headers, bad = {}, []
    for p in paths:
        try:
            with _quiet(), _open(p) as img:
                headers[p] = (img.mode, (img.height, img.width))
        except UNREADABLE:
            bad.append(p)
    return headers, bad


def header_choice(headers: dict[Path, tuple[str, tuple[int, int]]]) -> tuple[str, tuple[int, int]]:
    """(mode, size) of mode and size auto: rgb when any image has colour; the most common size."""
    mode = "rgb" if any(m not in GRAY_MODES for m, _ in headers.values()) else "grayscale"
    size = Counter(s for _, s in headers.values()).most_common(1)[0][0] if headers else (1, 1)
    return mode, size


def holding(lazy: bool | str, n: int, channels: int, size: Sequence[int], memory_mb: float | None) -> tuple[str, str]:
    """("memory" | "lazy", the run log's reason) for n decoded images of (channels, *size)."""
    # MB: float32 as read and as normalized, and the 8-bit pixels while they are read
    need = n * channels * int(np.prod(size)) * (4 + 4 + 1) / 2**20
    what = f"{n:,} images of {channels}x{size[0]}x{size[1]} take {need:,.0f} MB in memory (read and normalized)"
    if lazy is True:
        return "lazy", f"{what}; read from disk as training goes (data.image.lazy: true)"
    if lazy is False:
        return "memory", f"{what}; decoded into memory (data.image.lazy: false)"
    budget = memory_mb if memory_mb is not None else available_mb() / 2
    source = "data.image.memory_mb" if memory_mb is not None else "half the memory available"
    if need <= budget:
        return "memory", f"{what}, within {budget:,.0f} MB ({source}): decoded into memory"
    return "lazy", f"{what}, more than {budget:,.0f} MB ({source}): read from disk as training goes"


def worker_count(setting: int | str) -> int:
    """data.image.workers: a count, or auto = one per usable CPU but one, at most 8."""
    if setting != "auto":
        return int(setting)
    return max(1, min(MOST_WORKERS, usable_cpus() - 1))


def _decoded_all(
    pixels: FilePixels, held: str, workers: int, tell: Callable[[int, int], None], total: int
) -> list[np.ndarray | None]:
    """Each file decoded (in memory: its uint8 pixels; lazily: its statistics only), or None when
    unreadable; in `workers` threads (Pillow decodes outside the GIL)."""

    def one(i: int) -> np.ndarray | None:
        try:
            raw = decode_image(pixels.paths[i], pixels.size, pixels.mode, quiet=False)
        except UNREADABLE:
            return None
        return raw if held == "memory" else pixel_stats(raw.astype(np.float32) / np.float32(pixels.scale))

    n = len(pixels.paths)
    out: list[np.ndarray | None] = []
    step = max(1, workers) * 64  # submitted at a time: a pool given every file at once holds a task for each
    with _quiet(), ThreadPoolExecutor(max(1, workers)) as pool:
        for start in range(0, n, step):
            chunk = range(start, min(start + step, n))
            for i, found in zip(chunk, pool.map(one, chunk) if workers > 1 else map(one, chunk)):
                tell(i, total)  # as each result arrives: the progress line moves file by file
                out.append(found)
    tell(total, total)
    return out


def pixel_stats(image: np.ndarray) -> np.ndarray:
    """(channels, 4): per channel the sum of one image's pixels, of their squares, the least, the largest."""
    return batch_stats(image[None])[0]


def batch_stats(images: np.ndarray) -> np.ndarray:
    """(n, channels, 4): `pixel_stats` of each of (n, channels, h, w) images."""
    flat = images.reshape(images.shape[0], images.shape[1], -1).astype(np.float64)
    return np.stack([flat.sum(axis=2), (flat * flat).sum(axis=2), flat.min(axis=2), flat.max(axis=2)], axis=2)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # a table may name a file outside its folder
        return path.as_posix()


@dataclass
class FilePixels:
    """Images left on disk, decoded when indexed: (n, channels, h, w) float32 pixels / `scale`.

    Indexing with an int gives one image (channels, h, w); a slice or index array gives a stacked
    batch, decoded in `workers` threads. `take(rows)` is the same images' subset, still on disk.
    A file unreadable now (it was readable when the run checked it) is a DataError naming it.
    """

    paths: list[Path]
    size: tuple[int, ...]
    mode: str
    scale: float = 255.0
    workers: int = 1
    dtype: np.dtype = field(default=np.dtype(np.float32), repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), CHANNELS[self.mode], *self.size)

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, rows: Any) -> FilePixels:
        """The images at `rows` (positions, or a boolean mask), still on disk."""
        rows = np.asarray(rows)
        rows = rows if rows.dtype == bool else rows.astype(np.intp)  # an empty list is float64 to numpy
        return replace(self, paths=[self.paths[int(i)] for i in np.arange(len(self))[rows].reshape(-1)])

    def image(self, i: int, *, quiet: bool = True) -> np.ndarray:
        path = self.paths[i]
        try:
            raw = decode_image(path, self.size, self.mode, quiet=quiet)
        except UNREADABLE as err:
            raise DataError(
                f"{path}: cannot be read as an image now ({type(err).__name__}), though it was when the run began",
                hint="the file changed during the run: restore it, or start the run again",
            ) from err
        return raw.astype(np.float32) / np.float32(self.scale)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.image(int(index))
        rows = np.arange(len(self))[index]
        if len(rows) == 0:
            return np.zeros((0, *self.shape[1:]), dtype=np.float32)
        if self.workers <= 1 or len(rows) < 2:
            return np.stack([self.image(int(i)) for i in rows])
        with _quiet(), ThreadPoolExecutor(min(self.workers, len(rows))) as pool:
            return np.stack(list(pool.map(lambda i: self.image(int(i), quiet=False), rows)))


@dataclass
class LazyImages:
    """Model inputs of images left on disk: `FilePixels` through a fitted `ImagePreprocessor`.

    Array-like where the run reads inputs (shape, len, slices and index arrays give normalized
    float32 batches); `take(rows)` is a subset, still on disk. What the DataLoader of a lazy run
    reads (data/image_loader.py)."""

    pixels: FilePixels
    pre: ImagePreprocessor
    workers: int | None = None  # data.image.workers resolved: DataLoader processes reading them; None = auto

    @property
    def shape(self) -> tuple[int, ...]:
        return self.pixels.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.pixels)

    def take(self, rows: Any) -> LazyImages:
        return LazyImages(self.pixels.take(rows), self.pre, self.workers)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self.pre.transform(self.pixels[int(index)][None])[0]
        return self.pre.transform(self.pixels[index])


def rows_of(x: Any, rows: np.ndarray) -> Any:
    """`x[rows]` for arrays; a subset left on disk for LazyImages."""
    return x.take(rows) if isinstance(x, LazyImages) else x[rows]


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

    def fit(
        self,
        images: np.ndarray | None,
        weights: tuple[list[float], list[float]] | None = None,
        *,
        stats: np.ndarray | None = None,
    ) -> ImagePreprocessor:
        """Fit the normalization on the training images; with `weights` ((mean, std) of RGB
        channels), use those instead (a grayscale channel takes their averages). `stats`, the
        training images' `pixel_stats` (n, channels, 4), stand for images left on disk."""
        if stats is not None:
            return self._fit_stats(stats, weights)
        assert images is not None, "fit reads the training images, or their statistics"
        if weights is not None:
            low, high = (float(images.min()), float(images.max())) if images.size else (0.0, 1.0)
            if low < 0 or high > 1 + 1e-6:  # the weights' statistics are of pixels in [0, 1]
                raise DataError(
                    f"data: pixels range over [{low:g}, {high:g}]; pretrained weights read pixels scaled to [0, 1]",
                    hint="pass uint8 images, or float images divided by their maximum (255 for 8 bits); "
                    "or set data.normalize: standard",
                )
            return self._weights(weights)
        # per-image sums, a chunk at a time: a float64 copy of every training pixel at once
        # would take twice the memory the images do
        chunks = [batch_stats(images[i : i + STATS_CHUNK]) for i in range(0, len(images), STATS_CHUNK)]
        return self._fit_stats(np.concatenate(chunks) if chunks else np.zeros((0, self.channels, 4)), None)

    def _fit_stats(self, stats: np.ndarray, weights: tuple[list[float], list[float]] | None) -> ImagePreprocessor:
        """As `fit`, from per-image sums (float64): the same mean and std up to rounding."""
        if not len(stats):  # no training image: nothing to fit, the pixels stay as they are
            return self._set(np.zeros(self.channels), np.ones(self.channels))
        low, high = stats[:, :, 2].min(axis=0), stats[:, :, 3].max(axis=0)  # (channels,)
        if weights is not None:
            if low.min() < 0 or high.max() > 1 + 1e-6:  # files are read in [0, 1]: only a bug gets here
                raise DataError(f"data: pixels range over [{low.min():g}, {high.max():g}], not [0, 1]")
            return self._weights(weights)
        count = len(stats) * int(np.prod(self.size))
        mean = stats[:, :, 0].sum(axis=0) / count
        if self.normalize == "standard":
            shift, divide = mean, np.sqrt(np.maximum(stats[:, :, 1].sum(axis=0) / count - mean * mean, 0.0))
        elif self.normalize == "minmax":
            shift, divide = low, high - low
        else:
            shift, divide = np.zeros(len(mean)), np.ones(len(mean))
        return self._set(shift, divide)

    def _weights(self, weights: tuple[list[float], list[float]]) -> ImagePreprocessor:
        mean, std = (np.asarray(v, dtype=np.float64) for v in weights)
        if self.channels == 1:
            mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
        self.normalize, self.shift, self.divide = "weights", mean.tolist(), std.tolist()
        return self

    def _set(self, shift: np.ndarray, divide: np.ndarray) -> ImagePreprocessor:
        divide = np.where(divide > 1e-12, divide, 1.0)  # a constant channel stays put
        self.shift, self.divide = np.asarray(shift).tolist(), divide.tolist()
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
        out = np.subtract(images, shift, dtype=np.float32)  # one new array, divided in place
        return np.divide(out, divide, out=out)

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


def decode_image(path: Path, size: tuple[int, ...], mode: str, *, quiet: bool = True) -> np.ndarray:
    """One file as uint8 (channels, height, width), converted and resized (bilinear). `quiet=False`
    where the caller holds `_quiet()` around a pool of threads decoding."""
    with needs_extra("images"):
        from PIL import Image

    with _quiet() if quiet else nullcontext(), Image.open(path) as opened:
        img = opened.convert("L" if mode == "grayscale" else "RGB")
        if (img.height, img.width) != tuple(size):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        pixels = np.asarray(img, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


@contextmanager
def _quiet() -> Iterator[None]:
    # Pillow warns on odd but readable files (palette transparency, large images); the file is
    # still read, so the warning must not stop a run where warnings are errors. Only Pillow's
    # own: the filters are the process's, and other threads (a checkpoint writer) warn too.
    # Entered once around a pool of decoding threads, never inside them (catch_warnings is not
    # thread-safe).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"PIL(\.|$)")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"PIL(\.|$)")  # DecompressionBombWarning
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
    names = ", ".join(_relative(p, path) for p in bad[:SHOWN]) + (" ..." if len(bad) > SHOWN else "")
    share = len(bad) / max(total, 1)
    if share > max_corrupt:
        raise DataError(
            f"{path}: {len(bad)} of {total} image files ({share:.1%}) cannot be read: {names}",
            hint=f"replace or remove them, or raise data.image.max_corrupt (now {max_corrupt:g})",
        )
    log.add("corrupt_image", None, len(bad), f"skipped {len(bad)} corrupt image file(s) Pillow cannot read: {names}")
