"""The output folder of a run: never silently destructive, and one writer at a time.

`claim(out, ...)` is the first thing a run does, before any data is read:

- OUT (or a folder above it) that is a file: refused.
- OUT holding anything layerwise does not write there (RUN_FILES): refused, always;
  `--overwrite` replaces an earlier run, never the user's own files.
- OUT holding an earlier run (or the checkpoints of one killed before it finished): refused
  unless `--resume` (continue its training) or `--overwrite` (start afresh, then replace it).
- An exclusive lock, `OUT/.layerwise.lock` (fcntl.flock), held for the run's life and
  naming its holder (pid, host, start time): a second run into OUT is refused, naming it.
  The kernel drops the lock when the process ends, however it ends, so a killed run never
  leaves a stale lock in the way of `--resume`. The file may stay: it is a lock only while a
  process holds it (a run refused or failed early removes the file it made, still holding it).

A published run folder holds no lock file: publishing renames a fresh folder over OUT.
On platforms without fcntl (Windows) the folder is checked but not locked.

A run killed before it published its folder leaves OUT/checkpoints, OUT/run.log and
OUT/history.csv (written as it went): an unfinished run, refused like an earlier one.

`layerwise evaluate BUNDLE DATA --out DIR` claims DIR by the same rules (`claim(..., kind=
"evaluation")`): its own files only (EVALUATION_FILES), an earlier evaluation replaced only
with `--overwrite`, one writer at a time. `layerwise explain -o DIR` likewise (`kind=
"explanation"`): an earlier explanation's files are removed before the new ones are written,
so no plot of the last call is left beside this one's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

LOCK = ".layerwise.lock"
# What `layerwise run` (and `layerwise explain` / `report` afterwards) write into a run folder.
RUN_FILES = frozenset(
    {
        "bundle",
        "metrics.json",
        "history.csv",
        "predictions.csv",
        "run.log",
        "report.html",
        "explain",
        "checkpoints",
        "tensorboard",
    }
)
# What `layerwise evaluate --out` writes (reassess.write).
EVALUATION_FILES = frozenset({"metrics.json", "predictions.csv", "spec.json", "report.html"})
# What `layerwise explain` writes (Explanation.save and its plots).
EXPLANATION_FILES = frozenset({"importance.csv", "attributions.csv", "explain.json"})
_EXPLANATION_PLOT = re.compile(r"(importance|steps|prompts|images|row-\d+)\.png")
_KINDS = {"run": RUN_FILES, "evaluation": EVALUATION_FILES, "explanation": EXPLANATION_FILES}
_SHOWN = 5  # foreign names listed in a refusal


class FolderLock:
    """An exclusive flock on FOLDER/.layerwise.lock; `release()` (or the process's end) frees it."""

    def __init__(self, folder: Path, fd: int | None, created: tuple[bool, bool]):
        self.folder = folder
        self._fd = fd
        self._created = created  # (the folder, the lock file): made by this lock

    def release(self, *, tidy: bool = False) -> None:
        """Free the lock. With `tidy`, the lock file this lock made is removed, and the folder
        too if this lock made it and nothing else was written there: a refused run, or one
        that failed early, leaves the folder as it found it."""
        if self._fd is None:
            return
        try:
            if tidy and self._created[1]:
                (self.folder / LOCK).unlink(missing_ok=True)  # still held: no other process has it
                if self._created[0] and not _names(self.folder):
                    self.folder.rmdir()
        except OSError:
            pass  # tidying is a courtesy; the lock is what matters
        finally:
            os.close(self._fd)
            self._fd = None


def lock(folder: str | Path, *, flag: str = "--out") -> FolderLock:
    """Create FOLDER if needed and lock it for this process, or raise a UsageError naming the holder."""
    folder = Path(folder)
    check_path(folder, flag=flag)
    made_folder = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK
        made_file = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise UsageError(
            f"{flag} {folder}: cannot create the folder or its lock file ({error.strerror})",
            hint="choose a folder you can write to",
        ) from None
    if fcntl is None:
        return FolderLock(folder, fd, (made_folder, made_file))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        raise UsageError(
            f"{flag} {folder}: another layerwise run is writing there ({holder}); refusing to run into the same folder",
            hint=f"wait for it to finish, or choose another {flag}",
        ) from None
    # ours now: say who holds it (the previous holder's text goes)
    os.ftruncate(fd, 0)
    os.pwrite(
        fd,
        json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S%z")}
        ).encode()
        + b"\n",
        0,
    )
    return FolderLock(folder, fd, (made_folder, made_file))


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def check_path(folder: Path, *, flag: str = "--out") -> None:
    """FOLDER must be a folder or not exist yet, and no folder above it may be a file."""
    for at in (folder, *folder.parents):
        if at.exists():
            if not at.is_dir():
                where = "is a file" if at == folder else f"is under {at}, which is a file"
                raise UsageError(f"{flag} {folder}: {where}, not a folder", hint=f"give {flag} a folder path")
            return


