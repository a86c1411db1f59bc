"""Captum's attributions through our glue, against answers known in closed form."""

import numpy as np
import torch

from layerwise.explain import attribute, completeness
from layerwise.explain.output import of_module


def _linear(weights):
    layer = torch.nn.Linear(len(weights), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights]))
        layer.bias.fill_(0.5)
    return layer


def test_ig_of_a_linear_model_is_weight_times_distance_from_baseline():
    w = [2.0, -1.0, 0.0, 3.0]
    output = of_module(_linear(w), 1)
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    base = np.array([1.0, 0.0, 0.0, -1.0], dtype=np.float32)
    a = attribute(output, x, np.zeros(20, dtype=np.int64), method="ig", baseline=base, steps=10)
    assert np.allclose(a.values, np.array(w) * (x - base), atol=1e-5)
    assert np.allclose(a.values.sum(axis=1), a.output - a.baseline_output, atol=1e-5)


def test_ig_delta_is_what_completeness_leaves_over_on_a_nonlinear_model():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    output = of_module(module, 3)
    x = np.random.default_rng(1).normal(size=(50, 5)).astype(np.float32)
    target = output.target(x)
    assert (target == output.values(x).argmax(axis=1)).all()
    a = attribute(output, x, target, method="ig", steps=50)
    leftover = a.values.sum(axis=1) - (a.output - a.baseline_output)
    assert np.allclose(a.delta, leftover, atol=1e-5)
    assert completeness(a.delta, a.output, a.baseline_output)["passed"]


def test_saliency_is_the_gradient_and_ablation_the_drop_to_baseline():
    w = [2.0, -1.0, 0.5]
    output = of_module(_linear(w), 1)
    x = np.ones((3, 3), dtype=np.float32)
    zeros = np.zeros(3, dtype=np.int64)
    saliency = attribute(output, x, zeros, method="saliency")
    assert np.allclose(saliency.values, np.tile(w, (3, 1)))
    # one-hot style group: columns 1 and 2 are removed together, and share the group's drop
    ablation = attribute(output, x, zeros, method="ablation", mask=np.array([[0, 1, 1]]))
    assert np.allclose(ablation.values[:, 0], 2.0) and np.allclose(ablation.values[:, 1:], -0.5)
