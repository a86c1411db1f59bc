"""Local attributions through Captum: Integrated Gradients, Saliency, Feature Ablation.

Works on plain tensors and any forward function; mapping to the user's features is
FeatureSpace's job. Rows go through in chunks so Integrated Gradients' (rows × steps)
interpolated inputs stay a bounded size whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import needs_extra
from .output import Output

with needs_extra("explain"):
    from captum.attr import FeatureAblation, IntegratedGradients, Saliency

METHODS = {"ig": "Integrated Gradients", "saliency": "Saliency", "ablation": "Feature Ablation"}
# Interpolated inputs per Captum call: rows × steps for IG, rows × features for ablation.
PER_CALL = 16384


@dataclass
class Attribution:
    values: np.ndarray  # (n, *input_shape), model space
    output: np.ndarray  # (n,) the explained output at each row
    baseline_output: np.ndarray  # (n,) the same output at the baseline (IG, ablation); NaN for saliency
    delta: np.ndarray | None  # (n,) IG only: sum of attributions - (output - baseline_output)
    target: np.ndarray  # (n,) which output was explained


def attribute(
    output: Output,
    x: np.ndarray,
    target: np.ndarray,
    *,
    method: str = "ig",
    baseline: np.ndarray | None = None,
    steps: int = 50,
    mask: np.ndarray | None = None,
) -> Attribution:
    """Attribute `output` at each row of `x` to the row's inputs.

    Args:
        target: (n,) index of the output column explained at each row.
        baseline: one sample (input_shape) that IG and ablation compare with; zeros if None.
        steps: IG's integration steps (Gauss-Legendre, Captum's default rule).
        mask: Captum feature_mask (1, *input_shape) for ablation: ids that are removed together.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    base = np.zeros(x.shape[1:], np.float32) if baseline is None else np.asarray(baseline, np.float32)
    base_t = torch.as_tensor(base)[None]  # (1, *input_shape): Captum broadcasts it
    explain = {"ig": IntegratedGradients, "saliency": Saliency, "ablation": FeatureAblation}[method](output.forward)
    per = max(1, PER_CALL // _cost(method, x, steps, mask))
    values, deltas = [], []
    for i in range(0, len(x), per):
        xb = torch.as_tensor(x[i : i + per])
        tb = torch.as_tensor(target[i : i + per], dtype=torch.int64)
        if method == "ig":
            a, d = explain.attribute(xb, baselines=base_t, target=tb, n_steps=steps, return_convergence_delta=True)
            deltas.append(d.detach().numpy())
        elif method == "saliency":
            # abs=False keeps the sign: which way a small change of each input moves the output
            a = explain.attribute(xb.requires_grad_(), target=tb, abs=False)
        else:
            a = explain.attribute(
                xb,
                baselines=base_t,
                target=tb,
                feature_mask=torch.as_tensor(mask),
                perturbations_per_eval=min(_width(mask), 64),
            )
        values.append(a.detach().numpy())
    out = _pick(output.values(x), target)
    # the baseline is one input: its outputs once, then the explained column per row
    base_out = (
        output.values(base[None])[0][target].astype(np.float64) if method != "saliency" else np.full(len(x), np.nan)
    )
    return Attribution(
        np.concatenate(values) if values else np.zeros_like(x),
        out,
        base_out,
        np.concatenate(deltas) if deltas else None,
        target,
    )


def _pick(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    return values[np.arange(len(values)), target].astype(np.float64)


def _width(mask: np.ndarray | None) -> int:
    return 1 if mask is None else int(np.unique(mask).size)


def _cost(method: str, x: np.ndarray, steps: int, mask: np.ndarray | None) -> int:
    """Forward passes per row, times the row's size relative to a small tabular row."""
    size = max(1, int(np.prod(x.shape[1:])) // 64)
    passes = {"ig": steps, "saliency": 1, "ablation": min(_width(mask), 64)}[method]
    return passes * size
