"""The learning-rate range test (Smith 2017; fastai's lr_find): a few hundred optimizer
steps on the training split with the learning rate growing exponentially from `start` to
`end`, stopped when the smoothed loss diverges. The suggestion is the learning rate of
steepest descent of the smoothed loss (over log lr). Each step is the trainer's own
(`Trainer.train_step`, `Trainer.apply_update`), so the sweep trains as fit would: precision and
loss scaling, `clip_grad`, L1, `augment` and `accumulate` batches an update. The module,
optimizer, loss scaler, schedule and global RNG are restored afterwards, so training starts as
if the test had never run.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .trainer import Trainer


@dataclass
class LRFind:
    """The sweep: the learning rates tried, the smoothed loss after each, and the suggestion."""

    lrs: list[float]
    losses: list[float]
    suggestion: float | None
    stopped_early: bool

    def to_dict(self) -> dict:
        return {
            "suggestion": self.suggestion,
            "stopped_early": self.stopped_early,
            "lrs": self.lrs,
            "losses": self.losses,
        }

    def save_plot(self, path: str | Path) -> Path:
        """Write the loss-vs-lr curve (log x) as a PNG, the suggestion marked."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 4), dpi=100)
        FigureCanvasAgg(fig)  # Agg, without pyplot's global state
        ax = fig.add_subplot()
        ax.plot(self.lrs, self.losses)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss (smoothed)")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="tab:red", linestyle="--", label=f"suggested {self.suggestion:.2g}")
            ax.legend()
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
        return path


def lr_find(
    trainer: Trainer,
    x_train,
    y_train,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 200,
    smooth: float = 0.98,
    diverge: float = 4.0,
) -> LRFind:
    """Sweep the learning rate over `steps` updates, each of `trainer.accumulate` batches of
    `trainer.batch_size` rows from the training split.

    Stops early once the smoothed loss exceeds `diverge` times its lowest value (or is not finite,
    or the NaN guard of `train.on_nan: skip_batch | reduce_lr` drops an update).
    """
    if not (0 < start < end) or steps < 10:
        raise ValueError(f"lr_find: need 0 < start < end and steps >= 10, got {start}, {end}, {steps}")
    x, y = trainer.to_device(x_train, y_train, "train")
    module, optimizer, scaler = trainer.module, trainer.optimizer, trainer.scaler
    saved = (copy.deepcopy(module.state_dict()), copy.deepcopy(optimizer.state_dict()), torch.get_rng_state())
    scaler_state, nan_skipped = (scaler.state_dict() if scaler is not None else {}), trainer.nan_skipped
    # a last fit's schedule: reduce_lr's guard halves its base rates when it drops an update
    schedule_state = copy.deepcopy(trainer.scheduler.state_dict()) if trainer.scheduler is not None else None
    g = torch.Generator(device=trainer.device).manual_seed(trainer.seed)
    n, bs, k = x.shape[0], min(trainer.batch_size, x.shape[0]), trainer.accumulate
    lrs, losses, avg, best, stopped = [], [], 0.0, math.inf, False
    order = torch.randperm(n, generator=g, device=trainer.device)
    at = 0
    trainer.start_epoch()
    try:
        for i in range(steps):
            lr = start * (end / start) ** (i / (steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)  # a backbone's body keeps its share
            group_losses = []
            for step in range(i * k, (i + 1) * k):  # the sweep is one long epoch of steps * k batches
                if at + bs > n:  # a new pass over the split
                    order, at = torch.randperm(n, generator=g, device=trainer.device), 0
                batch = order[at : at + bs]
                at += bs
                # epoch 0, a number fit never uses: `augment` seeds its generators apart from training
                loss, _ = trainer.train_step(
                    x.index_select(0, batch), y.index_select(0, batch), epoch=0, step=step, n_batches=steps * k
                )
                group_losses.append(loss)
            # the rate is the sweep's: a per-update schedule of the last fit is left where it was
            applied = trainer.apply_update(loss, epoch=0, step=step, n_batches=steps * k, schedule=False)
            value = float(torch.stack(group_losses).mean())  # one sync per update: the stop test needs it
            avg = smooth * avg + (1 - smooth) * value
            smoothed = avg / (1 - smooth ** (i + 1))  # bias-corrected
            if not applied or not math.isfinite(smoothed) or (i > 0 and smoothed > diverge * best):
                stopped = True
                break
            best = min(best, smoothed)
            lrs.append(lr)
            losses.append(smoothed)
    finally:
        module.load_state_dict(saved[0])
        optimizer.load_state_dict(saved[1])
        torch.set_rng_state(saved[2])
        if scaler is not None:
            scaler.load_state_dict(scaler_state)
        trainer.nan_skipped = nan_skipped
        if schedule_state is not None:
            trainer.scheduler.load_state_dict(schedule_state)
        optimizer.zero_grad(set_to_none=True)
    return LRFind(lrs, losses, _steepest(lrs, losses), stopped)


def _steepest(lrs: list[float], losses: list[float]) -> float | None:
    """The lr where the smoothed loss falls fastest per unit of log lr (ends trimmed: noisy)."""
    if len(losses) < 10:
        return None
    t = torch.tensor(losses, dtype=torch.float64)
    slope = torch.gradient(t, spacing=(torch.tensor(lrs, dtype=torch.float64).log(),))[0]
    skip = max(1, len(losses) // 10)  # the first steps barely move; the last are near divergence
    i = int(slope[skip : len(losses) - skip // 2].argmin()) + skip
    return float(lrs[i])
