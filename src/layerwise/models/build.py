"""From a model section (a plain dict) to an initialized `nn.Module`."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from . import blocks as _blocks  # noqa: F401  (registers the built-in blocks)
from .init import initialize, scheme_of
from .language import build_language, is_language
from .registry import get


def build(cfg: dict, input_shape: Sequence[int], output_dim: int, *, seed: int | None = None) -> nn.Module:
    """Build the block `cfg["type"]` (default "mlp") and initialize its weights.

    Args:
        cfg: the model section, e.g. {"type": "mlp", "hidden": [64], "init": "auto"}. A mapping
            `init` ({"scheme": ..., "from": ...}) sets the scheme here; its weights are loaded by
            layerwise.models.transfer, which the Experiment calls after `build`.
        input_shape: one sample's shape, without the batch dim: (features,) or (lookback, features).
        output_dim: the head's width: targets (regression), 1 (binary logit),
            k (multiclass logits) or the horizon (forecasting).
        seed: seeds the initial weights; None draws from torch's global generator.
    """
    cfg = dict(cfg)
    module: nn.Module
    if is_language(cfg):  # generation: token ids in, next-token logits at every step out
        module = build_language(cfg, tuple(input_shape), output_dim)
        activation = getattr(module.body, "activation", "relu")
    else:
        module = get(cfg.get("type") or "mlp").from_config(cfg, tuple(input_shape), output_dim)
        # blocks without an activation setting (lstm, gru) have no layer it would follow
        activation = getattr(module, "activation", "relu")
    initialize(module, scheme_of(cfg.get("init")), activation=activation, seed=seed)
    return module
