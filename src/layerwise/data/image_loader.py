"""Training batches of images through a torch DataLoader: decoded in worker processes, with
per-image augmentation (torchvision.transforms.v2), in the order the in-memory path trains in.

    LazyImages (files on disk) | normalized array  ->  ImageItems[(epoch, i)]  ->  DataLoader
    (workers, pinned memory on CUDA, persistent workers)  ->  Trainer.fit_stream

Order: epoch e's batches are the e-th `torch.randperm` of a generator seeded with the run's seed,
the order `Trainer.fit` draws for in-memory arrays on the CPU, so a lazy run trains on the same
batches as the in-memory run of the same seed. Each epoch's order is recomputed from (seed,
epoch), so a run resumed at an epoch end goes on with the same batches.

Augmentation per image (data.augment crop, color, policy; augment.ITEM_KEYS): a v2 transform on
the raw pixels in [0, 1], before normalization, drawn from torch's generator seeded from (seed,
epoch, index) in whichever process decodes the image; the result does not depend on the number of
workers, and a resumed run draws the same. Validation and test images are never augmented.
The batch transforms (flip, shift, rotate, brightness) stay the Trainer's, as in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import DataError, needs_extra
from .augment import ITEM_KEYS, OFF
from .images import LazyImages


def item_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The per-image augmentation keys switched on in a `data.augment` section."""
    return {k: v for k, v in (settings or {}).items() if k in ITEM_KEYS and v != OFF[k]}


def item_transform(settings: dict[str, Any], size: tuple[int, ...], channels: int) -> Callable | None:
    """The v2 transform for `item_settings`, on one (channels, h, w) float image in [0, 1]; or None."""
    on = item_settings(settings)
    if not on:
        return None
    with needs_extra("images", instead="or remove data.augment crop, color and policy"):
        from torchvision.transforms import v2
    steps: list[Any] = []
    if "crop" in on:
        steps.append(v2.RandomResizedCrop(list(size), scale=(float(on["crop"]), 1.0), antialias=True))
    if "color" in on:
        c = float(on["color"])
        steps.append(v2.ColorJitter(brightness=c, contrast=c, saturation=c if channels == 3 else 0.0))
    policy = on.get("policy")
    if policy is not None:
        made = {"trivialaugment": v2.TrivialAugmentWide, "randaugment": v2.RandAugment, "autoaugment": v2.AutoAugment}
        # the policies' colour operations read 1 or 3 channels; they work on uint8 pixels
        steps += [v2.ToDtype(torch.uint8, scale=True), made[policy](), v2.ToDtype(torch.float32, scale=True)]
    return v2.Compose(steps)


