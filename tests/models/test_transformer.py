"""The Transformer encoder: positions, the causal mask, heads that must divide d_model."""

import math

import pytest
import torch

from layerwise.errors import ConfigError
from layerwise.models import build
from layerwise.models.positions import SinusoidalPositions


def encoder_states(model, x):
    seen = {}
    hook = model.encoder.register_forward_hook(lambda m, args, out: seen.update(states=out))
    model(x)
    hook.remove()
    return seen["states"]  # (batch, steps, d_model)


@pytest.mark.parametrize("causal", [True, False])
def test_causal_mask_hides_the_future(causal):
    model = build({"type": "transformer", "d_model": 8, "heads": 2, "causal": causal}, (6, 2), 1, seed=0).eval()
    x = torch.randn(3, 6, 2)
    changed = x.clone()
    changed[:, 4:] += 1.0  # alter steps 4 and 5 only
    with torch.no_grad():
        before, after = encoder_states(model, x), encoder_states(model, changed)
    assert torch.allclose(before[:, :4], after[:, :4], atol=1e-6) == causal


def test_sinusoidal_table_matches_the_paper():
    table = SinusoidalPositions(10, 6).table
    for pos in (0, 3, 9):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_learned_positions_are_saved_and_sinusoidal_ones_computed():
    learned = build({"type": "transformer", "positions": "learned"}, (6, 2), 1)
    fixed = build({"type": "transformer", "causal": True}, (6, 2), 1)
    assert learned.position.weight.shape == (6, 64) and "position.weight" in learned.state_dict()
    assert not any(k.startswith("position") or k == "mask" for k in fixed.state_dict())


def test_heads_must_divide_d_model():
    with pytest.raises(ConfigError, match=r"model\.heads: 5 heads do not divide model\.d_model 64.*\[1, 2, 4, 8, 16\]"):
        build({"type": "transformer", "heads": 5}, (6, 2), 1)


def test_rows_are_not_sequences():
    with pytest.raises(ConfigError, match=r"transformer reads sequences"):
        build({"type": "transformer"}, (6,), 1)
