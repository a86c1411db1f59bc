"""The run's log: sentences for the person at the terminal and for `run.log`."""

from __future__ import annotations

import sys
import time


class RunLog:
    """Collects log lines; echoes the main ones to stderr unless quiet."""

    def __init__(self, *, quiet: bool = True):
        self.quiet = quiet
        self.lines: list[str] = []        # the main steps
        self.file_lines: list[str] = []   # everything, for run.log
        self._start = time.perf_counter()

    def write(self, line: str) -> None:
        self.lines.append(line)
        self.write_file(line)
        if not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def write_file(self, line: str) -> None:
        self.file_lines.append(f"[{time.perf_counter() - self._start:8.2f}s] {line}")