def check_pixels(x: Any, settings: dict[str, Any] | None, shift: list[float], divide: list[float]) -> None:
    """Per-image transforms read raw pixels in [0, 1]: a DataError for arrays (normalized `x`) outside it."""
    if not item_settings(settings) or isinstance(x, LazyImages) or len(x) == 0:
        return  # files are read in [0, 1]
    scale, offset = np.asarray(divide), np.asarray(shift)  # divide > 0: the order of values is kept
    low = float((x.min(axis=(0, 2, 3)) * scale + offset).min())  # per channel, back to raw pixels
    high = float((x.max(axis=(0, 2, 3)) * scale + offset).max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise DataError(
            f"data: pixels range over [{low:.3g}, {high:.3g}]; "
            "data.augment crop, color and policy read pixels in [0, 1]",
            hint="pass uint8 images, or float images divided by their maximum (255 for 8 bits)",
        )


class ImageItems(Dataset):
    """Item (epoch, i): image i as a normalized float32 tensor (channels, h, w), and its target.

    `x` is LazyImages (decoded here, in a worker) or the normalized array in memory; `transform`
    (per-image augmentation) works on raw pixels in [0, 1], drawn from torch's generator seeded
    from (seed, epoch, i). Without one, an item is bit-identical to the in-memory array's row.
    """

    def __init__(self, x: Any, y: np.ndarray, *, shift: list[float], divide: list[float], transform=None, seed=0):
        self.x, self.y, self.transform, self.seed = x, y, transform, seed
        self.shift = np.asarray(shift, dtype=np.float32)[:, None, None]  # (channels, 1, 1)
        self.divide = np.asarray(divide, dtype=np.float32)[:, None, None]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(image, target, ""), or (zeros, target, why) for a file unreadable now: an exception in a
        worker process reaches the training process as a traceback, not the message and hint."""
        epoch, i = key
        try:
            return (*self._item(epoch, i), "")
        except DataError as err:
            return torch.zeros(self.x.shape[1:]), torch.as_tensor(self.y[i]), str(err)

    def _item(self, epoch: int, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        lazy = isinstance(self.x, LazyImages)
        if self.transform is None:
            image = ((self.x.pixels.image(i) - self.shift) / self.divide) if lazy else self.x[i]
            return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), torch.as_tensor(self.y[i])
        raw = self.x.pixels.image(i) if lazy else self.x[i] * self.divide + self.shift  # (channels, h, w) in [0, 1]
        with torch.random.fork_rng(devices=[]):  # the process's CPU generator is left as it was
            # the CPU generator only: torch.manual_seed would reseed CUDA's too, which fork_rng does not restore
            torch.default_generator.manual_seed(item_seed(self.seed, epoch, i))
            changed = self.transform(torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32)))
        image = (changed - torch.from_numpy(self.shift)) / torch.from_numpy(self.divide)
        return image.contiguous(), torch.as_tensor(self.y[i])


def item_seed(seed: int, epoch: int, i: int) -> int:
    """The generator seed of image i's augmentation in `epoch`: the same in every process."""
    return hash((seed, epoch, i)) & 0x7FFF_FFFF_FFFF_FFFF  # ints only: a str hash differs per process


def permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """Epoch `epoch`'s (from 1) order of n rows: the e-th randperm of a generator seeded with
    `seed`, as Trainer.fit draws them on the CPU."""
    return orders(n, seed, epoch, None)[0]


def orders(n: int, seed: int, epoch: int, after: tuple[int, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(`permutation`, the generator's state after it); `after` (an earlier epoch, the state after
    it) saves drawing those epochs' permutations again."""
    generator = torch.Generator()
    done = 0
    if after is not None and after[0] < epoch:
        done = after[0]
        generator.set_state(after[1])
    else:
        generator.manual_seed(seed)
    order = torch.arange(n)
    for _ in range(done, epoch):
        order = torch.randperm(n, generator=generator)
    return order, generator.get_state()


class EpochBatches(Sampler):
    """Batches of (epoch, index) keys for ImageItems: the epoch's permutation (shuffle) or file
    order, cut into `batch_size`; set `epoch` before iterating."""

    def __init__(self, n: int, batch_size: int, seed: int, *, shuffle: bool):
        self.n, self.batch_size, self.seed, self.shuffle, self.epoch = n, batch_size, seed, shuffle, 1
        self._after: tuple[int, torch.Tensor] | None = None  # (an epoch, the generator's state after it)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = torch.arange(self.n)
        if self.shuffle:
            order, state = orders(self.n, self.seed, self.epoch, self._after)
            self._after = (self.epoch, state)
        for start in range(0, self.n, self.batch_size):
            yield [(self.epoch, int(i)) for i in order[start : start + self.batch_size]]

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)


@dataclass
class Feed:
    """What Trainer.fit_stream reads: `train(epoch)` and `val()` give (x, y) batches."""

    train: Callable[[int], Iterator[tuple[torch.Tensor, torch.Tensor]]]
    n_train: int
    val: Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]] | None
    describe: str
    workers: int = 0  # decoding processes beside training (they take CPUs of their own)


