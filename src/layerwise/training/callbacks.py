"""Callbacks: code that runs around the Trainer's loop without changing it.

Five hooks, no-ops by default, each given the trainer; the built-ins (early stopping,
checkpoints, progress, the run log, the history file, TensorBoard) use nothing else. A callback
with state that must survive a resume returns it from `state_dict` (tensors allowed). Epochs
are numbered from 1. `logs` is the epoch's history row: {"epoch", "train_loss", "val_loss",
"val_metric", "lr", "seconds"}, with None for what was not measured.

`on_batch_end` runs after every training batch, so only callbacks that override it are
called there (the epoch loop asks once an epoch); it gets counts, never the batch's loss,
which would cost a host sync.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import torch

from ..errors import ConfigError, DataError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from .trainer import Trainer


class Callback:
    """Subclass and override the hooks you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, batches: int) -> None:
        """After training batch `batch` (from 1) of the epoch's `batches`."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        pass

    def on_fit_end(self, trainer: Trainer) -> None:
        """Also called when fit raises, so displays close and best weights come back."""

    def state_dict(self) -> dict:
        """What a checkpoint must keep of this callback; {} for none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


STOP_ON = ("loss", "metric")


def standing(logs: dict, stop_on: str = "loss", maximize: bool = True) -> tuple[float, float] | None:
    """An epoch's rank for early stopping and the kept weights, lower is better: (validation loss,
    0) for stop_on="loss"; for "metric", (val_metric, negated when `maximize`, then the validation
    loss, which breaks ties: on a small validation split accuracy moves in steps). None when
    what it reads was not measured or is not finite."""
    loss = logs.get("val_loss")
    if loss is None or not math.isfinite(loss):
        return None
    if stop_on == "loss":
        return (loss, 0.0)
    metric = logs.get("val_metric")
    if metric is None or not math.isfinite(metric):
        return None
    return (-metric if maximize else metric, loss)


def improves(new: tuple[float, float], best: tuple[float, float], min_delta: float = 0.0) -> bool:
    """`new` (a `standing`) is better than `best` by `min_delta` on its first entry, or as good
    there and better on the tie-break."""
    return new[0] < best[0] - min_delta or (new[0] <= best[0] and new[1] < best[1])


def best_row(history: list[dict], stop_on: str = "loss", maximize: bool = True) -> dict | None:
    """The history row early stopping would keep (the first of equals), None when no row ranks."""
    ranked = [(rank, i) for i, row in enumerate(history) if (rank := standing(row, stop_on, maximize)) is not None]
    return history[min(ranked)[1]] if ranked else None


