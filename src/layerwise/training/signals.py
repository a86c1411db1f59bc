"""SIGTERM and SIGINT during fit: note the signal, let the loop save and stop at the next step.

A handler only records the signal number; the trainer checks it between optimizer
steps, where the state is consistent, writes a checkpoint and raises Interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import LayerwiseError


class Interrupted(LayerwiseError):
    """Training stopped on a signal after saving a checkpoint; exit code 128 + signal."""

    def __init__(self, signum: int, message: str, hint: str):
        super().__init__(message, hint=hint)
        self.signum = signum
        self.exit_code = 128 + signum


class SignalFlag:
    """Set by SIGTERM / SIGINT while `watch()` is active."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @contextmanager
    def watch(self) -> Iterator[None]:
        # signal handlers can only be installed from the main thread (sklearn n_jobs, servers)
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.signum = None
        previous = {s: signal.signal(s, self._note) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _note(self, signum, frame) -> None:
        self.signum = signum
