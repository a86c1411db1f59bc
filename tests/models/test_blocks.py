"""Conformance harness for every registered block, and the MLP's own settings."""

import json

import pytest
import torch

from layerwise import bundle
from layerwise.bundle.predictor import Predictor
from layerwise.config.schema import ModelConfig
from layerwise.errors import ConfigError
from layerwise.models import MLP, available, build
from layerwise.models.activations import ACTIVATIONS
from layerwise.models.registry import get
from layerwise.tasks import TaskInfo

OUTPUT_DIM = 3

# Settings beyond the defaults, so the harness also sees every optional layer.
VARIANTS = {
    "backbone": [{"name": "mobilenet_v3_small", "dropout": 0.2}],
    "mlp": [{"hidden": [8, 4], "norm": "layer", "dropout": 0.2}],
    "cnn1d": [
        {"channels": [4, 6], "residual": True, "norm": "layer", "readout": "max", "dropout": 0.1},
        {"channels": [4], "kernel_size": 5, "pool": "none", "norm": "none", "activation": "tanh"},
    ],
    "cnn2d": [
        {"channels": [4, 4, 6], "residual": True, "pool": "avg", "readout": "max"},
        {"channels": [4], "kernel_size": 5, "norm": "layer", "activation": "gelu", "dropout": 0.3},
    ],
    "lstm": [
        {"hidden": [8, 5], "bidirectional": True, "dropout": 0.2},
        {"hidden": [4], "readout": "mean"},
        {"hidden": [4], "bidirectional": True, "readout": "max"},
    ],
    "gru": [{"hidden": [6, 6], "bidirectional": True, "readout": "last"}, {"hidden": [4], "readout": "max"}],
    "transformer": [
        {
            "d_model": 8,
            "heads": 2,
            "layers": 1,
            "positions": "learned",
            "causal": True,
            "readout": "last",
            "dropout": 0.1,
        },
        {"d_model": 12, "heads": 3, "causal": True, "activation": "relu", "readout": "max"},
    ],
    "text_bag": [
        {"embedding": 8, "readout": "max", "hidden": [6, 4], "dropout": 0.0},
        {"hidden": [5], "activation": "tanh"},
    ],
    "text_cnn": [
        {"embedding": 6, "channels": [4, 5], "kernel_size": 5, "readout": "mean"},
        {"channels": [3], "kernel_size": 1, "activation": "gelu", "dropout": 0.3},
    ],
    "text_gru": [
        {"embedding": 6, "hidden": [5, 4], "readout": "last", "dropout": 0.2},
        {"hidden": [4], "bidirectional": False, "readout": "mean"},
    ],
    "text_lstm": [
        {"embedding": 6, "hidden": [5, 4], "bidirectional": True, "readout": "last"},
        {"hidden": [4], "bidirectional": False, "readout": "last", "activation": "tanh"},
    ],
    "tabular": [
        {"numeric_embedding": "piecewise", "bins": 4, "embedding": 3, "hidden": [8, 6], "members": 3},
        {"numeric_embedding": "none", "hidden": [], "members": 1, "activation": "relu", "dropout": 0.0},
        {"embedding": 4, "hidden": [6], "members": 1, "activation": "tanh"},
    ],
    "text_transformer": [
        {"d_model": 8, "heads": 2, "layers": 1, "positions": "sinusoidal", "readout": "max", "dropout": 0.0},
        {"d_model": 12, "heads": 3, "hidden": [6, 6], "activation": "gelu"},
    ],
}


def example_config(name: str) -> dict:
    """What a block needs beyond {"type": name} to be built at all (a text block's input layout)."""
    return dict(getattr(get(name), "example_config", {}))


def check_block(module: torch.nn.Module, input_shape: tuple[int, ...], tmp_path=None) -> None:
    """Shapes, finite gradients on every parameter, the config round trip, and, with
    `tmp_path`, the bundle round trip: save, load, identical outputs."""
    if hasattr(module, "example_input"):  # text blocks: dense features, then valid token ids
        x = type(module).example_input(5, torch.Generator().manual_seed(0))  # (batch, *input_shape)
    else:
        x = torch.randn(5, *input_shape, generator=torch.Generator().manual_seed(0))  # (batch, *input_shape)
    out = module(x)  # train mode: batch norms update their running statistics too
    members = getattr(module, "members", 1)  # tabular: one prediction per member while training
    assert out.shape == ((5, members, OUTPUT_DIM) if members > 1 else (5, OUTPUT_DIM))
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
    if tmp_path is not None:
        check_bundle_round_trip(module, input_shape, x, tmp_path)


def check_bundle_round_trip(module, input_shape, x, tmp_path) -> None:
    """What an experiment does: the model section as ModelConfig dumps it, saved in a
    bundle beside safetensors weights; `bundle.load` rebuilds it with `build`."""
    section = ModelConfig(**module.get_config()).model_dump()  # every setting is a schema key
    task = TaskInfo(type="regression", target="y", features=["a"])
    model = {"config": section, "input_shape": list(input_shape), "output_dim": OUTPUT_DIM}
    bundle.save(Predictor(task, module, model=model), tmp_path / "bundle")
    loaded = bundle.load(tmp_path / "bundle").module
    assert loaded.get_config() == module.get_config()
    with torch.no_grad():
        assert torch.equal(loaded(x), module.eval()(x))


@pytest.mark.parametrize("name", available())
def test_every_registered_block_conforms(name, tmp_path):
    cls = get(name)
    input_shape = cls.example_input_shape
    module = build({"type": name, **example_config(name)}, input_shape, OUTPUT_DIM, seed=0)
    assert module.get_config()["type"] == name
    check_block(module, input_shape, tmp_path)


def test_every_registered_block_has_variants_here():
    assert sorted(VARIANTS) == available()


@pytest.mark.parametrize(
    ("name", "cfg"),
    [(name, cfg) for name, cfgs in VARIANTS.items() for cfg in cfgs],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={v[k]}" for k in list(v)[:3]),
)
def test_every_block_variant_conforms(name, cfg, tmp_path):
    input_shape = get(name).example_input_shape
    module = build({"type": name, **example_config(name), **cfg}, input_shape, OUTPUT_DIM, seed=0)
    assert {k: module.get_config()[k] for k in cfg} == cfg
    check_block(module, input_shape, tmp_path)


@pytest.mark.parametrize("name", available())
def test_dumped_schema_section_rebuilds_every_block(name):
    """ModelConfig(type=name).model_dump() carries the other blocks' keys as None."""
    section = ModelConfig(type=name, **example_config(name)).model_dump()
    module = build(section, get(name).example_input_shape, OUTPUT_DIM)
    assert module.get_config() == {"type": name, **get(name).defaults, **example_config(name)}


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
