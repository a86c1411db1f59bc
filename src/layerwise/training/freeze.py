"""Frozen layers (transfer learning): parameters kept fixed, then, optionally, trained again.

`Freeze` is a Trainer callback. At the start of each epoch it sets `requires_grad` from the
epoch number alone: frozen while epoch <= unfreeze_after (always, without it). A frozen
parameter gets no gradient, and torch's optimizers skip a parameter whose grad is None:
no step, no weight decay, no momentum; its values stay bit-identical. The optimizer still
holds it (the Trainer built it over every parameter), so unfreezing needs no new optimizer,
and a checkpoint's optimizer state fits either way. Because the state follows from the
epoch, a resume (which restarts at the checkpoint's epoch) needs nothing more saved.

BatchNorm layers with frozen tensors are held in eval mode while frozen (the usual
practice): they normalize with, and keep, the running statistics they were trained with.
The Trainer puts the model in train mode every epoch, so a forward pre-hook does it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import ConfigError
from ..models.transfer import load_pretrained, matches
from .callbacks import Callback

if TYPE_CHECKING:
    from .trainer import Trainer


class Freeze(Callback):
    """Keep the parameters `patterns` selects fixed; from epoch `unfreeze_after + 1`, train them.

    `freezes` tells the Trainer that some parameters get no gradient in some epochs (DDP must know).

    Args:
        patterns: globs over parameter names (`stages.*`) or module prefixes (`stages.0`).
        unfreeze_after: the last frozen epoch; None = frozen for the whole fit.
        write: where to say when they are unfrozen (a run log's `write`).
    """

    freezes = True

    def __init__(
        self,
        patterns: list[str],
        unfreeze_after: int | None = None,
        *,
        write: Callable[[str], None] | None = None,
        key: str = "model.init.freeze",
    ):
        self.patterns = list(patterns)
        self.unfreeze_after = unfreeze_after
        self.write = write
        self.key = key
        self._hooks: list[Any] = []
        self._was: dict[str, bool] = {}

    def names(self, module: nn.Module) -> list[str]:
        """The parameter names frozen in `module`; a ConfigError when a pattern selects none."""
        names = [n for n, _ in module.named_parameters() if matches(n, self.patterns)]
        unmatched = [p for p in self.patterns if not any(matches(n, [p]) for n, _ in module.named_parameters())]
        if unmatched:
            raise ConfigError(
                [f"{self.key}: {p!r} matches no parameter of the model" for p in unmatched],
                hint="use parameter names or module prefixes, e.g. "
                + ", ".join(sorted({n.split(".")[0] + ".*" for n, _ in module.named_parameters()})),
            )
        return names

    def frozen_at(self, epoch: int) -> bool:
        return self.unfreeze_after is None or epoch <= self.unfreeze_after

    def on_fit_start(self, trainer: Trainer) -> None:
        self._was = {n: p.requires_grad for n, p in trainer.module.named_parameters()}

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        frozen = self.frozen_at(epoch)
        self._set(trainer.module, frozen)
        if not frozen:
            _prime_fused_momentum(trainer.optimizer)
        # not frozen: unfreeze_after is set (frozen_at is True for every epoch without it)
        if (
            not frozen
            and self.unfreeze_after is not None
            and epoch == self.unfreeze_after + 1
            and self.write is not None
        ):
            self.write(f"init: unfroze {len(self.names(trainer.module))} tensors at the start of epoch {epoch}")

    def on_fit_end(self, trainer: Trainer) -> None:
        """Leave the module as fit found it: trainable where it was, norms free to switch mode."""
        self._release()
        for name, p in trainer.module.named_parameters():
            p.requires_grad_(self._was.get(name, True))

    def _set(self, module: nn.Module, frozen: bool) -> None:
        selected = set(self.names(module))
        for name, p in module.named_parameters():
            if name in selected:
                p.requires_grad_(not frozen and self._was.get(name, True))
        self._release()
        if frozen:
            for prefix, norm in module.named_modules():
                if isinstance(norm, nn.modules.batchnorm._BatchNorm) and any(
                    matches(f"{prefix}.{n}", self.patterns) for n in norm.state_dict()
                ):
                    self._hooks.append(norm.register_forward_pre_hook(_hold_eval))

    def _release(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []


def _prime_fused_momentum(optimizer: torch.optim.Optimizer) -> None:
    """Zero momentum buffers for parameters joining a fused SGD that already has some.

    Fused SGD creates buffers only on its very first step, for every parameter at once; a
    parameter trainable later (unfrozen) would reach it without one and fail. A zero buffer
    is what torch's other SGD paths start from in effect: with dampening 0 the first update
    makes it the gradient itself, as their clone of the gradient does."""
    for group in optimizer.param_groups:
        if not (group.get("fused") and group.get("momentum") and not group.get("dampening")):
            continue
        state = optimizer.state
        if not any(state[p].get("momentum_buffer") is not None for p in group["params"]):
            continue  # the first step creates them all
        for p in group["params"]:
            if p.requires_grad and state[p].get("momentum_buffer") is None:
                state[p]["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def _hold_eval(norm: nn.Module, args: tuple) -> None:
    norm.train(False)  # before its forward reads `training`: running statistics used and kept


def transfer(module: nn.Module, init: Any, write: Callable[[str], None]) -> list[Callback]:
    """`model.init` as a mapping, for a run: load the bundle's tensors into `module` now, and
    return the Freeze callback for the Trainer ([] when there is nothing to freeze).

    Writes one line such as 'init: loaded 6 tensors from runs/a/bundle (stages.*), froze 4,
    unfreezing after epoch 3', and one per tensor not loaded (strict: false)."""
    if not isinstance(init, dict):
        return []
    parts: list[str] = []
    callbacks: list[Callback] = []
    if init.get("from"):
        report = load_pretrained(module, init["from"], init.get("layers"), strict=init.get("strict", True))
        for line in [*report.notes, *(f"not loaded: {s}" for s in report.skipped)]:
            write(f"init: {line}")
        parts.append(report.summary())
    if init.get("freeze"):
        freeze = Freeze(init["freeze"], init.get("unfreeze_after"), write=write)
        after = freeze.unfreeze_after
        parts.append(
            f"froze {len(freeze.names(module))}"
            + (f", unfreezing after epoch {after}" if after is not None else " for every epoch")
        )
        callbacks.append(freeze)
    if parts:
        write("init: " + ", ".join(parts))
    return callbacks
