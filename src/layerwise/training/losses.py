"""Loss functions by name, each taking raw model outputs (logits for classification).

Targets arrive the way data tools store them: a regression target column may be
(n,) while the model gives (n, 1); class labels may be (n, 1) or floats. Each loss
here reshapes the target to what torch expects (a view, no copy), so a shape
mismatch never silently broadcasts (n,) against (n, 1) into an (n, n) loss.

Label smoothing (classification): cross-entropy spreads `e` of each target's probability over
the classes (torch's own: the true class's target is 1 - e + e / k); binary cross-entropy
takes the targets y * (1 - e) + e / 2, the same rule for k = 2.

A model with members (tabular: TabM-style ensembles) gives (batch, members, out) while it
trains; `MemberLoss` scores each member against the same targets, the mean of their losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, did_you_mean

LOSSES = ("mse", "mae", "huber", "cross_entropy", "bce", "sequence_cross_entropy")
SMOOTHED = ("cross_entropy", "bce", "sequence_cross_entropy")  # the losses label smoothing applies to


class RegressionLoss(nn.Module):
    """mse / mae / huber with the target matched to the output's shape and dtype."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.inner(output, _match(target, output))


class CrossEntropy(nn.CrossEntropyLoss):
    """Softmax cross-entropy on (n, k) logits and (n,) int64 class indices, or (n, k) class
    probabilities (blended labels: mixup, cutmix)."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.is_floating_point() and target.shape == output.shape and output.dim() == 2:
            return super().forward(output, target.to(output.dtype))  # class probabilities (mixup, cutmix)
        # (n, 1) labels -> (n,); float labels from a CSV -> int64 class indices
        return super().forward(output, target.reshape(-1).long())


class BinaryCrossEntropy(nn.Module):
    """Sigmoid cross-entropy on (n, 1) or (n,) logits; class weights [w0, w1] weight the
    negatives and positives and the mean is weighted like CrossEntropyLoss's:
    sum(w_i * l_i) / sum(w_i). `label_smoothing` e scores against y * (1 - e) + e / 2
    (the weights still follow the label itself)."""

    class_weights: torch.Tensor | None  # a buffer: moves with .to() and is saved in the state dict

    def __init__(self, class_weights: torch.Tensor | None = None, label_smoothing: float = 0.0):
        super().__init__()
        self.register_buffer("class_weights", class_weights)
        self.label_smoothing = label_smoothing

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = _match(target, output)
        e = self.label_smoothing
        soft = target * (1 - e) + e / 2 if e else target
        if self.class_weights is None:
            return F.binary_cross_entropy_with_logits(output, soft)
        w0, w1 = self.class_weights[0], self.class_weights[1]
        weight = w0 + (w1 - w0) * target  # per element: w0 for label 0, w1 for label 1
        per_element = F.binary_cross_entropy_with_logits(output, soft, reduction="none")
        return (weight * per_element).sum() / weight.sum()


class SequenceCrossEntropy(nn.Module):
    """Mean next-token cross-entropy over every non-padding position (id 0) of (batch, steps, vocab) logits."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        flat, labels = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long()
        return F.cross_entropy(flat, labels, ignore_index=0, label_smoothing=self.label_smoothing)


class MemberLoss(nn.Module):
    """The mean of `inner` over the members of a (batch, members, out) output, each member
    scored against the same targets; any other output (eval mode: the members' average, the
    validation loss) goes to `inner` unchanged.

    The members' rows are scored as one batch of batch * members rows, targets repeated: for a
    mean loss that is exactly the mean of the members' losses, weighted means included (every
    member has the same targets, so the same total weight)."""

    def __init__(self, inner: nn.Module, members: int):
        super().__init__()
        self.inner, self.members = inner, members

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.dim() != 3 or output.shape[1] != self.members:
            return self.inner(output, target)
        batch, members, out = output.shape
        # (batch, members, out) -> (batch * members, out); rows b0m0, b0m1, ...: targets repeat alike
        return self.inner(output.reshape(batch * members, out), target.repeat_interleave(members, dim=0))


def _match(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    if target.shape != output.shape and target.numel() == output.numel():
        target = target.reshape(output.shape)
    return target.to(output.dtype)  # no-op when the dtype already matches


def make_loss(
    name: str | nn.Module,
    class_weights: Sequence[float] | torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> nn.Module:
    """The loss called `name`; an `nn.Module` is returned as it is.

    Args:
        class_weights: one weight per class, for cross_entropy (k weights) and bce (2).
        label_smoothing: e in [0, 1), for cross_entropy, bce and sequence_cross_entropy.
    """
    smoothing = _smoothing_problems(name, label_smoothing)
    if smoothing:
        raise ConfigError(smoothing)
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
        return CrossEntropy(weight=weights, label_smoothing=float(label_smoothing))
    if name == "sequence_cross_entropy":
        return SequenceCrossEntropy(float(label_smoothing))
    return BinaryCrossEntropy(weights, float(label_smoothing))


def _smoothing_problems(name: str | nn.Module, e: float) -> list[str]:
    if isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 <= e < 1:
        return [f"train.label_smoothing: {e!r} must be in [0, 1), e.g. 0.1"]
    if e == 0 or (isinstance(name, str) and (name in SMOOTHED or name not in LOSSES)):
        return []
    if isinstance(name, nn.Module):
        return [
            f"train.label_smoothing: {e} cannot reach a loss module ({type(name).__name__}); "
            "smooth the targets inside it, or use loss cross_entropy or bce"
        ]
    return [
        f"train.label_smoothing: {e} applies to classification losses ({', '.join(SMOOTHED)}), not {name!r}; "
        "set it to 0 for regression"
    ]
