"""The live display of a search: trials done, best value so far, time left.

On a terminal, a rich bar on stderr; elsewhere (a batch job, CI, a pipe) one line per trial,
as each finishes: `tuning: trial 3 complete, val_loss 0.1234 (3/20); best 0.1 (trial 2)`.
"""

from __future__ import annotations

import sys
import time

import optuna
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as Bar

from .study import finished


class Progress:
    """Advanced by Optuna after each trial (any worker's); silent unless `enabled`."""

    def __init__(
        self,
        study: optuna.Study,
        trials: int,
        timeout: float | None,
        direction: str,
        *,
        enabled: bool,
        metric: str = "value",
        console: Console | None = None,
    ):
        self.study, self.trials, self.timeout, self.enabled = study, trials, timeout, enabled
        self.metric = metric
        self.started = time.monotonic()
        console = console if console is not None else Console(stderr=True)
        self.lines = enabled and not console.is_terminal
        self.bar = Bar(
            TextColumn("tuning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled or self.lines,
            transient=False,
        )
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
        if self.lines:
            print(
                f"tuning: {_outcome(trial, self.metric)} ({min(done, self.trials)}/{self.trials}); {best}",
                file=sys.stderr,
                flush=True,
            )
        self.bar.update(self.task, completed=min(done, self.trials), description=best)


def _outcome(trial: optuna.trial.FrozenTrial, metric: str) -> str:
    """`trial 3 complete, val_loss 0.1234 in 2.1s`, or pruned / failed."""
    state = trial.state.name.lower()
    value = f", {metric} {trial.value:.5g}" if trial.value is not None else ""
    took = f" in {trial.duration.total_seconds():.1f}s" if trial.duration is not None else ""
    return f"trial {trial.number} {state}{value}{took}"