def check_run_folder(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse a folder holding the user's files, and an earlier run unless resumed or overwritten."""
    names = _own_names(out, RUN_FILES, "a run folder", "the run")
    if names and not (resume or overwrite):
        what = (
            "an earlier run"
            if (out / "metrics.json").exists()
            else "the checkpoints of an unfinished run"
            if (out / "checkpoints").exists()
            else "the run.log of an unfinished run"
            if (out / "run.log").exists()
            else "an earlier run's files"
        )
        raise UsageError(
            f"--out {out}: holds {what}; refusing to replace it",
            hint="--overwrite replaces it, --resume continues its training from OUT/checkpoints, "
            "or choose another --out",
        )


def check_evaluation_folder(out: Path, *, overwrite: bool) -> None:
    """Refuse a folder holding anything but an evaluation's files, and an earlier evaluation unless overwritten."""
    if _own_names(out, EVALUATION_FILES, "an evaluation", "the evaluation") and not overwrite:
        raise UsageError(
            f"--out {out}: holds an earlier evaluation; refusing to replace it",
            hint="--overwrite replaces it, or choose another --out",
        )


def check_explanation_folder(out: Path, *, overwrite: bool, flag: str = "-o") -> None:
    """Refuse a folder holding anything but an explanation's files, and an earlier explanation
    unless overwritten; with `overwrite` the earlier explanation's files are removed."""
    names = _own_names(
        out, EXPLANATION_FILES, "an explanation", "the explanation", flag=flag, pattern=_EXPLANATION_PLOT
    )
    if names and not overwrite:
        raise UsageError(
            f"{flag} {out}: holds an earlier explanation; refusing to replace it",
            hint="--overwrite replaces it, or choose another folder",
        )
    for name in names:
        (out / name).unlink()


def _own_names(
    out: Path, own: frozenset[str], what: str, whose: str, *, flag: str = "--out", pattern: re.Pattern | None = None
) -> list[str]:
    """The names in OUT (the lock aside), all of them layerwise's own, or a UsageError naming the others."""
    names = [n for n in _names(out) if n != LOCK]
    foreign = [n for n in names if n not in own and not (pattern is not None and pattern.fullmatch(n))]
    if foreign:
        more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
        raise UsageError(
            f"{flag} {out}: holds files layerwise did not write ({', '.join(foreign[:_SHOWN])}{more}); "
            f"refusing to write {what} there",
            hint=f"choose a new folder for {whose} (layerwise never replaces files it did not write)",
        )
    return names


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@contextmanager
def locked(folder: str | Path, *, flag: str = "--out") -> Iterator[FolderLock]:
    """FOLDER locked inside the block; on an error, a folder the lock made is tidied away again."""
    held = lock(folder, flag=flag)
    try:
        yield held
    except BaseException:
        held.release(tidy=True)
        raise
    held.release(tidy=True)  # the lock file it made goes; the folder stays, holding what was written


@contextmanager
def claim(out: str | Path, *, resume: bool = False, overwrite: bool = False, kind: str = "run") -> Iterator[FolderLock]:
    """Lock OUT and check what it holds (see the module); the lock is held inside the block.
    `kind` is "run", "evaluation" or "explanation" (the last two take no `resume`)."""
    if kind not in _KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {sorted(_KINDS)}")
    flag = "-o" if kind == "explanation" else "--out"
    with locked(out, flag=flag) as held:
        if kind == "run":
            check_run_folder(Path(out), resume=resume, overwrite=overwrite)
        elif kind == "evaluation":
            check_evaluation_folder(Path(out), overwrite=overwrite)
        else:
            check_explanation_folder(Path(out), overwrite=overwrite)
        yield held
