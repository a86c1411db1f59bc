"""Loss functions by name, each taking raw model outputs (logits for classification).

Targets arrive the way data tools store them: a regression target column may be
(n,) while the model gives (n, 1); class labels may be (n, 1) or floats. Each loss
here reshapes the target to what torch expects (a view, no copy), so a shape
mismatch never silently broadcasts (n,) against (n, 1) into an (n, n) loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, did_you_mean

LOSSES = ("mse", "mae", "huber", "cross_entropy", "bce", "sequence_cross_entropy")


class RegressionLoss(nn.Module):
    """mse / mae / huber with the target matched to the output's shape and dtype."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.inner(output, _match(target, output))


class CrossEntropy(nn.CrossEntropyLoss):
    """Softmax cross-entropy on (n, k) logits and (n,) int64 class indices."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # (n, 1) labels -> (n,); float labels from a CSV -> int64 class indices
        return super().forward(output, target.reshape(-1).long())


class BinaryCrossEntropy(nn.Module):
    """Sigmoid cross-entropy on (n, 1) or (n,) logits; class weights [w0, w1] weight the
    negatives and positives and the mean is weighted like CrossEntropyLoss's:
    sum(w_i * l_i) / sum(w_i)."""

    class_weights: torch.Tensor | None  # a buffer: moves with .to() and is saved in the state dict

    def __init__(self, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("class_weights", class_weights)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = _match(target, output)
        if self.class_weights is None:
            return F.binary_cross_entropy_with_logits(output, target)
        w0, w1 = self.class_weights[0], self.class_weights[1]
        weight = w0 + (w1 - w0) * target  # per element: w0 for label 0, w1 for label 1
        per_element = F.binary_cross_entropy_with_logits(output, target, reduction="none")
        return (weight * per_element).sum() / weight.sum()


class SequenceCrossEntropy(nn.Module):
    """Mean next-token cross-entropy over every non-padding position (id 0) of (batch, steps, vocab) logits."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(), ignore_index=0)


def _match(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.reshape(output.shape)
    return target.to(output.dtype)  # no-op when the dtype already matches


def make_loss(name: str | nn.Module, *, class_weights: Sequence[float] | torch.Tensor | None = None) -> nn.Module:
    """The loss called `name`; an `nn.Module` is returned as it is.

    Args:
        class_weights: one weight per class, for cross_entropy (k weights) and bce (2).
    """
    if isinstance(name, nn.Module):
        return name
    if name not in LOSSES:
        raise ConfigError(
            f"train.loss: unknown loss {name!r}{did_you_mean(name, LOSSES)}; choose one of {', '.join(LOSSES)}"
        )
    weights = None
    if class_weights is not None:
        weights = torch.as_tensor(class_weights, dtype=torch.float32).reshape(-1)
        if name not in ("cross_entropy", "bce"):
            raise ConfigError(f"train.class_weights: weights apply to classification losses, not {name!r}")
        if name == "bce" and weights.numel() != 2:
            raise ConfigError(f"train.class_weights: bce takes 2 weights [negative, positive], got {weights.numel()}")
        if not bool((weights > 0).all()):
            raise ConfigError("train.class_weights: every class weight must be positive")
    if name == "mse":
        return RegressionLoss(nn.MSELoss())
    if name == "mae":
        return RegressionLoss(nn.L1Loss())
    if name == "huber":
        return RegressionLoss(nn.HuberLoss(delta=1.0))
    if name == "cross_entropy":
        return CrossEntropy(weight=weights)
    if name == "sequence_cross_entropy":
        return SequenceCrossEntropy()
    return BinaryCrossEntropy(weights)
