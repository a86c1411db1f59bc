"""The run's log: sentences for the person at the terminal, and `run.log` written as the run goes.

Every line goes through the standard `logging` module, to the `layerwise.run` logger (INFO):
attach a handler there to receive every run's lines. A run with a folder also writes them to
FOLDER/run.log, and each finished epoch's history row to FOLDER/history.csv, flushed as they
come, so a run killed at any moment (SIGKILL, out of memory) leaves both beside its checkpoints.
Both are opened when training starts, the lines before it written then: a run refused or
failed before training leaves an earlier run's files as they were. A resumed run appends to
run.log, and history.csv starts again from the checkpoint's rows.

`Steps` shows the progress of the other long steps (reading image folders, explaining, the
data curve): a bar on a terminal, a line per tenth of the work elsewhere, nothing when quiet.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import LayerwiseError
from .callbacks import Callback, EpochLog, HistoryCSV

LOGGER = logging.getLogger("layerwise.run")
if LOGGER.level == logging.NOTSET:
    LOGGER.setLevel(logging.INFO)  # the lines are INFO; the root logger's WARNING would drop them


class RunLog:
    """Collects log lines; echoes the main ones to stderr unless quiet; with `folder`, writes
    FOLDER/run.log live once training starts (appending when `append`: a resumed run)."""

    def __init__(self, *, quiet: bool = True, folder: str | Path | None = None, append: bool = False):
        self.quiet = quiet
        self.folder = None if folder is None else Path(folder)
        self.append = append
        self.lines: list[str] = []  # the main steps
        self.file_lines: list[str] = []  # everything, for run.log
        self._start = time.time()
        self._handler: logging.FileHandler | None = None

    def write(self, line: str) -> None:
        self.lines.append(line)
        self.write_file(line)
        if not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def write_file(self, line: str) -> None:
        elapsed = time.time() - self._start
        self.file_lines.append(f"[{elapsed:8.2f}s] {line}")
        # `run` names this log: another RunLog (a data curve's retraining) logs to the same logger
        LOGGER.info(line, extra={"run": id(self), "elapsed": elapsed})

    @property
    def path(self) -> Path | None:
        """FOLDER/run.log once it is open (training has started), else None."""
        return None if self._handler is None else Path(self._handler.baseFilename)

    def open(self) -> None:
        """Start writing FOLDER/run.log, with every line so far; later lines are written as they come."""
        if self.folder is None or self._handler is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.folder / "run.log", mode="a" if self.append else "w", encoding="utf-8")
        handler.setFormatter(_Elapsed())
        mine = id(self)
        handler.addFilter(lambda record: getattr(record, "run", None) == mine)
        stream = handler.stream
        assert stream is not None  # a FileHandler opens its file in the constructor unless delay=True
        if self.append:
            stream.write(f"[{0:8.2f}s] resumed by process {os.getpid()} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        stream.write("".join(f"{line}\n" for line in self.file_lines))
        handler.flush()
        LOGGER.addHandler(handler)
        self._handler = handler

    def flush(self) -> None:
        if self._handler is not None:
            self._handler.flush()

    @contextmanager
    def recording(self) -> Iterator[RunLog]:
        """The run inside the block; run.log says how it stopped if it raised, and is closed after."""
        try:
            yield self
        except BaseException as error:
            if self._handler is not None:
                self.write_file(f"stopped: {_stopped(error)}")
            raise
        finally:
            self.close()

    def close(self) -> None:
        """Stop writing run.log (before the run folder is published over it)."""
        if self._handler is not None:
            LOGGER.removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    def callbacks(self) -> list[Callback]:
        """What a run's Trainer records epochs with: a line each in the log and, with a folder,
        run.log opened at fit start and each history row appended to FOLDER/history.csv."""
        if self.folder is None:
            return [EpochLog(self.write_file)]
        return [OpenLog(self), EpochLog(self.write_file), HistoryCSV(self.folder / "history.csv")]

    def steps(self, label: str, total: int = 0) -> Steps:
        """A progress display for a long step of `total` units (Steps), quiet when this log is."""
        return Steps(label, total, quiet=self.quiet)


def _stopped(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(error, LayerwiseError):
        return str(error)  # the message the user saw, with its hint
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"


class _Elapsed(logging.Formatter):
    """`[   12.34s] line`: seconds since the run started."""

    def format(self, record: logging.LogRecord) -> str:
        return f"[{getattr(record, 'elapsed', 0.0):8.2f}s] {record.getMessage()}"


class OpenLog(Callback):
    """Opens a RunLog's run.log when training starts."""

    def __init__(self, log: RunLog):
        self.log = log

    def on_fit_start(self, trainer: Any) -> None:
        self.log.open()


class Steps:
    """Progress of a long step other than training, on stderr: a transient rich bar on a
    terminal (redrawn at most every `redraw` seconds); elsewhere a line each time another tenth
    of the work is done (every unit when there are ten or fewer); nothing when quiet.

    A context manager; `advance(n)` counts on, and calling it as `steps(done, total)` sets
    both, for readers that take a `progress(done, total)` callable (the total may come late)."""

    def __init__(self, label: str, total: int = 0, *, quiet: bool = False, console: Any = None, redraw: float = 0.1):
        self.label, self.total, self.quiet, self.redraw = label, max(int(total), 0), quiet, redraw
        self.done = 0
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self._lines = False
        self._shown = 0  # tenths already reported as lines
        self._drawn = 0.0
        self._start = time.perf_counter()

    def __enter__(self) -> Steps:
        if self.quiet:
            return self
        from rich.console import Console

        console = self._console if self._console is not None else Console(stderr=True)
        if not console.is_terminal:  # a pipe, a file, a notebook: lines, not a redrawn bar
            self._lines = True
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn(self.label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            auto_refresh=False,
        )
        self._task = self._bar.add_task(self.label, total=self.total or None)
        self._bar.start()
        return self

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(int(total), 0)
        self.advance(done - self.done)

    def advance(self, n: int = 1, detail: str = "") -> None:
        self.done += n
        if self._bar is not None:
            now = time.monotonic()
            if now - self._drawn >= self.redraw or 0 < self.total <= self.done:
                self._drawn = now
                self._bar.update(self._task, completed=self.done, total=self.total or None, refresh=True)
        elif self._lines and self.total:
            tenth = min(self.done, self.total) * 10 // self.total
            if tenth > self._shown:
                self._shown = tenth
                seconds = time.perf_counter() - self._start
                print(
                    f"{self.label}: {self.done}/{self.total}" + (f" {detail}" if detail else "") + f" ({seconds:.1f}s)",
                    file=sys.stderr,
                    flush=True,
                )

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self._lines = False
