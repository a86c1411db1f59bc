"""LSTM and GRU: stacking, and the `last` readout checked against torch's own final state."""

import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import build


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_last_readout_is_each_directions_final_state(name):
    """Oracle: torch's h_n holds the forward state after the last step and the backward
    state after the first; the head must see exactly those."""
    model = build({"type": name, "hidden": [5], "bidirectional": True}, (7, 3), 1, seed=0).eval()
    seen = {}
    model.head.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
    x = torch.randn(4, 7, 3)
    model(x)
    _, state = model.layers[0](x)
    h_n = state[0] if name == "lstm" else state  # (directions, batch, hidden)
    assert torch.allclose(seen["x"], torch.cat([h_n[0], h_n[1]], dim=1))


def test_layers_stack_with_their_own_widths():
    model = build({"type": "lstm", "hidden": [8, 4], "bidirectional": True}, (6, 2), 3)
    assert [(m.input_size, m.hidden_size) for m in model.layers] == [(2, 8), (16, 4)]
    assert model.head.in_features == 8
    assert all(isinstance(m, nn.LSTM) and m.num_layers == 1 for m in model.layers)


def test_rows_are_not_sequences():
    with pytest.raises(ConfigError, match=r"model\.type: gru reads sequences.*use mlp for rows"):
        build({"type": "gru"}, (6,), 1)


def test_settings_of_other_blocks_are_named():
    with pytest.raises(ConfigError, match=r"model\.activation: not a setting of model type 'lstm'"):
        build({"type": "lstm", "activation": "relu"}, (6, 2), 1)
