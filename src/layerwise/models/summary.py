"""The architecture as a table: every layer with its output shape and parameter count (the report's
model section; a run computes it where the model is built, so that the process drawing the report
need not import torch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


def layers(module: nn.Module, input_shape: Sequence[int]) -> list[dict[str, Any]]:
    """One row per leaf layer, in call order: name, layer (its repr), output shape, parameters.

    Shapes come from one forward pass of a zero sample, recorded by forward hooks.
    """
    rows: list[dict[str, Any]] = []
    names = {m: n for n, m in module.named_modules()}

    def record(layer: nn.Module, _inputs, output) -> None:
        shape = list(output.shape[1:]) if isinstance(output, torch.Tensor) else None
        params = sum(p.numel() for p in layer.parameters(recurse=False))
        trainable = sum(p.numel() for p in layer.parameters(recurse=False) if p.requires_grad)
        rows.append(
            {
                "name": names[layer],
                "layer": _describe(layer),
                "output": shape,
                "parameters": params,
                "trainable": trainable,
            }
        )

    leaves = [m for m in module.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    was_training = module.training
    try:
        module.eval()  # batch norm in eval mode takes a batch of one
        with torch.no_grad():
            # a generator reads token ids (an embedding first); every other model reads floats
            ids = any(isinstance(m, nn.Embedding) for m in module.modules())
            module(torch.zeros((1, *input_shape), dtype=torch.long if ids else torch.float32))
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()
    return rows


def _describe(layer: nn.Module) -> str:
    extra = layer.extra_repr()
    return f"{type(layer).__name__}({extra})" if extra else type(layer).__name__


def architecture(model: dict[str, Any]) -> list[dict[str, Any]]:
    """`layers` of the model a bundle's spec.json describes (its "model" section), built afresh."""
    from .build import build

    shape = model["input_shape"]
    return layers(build(model["config"], tuple(shape), model["output_dim"]), shape)
