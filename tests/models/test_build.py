import torch

from layerwise.models import build


def test_head_width_is_output_dim_and_outputs_are_raw_scores():
    model = build({"type": "mlp", "hidden": [16]}, (10,), 4, seed=0)
    out = model(torch.randn(8, 10))
    assert out.shape == (8, 4)
    assert not torch.allclose(out.softmax(1).sum(1), out.sum(1))  # no softmax inside


def test_forecasting_window_feeds_the_mlp():
    model = build({"type": "mlp", "hidden": [8]}, (24, 3), 6)  # (lookback, features) -> horizon
    assert model(torch.randn(2, 24, 3)).shape == (2, 6)


def test_seed_fixes_the_initial_weights_and_init_is_applied():
    cfg = {"type": "mlp", "hidden": [32], "init": "normal"}
    a, b = build(cfg, (64,), 1, seed=5), build(cfg, (64,), 1, seed=5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert 0.015 < a.layers[1].weight.std().item() < 0.025  # N(0, 0.02^2)


def test_defaults_make_a_two_layer_relu_mlp():
    model = build({"type": "mlp"}, (5,), 1)
    assert model.get_config() == {
        "type": "mlp",
        "hidden": [64, 64],
        "activation": "relu",
        "dropout": 0.0,
        "norm": "none",
    }
