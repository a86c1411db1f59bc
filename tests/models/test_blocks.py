"""Conformance harness for every registered block, and the MLP's own settings."""

import json

import pytest
import torch

from layerwise.errors import ConfigError
from layerwise.models import MLP, available, build
from layerwise.models.activations import ACTIVATIONS
from layerwise.models.registry import get

OUTPUT_DIM = 3


def check_block(module: torch.nn.Module, input_shape: tuple[int, ...]) -> None:
    """Shapes, finite gradients on every parameter, and the config round trip."""
    x = torch.randn(5, *input_shape, generator=torch.Generator().manual_seed(0))  # (batch, *input_shape)
    out = module(x)
    assert out.shape == (5, OUTPUT_DIM)
    out.square().mean().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"

    cfg = json.loads(json.dumps(module.get_config()))  # plain, JSON-ready
    clone = type(module).from_config(cfg, input_shape, OUTPUT_DIM)
    assert clone.get_config() == cfg
    assert str(clone) == str(module)  # same layers, same sizes
    clone.load_state_dict(module.state_dict())
    module.eval(), clone.eval()
    with torch.no_grad():
        assert torch.equal(clone(x), module(x))


@pytest.mark.parametrize("name", available())
def test_every_registered_block_conforms(name):
    cls = get(name)
    input_shape = getattr(cls, "example_input_shape", (4, 3))  # a window: (lookback, features)
    module = build({"type": name}, input_shape, OUTPUT_DIM, seed=0)
    assert module.get_config()["type"] == name
    check_block(module, input_shape)


@pytest.mark.parametrize(
    "cfg",
    [
        {"hidden": []},  # a linear model
        {"hidden": [8]},
        {"hidden": [8, 8, 8, 8], "dropout": 0.3},
        {"hidden": [8, 4], "norm": "batch"},
        {"hidden": [8, 4], "norm": "layer"},
    ],
)
def test_mlp_depths_and_norms_conform(cfg):
    check_block(build({"type": "mlp", **cfg}, (6,), OUTPUT_DIM, seed=1), (6,))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_conforms(activation):
    module = build({"type": "mlp", "hidden": [8], "activation": activation}, (6,), OUTPUT_DIM, seed=2)
    assert isinstance(module.layers[2], ACTIVATIONS[activation])
    check_block(module, (6,))


def test_mlp_layout_flattens_then_linear_norm_activation_dropout():
    mlp = MLP((5, 2), [7], 1, activation="tanh", dropout=0.1, norm="layer")
    kinds = [type(m).__name__ for m in mlp.layers]
    assert kinds == ["Flatten", "Linear", "LayerNorm", "Tanh", "Dropout", "Linear"]
    assert mlp.layers[1].in_features == 10 and mlp.layers[-1].out_features == 1


def test_unknown_activation_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"model\.activation.*did you mean 'relu'"):
        build({"type": "mlp", "activation": "rleu"}, (4,), 1)


def test_bad_settings_are_all_reported_at_once():
    with pytest.raises(ConfigError) as info:
        build({"type": "mlp", "hidden": [0], "dropout": 1.5, "norm": "batchnorm"}, (4,), 1)
    problems = " ".join(info.value.problems)
    assert "model.hidden" in problems and "model.dropout" in problems
    assert "did you mean 'batch'" in problems


def test_unknown_setting_is_named_and_none_is_ignored():
    with pytest.raises(ConfigError, match=r"model\.hiden.*did you mean 'hidden'"):
        build({"type": "mlp", "hiden": [4]}, (4,), 1)
    # a flat section may carry other blocks' settings unset
    assert build({"type": "mlp", "hidden": [4], "channels": None}, (4,), 1).hidden == [4]
