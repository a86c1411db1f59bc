"""The live display of a search: trials done, best value so far, time left."""

from __future__ import annotations

import time

import optuna
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

from .study import finished


class Progress:
    """A rich progress bar on stderr, advanced by Optuna after each trial (any worker's)."""

    def __init__(self, study: optuna.Study, trials: int, timeout: float | None, direction: str, *, enabled: bool):
        self.study, self.trials, self.timeout, self.enabled = study, trials, timeout, enabled
        self.started = time.monotonic()
        self.bar = Bar(TextColumn("tuning"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                       TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled, transient=False)
        self.task = self.bar.add_task("", total=trials, completed=min(finished(study), trials))

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def update(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = finished(study)
        try:
            best = f"best {study.best_value:.5g} (trial {study.best_trial.number})"
        except ValueError:  # no completed trial yet
            best = "no completed trial yet"
        if self.timeout is not None:
            best += f", {max(0.0, self.timeout - (time.monotonic() - self.started)):.0f}s of the time limit left"
        self.bar.update(self.task, completed=min(done, self.trials), description=best)