class EarlyStopping(Callback):
    """Stop when the trainer's `stop_on` has not improved by `min_delta` for `patience` epochs
    (validation loss; or its validation metric, loss breaking ties), and restore the weights of
    the best epoch when fit ends (`trainer.restored_epoch` says which; None when none was).

    Under stop_on="metric" an epoch whose metric is undefined (NaN: roc_auc on a validation
    split of one class, r2 on a constant one) raises a DataError: it cannot be ranked, and
    quietly training to the end would not be early stopping."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best: tuple[float, float] = (math.inf, math.inf)
        self.best_state: dict[str, torch.Tensor] | None = None
        self.wait = 0
        self.rule: tuple[str, bool] = ("loss", True)  # (stop_on, maximize) of the trainer this fit

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best, self.best_state, self.wait = (math.inf, math.inf), None, 0
        self.rule = (trainer.stop_on, trainer.maximize)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        rank = standing(logs, trainer.stop_on, trainer.maximize)
        if rank is None:
            if trainer.stop_on == "metric" and standing(logs) is not None:
                raise DataError(
                    f"stop_on: 'metric': the validation metric is undefined at epoch {epoch} "
                    f"({logs.get('val_metric')}), so epochs cannot be ranked by it",
                    hint="the validation split may hold one class (roc_auc) or one value (r2): stop on the "
                    "loss (train.stop_on: loss) or watch another metric (train.metric)",
                )
            return
        if improves(rank, self.best, self.min_delta):
            self.best, self.wait = rank, 0
            trainer.best_epoch = epoch
            # a CPU copy: device memory stays free for training, and later steps
            # cannot overwrite it in place
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.module.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop = True

    def on_fit_end(self, trainer: Trainer) -> None:
        trainer.restored_epoch = None
        if self.best_state is not None:
            trainer.module.load_state_dict(self.best_state)
            trainer.restored_epoch = trainer.best_epoch

    def state_dict(self) -> dict:
        stop_on, maximize = self.rule
        return {
            "best": list(self.best),
            "wait": self.wait,
            "best_state": self.best_state,
            "stop_on": stop_on,
            "maximize": maximize,
        }

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        # a checkpoint from before stop_on ranked by the loss alone
        made = (state.get("stop_on", "loss"), state.get("maximize", True))
        if made[0] != self.rule[0] or (made[0] == "metric" and made[1] != self.rule[1]):
            raise ConfigError(
                f"stop_on: the checkpoint's early stopping ranked epochs by {_rule(made)}; this trainer by "
                f"{_rule(self.rule)}: its best epoch and weights mean something else here",
                hint="resume with the stop_on (and maximize) the checkpoint was made with, or start afresh",
            )
        best = state["best"] if "best" in state else (state["best_loss"], 0.0)
        self.best, self.wait, self.best_state = (best[0], best[1]), state["wait"], state["best_state"]


def _rule(rule: tuple[str, bool]) -> str:
    stop_on, maximize = rule
    if stop_on == "loss":
        return "the validation loss"
    return f"the validation metric, {'higher' if maximize else 'lower'} is better"


class Checkpoint(Callback):
    """Save the full training state every `every` epochs (0: never at epoch ends; the
    trainer still saves on SIGTERM / SIGINT). Added by the Trainer when it has a folder."""

    def __init__(self, every: int = 1):
        self.every = every

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        last = epoch == trainer.last_epoch or trainer.stop
        if self.every and (epoch % self.every == 0 or last):
            trainer.save_checkpoint()


class ProgressBar(Callback):
    """Training progress on stderr. On a terminal: a rich bar (epoch n/N, the batch within
    the epoch, losses, ETA), redrawn at most every `redraw` seconds. Elsewhere (a batch job,
    CI, a pipe): one line per epoch, as EpochLog writes it."""

    def __init__(self, quiet: bool = False, *, console: Any = None, redraw: float = 0.5):
        self.quiet = quiet
        self.console = console  # a rich Console; default stderr's
        self.redraw = redraw
        self._progress: Progress | None = None
        self._task: TaskID | None = None  # set together with _progress
        self._lines = False
        self._drawn = 0.0

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.quiet:
            return
        from rich.console import Console

        console = self.console if self.console is not None else Console(stderr=True)
        if not console.is_terminal:  # a pipe, a file, a notebook: lines, not a redrawn bar
            self._lines = True
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[batch]}"),
            TextColumn("{task.fields[losses]}"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            # drawn by the loop only, throttled: rich's default redraws 10 times a second from a
            # thread of its own, which takes the GIL from the training loop for nothing new to show
            auto_refresh=False,
        )
        self._task = self._progress.add_task(
            "fit", total=trainer.epochs, losses="", batch="", completed=len(trainer.history)
        )
        self._progress.start()
        self._drawn = time.monotonic()

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, batches: int) -> None:
        if self._progress is None or self._task is None:
            return
        now = time.monotonic()
        if now - self._drawn < self.redraw or batch == batches:  # the epoch's end draws its own
            return
        self._drawn = now
        # the bar moves through the epoch: epoch 3 half done reads 2.5 of N
        self._progress.update(
            self._task, completed=epoch - 1 + batch / batches, batch=f"batch {batch}/{batches}", refresh=True
        )

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self._lines:
            print(epoch_line(epoch, trainer.last_epoch, logs), file=sys.stderr, flush=True)
        if self._progress is None or self._task is None:
            return
        losses = f"train {logs['train_loss']:.4g}"
        if logs.get("val_loss") is not None:
            losses += f"  val {logs['val_loss']:.4g}"
        self._progress.update(
            self._task, total=trainer.last_epoch, completed=epoch, losses=losses, batch="", refresh=True
        )

    def on_fit_end(self, trainer: Trainer) -> None:
        self._lines = False
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def epoch_line(epoch: int, epochs: int, logs: dict) -> str:
    """`epoch 3/10 train_loss 0.1234 val_loss 0.2345 val_metric 0.91 lr 0.001 seconds 1.20`."""
    parts = [f"epoch {epoch}/{epochs}"]
    for key in ("train_loss", "val_loss", "val_metric", "lr"):
        if logs.get(key) is not None:
            parts.append(f"{key} {logs[key]:.6g}")
    parts.append(f"seconds {logs['seconds']:.2f}")
    return " ".join(parts)


class EpochLog(Callback):
    """Write one line per epoch (`epoch_line`), e.g. to a run.log:
    `epoch 3/10 train_loss 0.1234 val_loss 0.2345 val_metric 0.91 lr 0.001 seconds 1.20`,
    and the thread counts the fit chooses as it chooses them (trainer.thread_notes)."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self._noted = 0  # trainer.thread_notes written so far

    def on_fit_start(self, trainer: Trainer) -> None:
        self._noted = 0

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._notes(trainer)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        self._notes(trainer)
        self.write(epoch_line(epoch, trainer.last_epoch, logs))

    def _notes(self, trainer: Trainer) -> None:
        for note in trainer.thread_notes[self._noted :]:  # a thread count chosen, and why
            self.write(note)
        self._noted = len(trainer.thread_notes)


class HistoryCSV(Callback):
    """Append each epoch's history row to a CSV file as the epoch ends, flushed, so a run
    killed at any moment leaves the epochs it finished (rank 0 only).

    The file is rewritten at the first epoch a fit runs, from the rows the trainer already
    holds: nothing on a fresh fit, the checkpoint's rows on a resumed one (rows a killed run
    wrote past its checkpoint go). Columns: `COLUMNS`, empty where not measured."""

    COLUMNS = ("epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds")

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file: IO[str] | None = None
        self._writer: Any = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.on_fit_end(trainer)  # a handle left by an earlier fit

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if self._file is not None or trainer.rank != 0:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self.COLUMNS)
        for row in trainer.history:
            self._write(row)
        self._file.flush()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self._file is None:
            return
        self._write(logs)
        self._file.flush()  # to the OS: a SIGKILL cannot lose it; fsync would cost a disk write an epoch

    def _write(self, row: dict) -> None:
        # repr: the shortest text that reads back to the same float, as pandas writes them
        self._writer.writerow(["" if row.get(k) is None else repr(row[k]) for k in self.COLUMNS])

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None