def image_feed(
    x: dict[str, Any],
    y: dict[str, np.ndarray],
    *,
    batch_size: int,
    seed: int,
    augment: dict[str, Any] | None,
    shift: list[float],
    divide: list[float],
    workers: int,
    device: str | torch.device = "cpu",
) -> Feed:
    """DataLoaders over the training and validation splits (`x` LazyImages or normalized arrays)."""
    train_x = x["train"]
    check_pixels(train_x, augment, shift, divide)
    size, channels = tuple(train_x.shape[2:]), int(train_x.shape[1])
    transform = item_transform(augment or {}, size, channels)
    pin = torch.device(device).type == "cuda"  # pinned pages let the copy to the GPU run beside the next batch

    def loader(part: str, transform: Any, shuffle: bool, rows: int) -> tuple[DataLoader, EpochBatches]:
        items = ImageItems(x[part], y[part], shift=shift, divide=divide, transform=transform, seed=seed)
        order = EpochBatches(len(items), rows, seed, shuffle=shuffle)
        made = DataLoader(
            items,
            batch_sampler=order,
            num_workers=workers,
            pin_memory=pin,
            persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
            # the workers' base seed from a generator of their own, not the process's: drawing it
            # must not move the generator dropout reads (items reseed per (seed, epoch, index))
            generator=torch.Generator().manual_seed(seed),
            worker_init_fn=_own_group if workers > 0 else None,
        )
        return made, order

    train, train_order = loader("train", transform, True, batch_size)

    def train_batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        train_order.epoch = epoch
        yield from _checked(train)

    val_batches = None
    if len(x.get("val", ())) > 0:
        # the training batch size: a larger one's activations (n x channels x h x w, per layer) dwarf the images
        val, _ = loader("val", None, False, batch_size)

        def val_batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            yield from _checked(val)

    where = "from disk" if isinstance(train_x, LazyImages) else "from memory"
    how = f"{workers} worker process(es)" if workers else "the training process"
    extra = f", per-image augmentation {'in the workers' if workers else 'there'}" if transform is not None else ""
    describe = f"images read {where} by a DataLoader with {how}{extra}" + (", pinned memory" if pin else "")
    return Feed(train_batches, len(train_x), val_batches, describe, workers)


def _own_group(worker: int) -> None:
    """A worker in a process group of its own: a SIGTERM sent to the run's group (a scheduler
    stopping a job) reaches the training process, which saves a checkpoint and then stops its
    workers, rather than killing them under it. torch ends them if the training process dies."""
    if hasattr(os, "setpgid"):
        os.setpgid(0, 0)


def _checked(loader: DataLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(x, y) batches; the first image a worker could not read is raised here as its DataError."""
    for x, y, errors in loader:
        failed = next((e for e in errors if e), None)
        if failed:
            message, _, hint = failed.partition("\n  hint: ")
            raise DataError(message, hint=hint or None)
        yield x, y


def disk_outputs(model: Any, x: LazyImages, workers: int, batch_size: int = 64) -> np.ndarray:
    """`model.raw_outputs` of images left on disk, decoded `batch_size` at a time by a DataLoader's
    worker processes: decoding in threads of this process left each thread's heap holding its
    largest batch (a 7,500-image test split took 900 MB more that way)."""
    if len(x) == 0:
        return np.zeros((0, model.model["output_dim"]), dtype=np.float32)
    items = ImageItems(x, np.zeros(len(x), dtype=np.int64), shift=x.pre.shift, divide=x.pre.divide)
    loader = DataLoader(
        items,
        batch_sampler=EpochBatches(len(x), batch_size, 0, shuffle=False),
        num_workers=workers,
        generator=torch.Generator().manual_seed(0),
        worker_init_fn=_own_group if workers else None,
    )
    outs = [model.raw_outputs(xb.numpy(), batch_size=batch_size) for xb, _ in _checked(loader)]
    return np.concatenate(outs) if outs else np.zeros((0, model.model["output_dim"]), dtype=np.float32)
