"""Which number an attribution explains, and in what unit.

Classification: the logit of the predicted class (a binary model's single logit z becomes
(-z, z), the log-odds of each class, so "toward the predicted class" reads the same for both).
Logits, not log-probabilities: the log-softmax saturates, and on breast_cancer it left
Integrated Gradients' completeness error at 1.0% at 50 steps, against 0.4% for the logit.
Regression: the prediction in the target's units, also where the target was log-transformed
(data.target_transform): exp(clip(z * scale + center)), as TargetEncoder.decode computes it,
in torch. exp and clip are nonlinear but differentiable almost everywhere, and Integrated
Gradients is complete for any such output: its attributions still add up to the difference of
the predicted values, in the target's units (a log-space output would be complete too, but in
units nobody reads). Forecasting: the predicted change of the target at one horizon step (a log
return, a difference, or the value), in the target's units.
Every forward here is a plain function of the model's input, as Captum wants it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..bundle.predictor import Predictor

CHANGE = {"log_return": "log return", "diff": "change", "none": "value"}


@dataclass
class Output:
    forward: Callable[[torch.Tensor], torch.Tensor]  # (n, *input) -> (n, k)
    unit: str

    def target(self, x: np.ndarray, choose: int | None = None, batch: int = 4096) -> np.ndarray:
        """(n,) output index per row: `choose`, else the argmax (the predicted class)."""
        if choose is not None:
            return np.full(len(x), int(choose), dtype=np.int64)
        return np.concatenate(
            [self.values(x[i : i + batch]).argmax(axis=1) for i in range(0, len(x), batch)]
            or [np.zeros(0, dtype=np.int64)]
        )

    def values(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.forward(torch.as_tensor(x, dtype=torch.float32)).numpy()


def of_predictor(predictor: Predictor, module: nn.Module | None = None) -> Output:
    """The explained output of a bundle's model; `module` swaps in another (a randomized copy)."""
    module = module if module is not None else predictor.module
    module.eval()
    task = predictor.task
    if task.classes:
        return Output(_logits(module), "logit of the predicted class")
    if predictor.series is not None:
        assert predictor.series.target_scale is not None, "a Predictor's series transform is fitted"
        center, scale = predictor.series.target_scale
        name = CHANGE[predictor.series.transform_name]
        return Output(_affine(module, scale, center), f"predicted {name} of {task.target}")
    target = predictor.target
    assert target is not None, "a regression bundle keeps its target encoder"
    if target.log:  # the model predicts the standardized log of the target
        return Output(_exp_affine(module, target.scale, target.center, target.clip), f"predicted {task.target}")
    return Output(_affine(module, target.scale, target.center), f"predicted {task.target}")


def of_module(module: nn.Module, output_dim: int) -> Output:
    """A plain module: several outputs are class logits, one is a value."""
    module.eval()
    if output_dim > 1:
        return Output(_logits(module), "logit of the predicted class")
    return Output(module, "model output")


def _logits(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        logits = module(x)
        if logits.shape[1] == 1:  # one BCE logit z = log-odds of class 1; -z those of class 0
            return torch.cat([-logits, logits], dim=1)
        return logits

    return forward


def _affine(module: nn.Module, scale: float, center: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return module(x) * scale + center

    return forward


def _exp_affine(
    module: nn.Module, scale: float, center: float, clip: list[float] | None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The prediction of a log-transformed target, as TargetEncoder.decode: exp of the clipped log."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        log = module(x) * scale + center
        if clip is not None:
            log = log.clamp(clip[0], clip[1])
        return torch.exp(log)

    return forward
