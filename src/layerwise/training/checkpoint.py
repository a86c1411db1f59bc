"""Checkpoints on disk: a folder of (safetensors, JSON) pairs, newest valid one wins.

A checkpoint is `ckpt-EEEEEE-SSSSSS.safetensors` (every tensor) and a `.json` of the
same name (everything else, and the sha256 of the tensors file). E is the number of
finished epochs, S the batches already done in the next one (0 at an epoch's end), so
names sort in training order. The tensors file is written first and the JSON last,
each atomically (temporary file, fsync, rename): a checkpoint without its JSON does
not exist yet. Reading checks the digest, so a truncated or altered newest checkpoint
is reported with a warning and the one before it is used. No pickle anywhere.

The JSON may also hold a fingerprint: what the training was made from (settings, a sha256
of the data), as the Trainer was given it. A resume compares it with the new run's and
refuses what differs (`differences`), so a checkpoint never silently goes on under other
settings or data than the ones it was made with.

Saving is split in two. `save` takes the snapshot at once, in the caller's thread: every
tensor copied to the CPU and the rest turned into JSON text, so training can go on changing
the weights. One background thread then does the slow part (serialize, sha256, write,
fsync, rename, prune): on a small model two fsyncs cost more than an epoch's steps. At most
one write is in flight; the next `save`, every read of the folder and `wait` (which the
Trainer calls before fit returns or raises) wait for it and raise its error. The write is
the same atomic sequence either way, so a kill mid-write leaves the previous checkpoint
whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..atomic import write_bytes, write_text

FORMAT = 1
_NAME = re.compile(r"^ckpt-(\d{6})-(\d{6})\.json$")
_PLAIN = {int, str, bool, type(None)}  # what JSON holds as it is (a float may be inf or nan)


class CheckpointWarning(UserWarning):
    """A checkpoint could not be read and an older one (or none) is used instead."""


class Checkpoints:
    """The checkpoint folder of one run: save, find the newest valid one, prune.

    Keeps the `keep` newest checkpoints and the one named `best` when saving.
    """

    def __init__(self, folder: str | Path, keep: int = 2):
        self.folder = Path(folder)
        self.keep = keep
        # one long-lived writer thread (started on the first save): starting a thread per
        # save costs about a millisecond of the training thread's time
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future | None = None  # the write in flight, if any

    def wait(self) -> None:
        """Block until the write in flight (if any) is on disk; raise the error it met."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def path(self, epochs: int, steps: int) -> Path:
        """The JSON file of the checkpoint after `epochs` epochs and `steps` more batches."""
        return self.folder / f"{_stem(epochs, steps)}.json"

    def names(self) -> list[tuple[int, int]]:
        """(epochs done, steps done) of every checkpoint with a JSON file, oldest first."""
        self.wait()
        return self._names()

    def _names(self) -> list[tuple[int, int]]:
        if not self.folder.is_dir():
            return []
        found = [_NAME.match(p.name) for p in self.folder.iterdir()]
        return sorted((int(m[1]), int(m[2])) for m in found if m)

    def clean(self, *, everything: bool = False) -> None:
        """Remove leftover temporary files and orphan tensor files (a crash mid-save);
        with `everything`, all checkpoints too (a fresh run in an old folder)."""
        self.wait()
        if not self.folder.is_dir():
            return
        named = {_stem(e, s) for e, s in self._names()}
        for path in self.folder.iterdir():
            temporary = path.name.startswith(".ckpt-") and path.name.endswith(".tmp")
            ours = path.name.startswith("ckpt-") and path.suffix in (".json", ".safetensors")
            orphan = ours and path.suffix == ".safetensors" and path.stem not in named
            if temporary or orphan or (ours and everything):
                path.unlink(missing_ok=True)

    def save(
        self,
        epochs: int,
        steps: int,
        info: dict[str, Any],
        tensors: dict[str, torch.Tensor],
        *,
        best: tuple[int, int] | None = None,
        fingerprint: dict[str, Any] | None = None,
    ) -> Path:
        """Snapshot the state now and write it as one checkpoint in the background, then prune.

        Returns the JSON path the checkpoint will have; `wait()` (or any read) makes sure it is there."""
        self.wait()  # one write at a time, in order; the previous one's error surfaces here
        # the snapshot: copies on the CPU, and the JSON as text, so nothing the caller changes later leaks in
        snapshot = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
        text = json.dumps(
            {"info": info, **({} if fingerprint is None else {"fingerprint": fingerprint})}, allow_nan=False
        )
        path = self.folder / f"{_stem(epochs, steps)}.json"
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="layerwise-checkpoint")
        self._pending = self._writer.submit(self._write, path, epochs, steps, text, snapshot, best)
        return path

    def _write(
        self,
        path: Path,
        epochs: int,
        steps: int,
        info: str,
        tensors: dict[str, torch.Tensor],
        best: tuple[int, int] | None,
    ) -> None:
        """The writer thread: tensors file, then the JSON naming its digest (each atomic), then prune."""
        data = save_tensors(tensors)
        write_bytes(path.with_suffix(".safetensors"), data)
        record = {
            "format": FORMAT,
            "epochs": epochs,
            "steps": steps,
            "sha256": hashlib.sha256(data).hexdigest(),
            **json.loads(info),
        }
        write_text(path, json.dumps(record, allow_nan=False) + "\n")
        self._prune(best)

    def _prune(self, best: tuple[int, int] | None) -> None:
        names = self._names()
        for name in names[: max(0, len(names) - self.keep)]:
            if name != best:
                stem = _stem(*name)
                # the JSON first: without it the tensors are an orphan, never a half checkpoint
                (self.folder / f"{stem}.json").unlink(missing_ok=True)
                (self.folder / f"{stem}.safetensors").unlink(missing_ok=True)

    def load_newest(self, device: torch.device | str = "cpu") -> tuple[dict, dict[str, torch.Tensor]] | None:
        """The newest checkpoint that reads back whole, as (record, tensors); None if there is none.

        Each unreadable one on the way is skipped with a CheckpointWarning naming it."""
        for epochs, steps in reversed(self.names()):
            stem = _stem(epochs, steps)
            try:
                return self._read(stem, device)
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                warnings.warn(
                    f"checkpoint {self.folder / stem}.json is unreadable ({error}); falling back to the one before it",
                    CheckpointWarning,
                    stacklevel=2,
                )
        return None

    def _read(self, stem: str, device) -> tuple[dict, dict[str, torch.Tensor]]:
        record = json.loads((self.folder / f"{stem}.json").read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise ValueError(f"format {record.get('format')!r}, expected {FORMAT}")
        data = (self.folder / f"{stem}.safetensors").read_bytes()
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise ValueError("the tensors file does not match its sha256 (truncated or altered)")
        tensors = load_tensors(data)
        return record, tensors


def link_checkpoints(source: Path, staged: Path, prefix: str = "ckpt-") -> None:
    """Put a run's checkpoints into its staged run folder before it is published.

    Hard links (a copy where the file system has none): the originals stay in place until
    the publish renames the staged folder over the run folder, so a crash in between
    loses nothing."""
    if not source.is_dir():
        return
    staged.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name.startswith(prefix):
            try:
                os.link(path, staged / path.name)
            except OSError:
                shutil.copy2(path, staged / path.name)


def _stem(epochs: int, steps: int) -> str:
    return f"ckpt-{epochs:06d}-{steps:06d}"


# -- fingerprints -------------------------------------------------------------------------------
def data_digest(*arrays: Any) -> str:
    """The sha256 of arrays' dtypes, shapes and values: what a fingerprint holds for the data."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        # object arrays hold pointers: their values' text is what is the same from run to run
        digest.update("\x1f".join(map(str, array.ravel())).encode() if array.dtype == object else array.data)
    return digest.hexdigest()


_ABSENT = object()


def differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, old, new) at each place two fingerprints differ, as deep as both are dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += differences(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}.{key}" if path else str(key))
        return found
    return [] if old == new else [(path, old, new)]


def describe_change(path: str, old: Any, new: Any) -> str:
    """One line for a refused change; a `...sha256` key holds a digest of data."""
    if path.split(".")[-1] == "sha256" and isinstance(old, str) and isinstance(new, str):
        return f"{path}: the data changed since the checkpoint was made (sha256 {old[:12]}... -> {new[:12]}...)"
    return f"{path}: changed since the checkpoint was made ({_shown(old)} -> {_shown(new)})"


def absent_as_none(value: Any) -> Any:
    """A value from `differences` as JSON holds it: a key one side lacks is null."""
    return None if value is _ABSENT else value


def _shown(value: Any, limit: int = 80) -> str:
    text = "(not set)" if value is _ABSENT else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- nested state <-> (JSON, flat tensors) ---------------------------------------------------
def pack(obj: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    """`obj` as JSON-able data; its tensors go into `tensors` under dotted keys from `path`.

    Handles what optimizer, scheduler and callback state dicts hold: tensors, dicts with
    int keys, tuples, non-finite floats."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj
        return {"__tensor__": path}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: pack(v, tensors, f"{path}.{k}") for k, v in obj.items()}
        return {
            "__items__": [
                [pack(k, tensors, f"{path}.k{i}"), pack(v, tensors, f"{path}.{i}")]
                for i, (k, v) in enumerate(obj.items())
            ]
        }
    if isinstance(obj, (tuple, list)):
        # plain values as they are: the RNG states are 600-odd ints each, saved every epoch
        items = (
            list(obj)
            if all(type(v) in _PLAIN for v in obj)
            else [pack(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
        )
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and hasattr(obj, "dtype"):  # a NumPy scalar
        return obj.item()
    raise TypeError(f"cannot checkpoint a {type(obj).__name__} at {path}")


def unpack(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of `pack`."""
    if isinstance(obj, list):
        return [unpack(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if "__items__" in obj:
        return {unpack(k, tensors): unpack(v, tensors) for k, v in obj["__items__"]}
    if "__tuple__" in obj:
        return tuple(unpack(v, tensors) for v in obj["__tuple__"])
    if "__float__" in obj:
        return float(obj["__float__"])
    return {k: unpack(v, tensors) for k, v in obj.items()}
