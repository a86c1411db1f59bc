"""Atomic writes: a temporary file or folder, flushed, then renamed over the target.

A crash at any moment leaves either the previous file whole or the new one whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BundleError, UsageError


def write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved file should read like any other
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    # allow_nan=False: a NaN would make the file unreadable to strict JSON parsers.
    write_text(path, json.dumps(_finite(obj), indent=2, allow_nan=False) + "\n")


def _finite(obj: Any) -> Any:
    """Replace non-finite floats by None so the JSON stays standard."""
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet, chosen by the file extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import io

        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_bytes(path, buffer.getvalue())
    elif suffix in (".csv", ".txt", ""):
        write_text(path, frame.to_csv(index=False))
    else:
        raise UsageError(f"{path}: unknown output format '{suffix}'", hint="use .csv or .parquet")


def staging_dir(target: str | Path) -> Path:
    """A fresh hidden folder beside `target`, to be filled and then `publish`ed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    staged.chmod(0o777 & ~_umask())
    return staged


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(staged: Path, target: str | Path) -> None:
    """Move a filled staging folder onto `target`, replacing an earlier one whole."""
    target = Path(target)
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
        os.replace(target, old / "previous")
        os.replace(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, target)


@contextmanager
def staged_folder(target: str | Path) -> Iterator[Path]:
    """Fill the yielded folder; on success it replaces `target` whole, on error it is removed."""
    staged = staging_dir(target)
    try:
        yield staged
        publish(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def sha256(path: str | Path) -> str:
    """The file's sha256, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(folder: Path, expected: dict[str, str]) -> None:
    """Each file of `expected` (name -> sha256, a bundle's manifest) present in `folder` and unchanged."""
    for name, digest in expected.items():
        if not (folder / name).is_file():
            raise BundleError(f"{folder / name}: missing from the bundle")
        if sha256(folder / name) != digest:
            raise BundleError(
                f"{folder / name}: sha256 does not match manifest.json; the file was changed or corrupted",
                hint="use the bundle as `layerwise run` wrote it, or run again",
            )
