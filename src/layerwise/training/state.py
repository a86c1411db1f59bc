"""The full training state of a Trainer, as one nested dict, and back.

Everything a bit-identical continuation needs: weights, optimizer, scheduler, loss
scaler, the batch-order generator (as it was before the current epoch's draw, so that
epoch's permutation can be drawn again), the global RNGs of torch, Python and NumPy,
callback state (early stopping's best weights), history, and the losses of the batches
already done in an unfinished epoch.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from .trainer import Trainer


def capture(trainer: Trainer, epoch_start_generator: torch.Tensor, losses: list[torch.Tensor]) -> dict[str, Any]:
    """The trainer's state now; `losses` are the batch losses of the unfinished epoch."""
    numpy_state = np.random.get_state()
    assert isinstance(numpy_state, tuple)  # the global RandomState is MT19937, whose legacy state is a tuple
    state: dict[str, Any] = {
        "model": trainer.module.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": None if trainer.scheduler is None else trainer.scheduler.state_dict(),
        "scaler": None if trainer.scaler is None else trainer.scaler.state_dict(),
        "generator": epoch_start_generator,
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        "numpy_rng": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
        "callbacks": {str(i): c.state_dict() for i, c in enumerate(trainer.callbacks)},
        "history": trainer.history,
        "best_epoch": trainer.best_epoch,
        "epoch_losses": torch.stack(losses) if losses else None,
        "nan_skipped": trainer.nan_skipped,
        "stopped": trainer.stop,  # early stopping had ended the run: a resume trains no further
    }
    if torch.cuda.is_available() and trainer.device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    return state


def restore(trainer: Trainer, state: dict[str, Any]) -> list[torch.Tensor]:
    """Put `state` back into the trainer; returns the unfinished epoch's batch losses."""
    trainer.module.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    if trainer.scaler is not None and state["scaler"] is not None:
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.generator = torch.Generator(device=trainer.device)
    trainer.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    if "cuda_rng" in state and trainer.device.type == "cuda":
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    version, internal, gauss = state["python_rng"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy_rng"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    for i, callback in enumerate(trainer.callbacks):
        callback.load_state_dict(state["callbacks"].get(str(i), {}))
    trainer.history = list(state["history"])
    trainer.best_epoch = state["best_epoch"]
    trainer.nan_skipped = state.get("nan_skipped", 0)
    trainer.stop = bool(state.get("stopped", False))
    losses = state["epoch_losses"]
    return [] if losses is None else [t.to(trainer.device) for t in losses.unbind()]
