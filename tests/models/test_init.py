import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import available, build, get, initialize
from layerwise.models.activations import ACTIVATIONS
from layerwise.models.init import LSTM_FORGET_BIAS, SCHEMES, expected_std, resolve

FAN_IN, FAN_OUT = 512, 256


def layer_std(scheme: str, activation: str) -> float:
    layer = initialize(nn.Linear(FAN_IN, FAN_OUT), scheme, activation=activation, seed=0)
    assert torch.equal(layer.bias, torch.zeros(FAN_OUT))
    return layer.weight.std().item()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_gives_its_expected_spread(scheme):
    # 131k weights: the sample std is within ~1% of the true one; 5% leaves room
    expected = expected_std(scheme, "relu", FAN_IN, FAN_OUT)
    assert layer_std(scheme, "relu") == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_auto_follows_the_activation(activation):
    expected = expected_std("auto", activation, FAN_IN, FAN_OUT)
    assert layer_std("auto", activation) == pytest.approx(expected, rel=0.05)


def test_auto_is_he_for_relu_and_xavier_for_tanh():
    assert resolve("auto", "relu") == "kaiming_normal"
    assert resolve("auto", "tanh") == "xavier_normal"
    he = (2.0 / FAN_IN) ** 0.5
    xavier_tanh = 5.0 / 3.0 * (2.0 / (FAN_IN + FAN_OUT)) ** 0.5
    assert layer_std("auto", "relu") == pytest.approx(he, rel=0.05)
    assert layer_std("auto", "tanh") == pytest.approx(xavier_tanh, rel=0.05)


def test_norms_get_ones_and_zeros_and_seed_repeats():
    def model():
        return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.LayerNorm(8), nn.Conv1d(2, 3, 3))

    a, b = model(), model()
    with torch.no_grad():
        for p in a.parameters():
            p.fill_(7.0)
    initialize(a, "orthogonal", seed=3), initialize(b, "orthogonal", seed=3)
    assert torch.equal(a[1].weight, torch.ones(8)) and torch.equal(a[2].bias, torch.zeros(8))
    assert torch.equal(a[3].bias, torch.zeros(3))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_unknown_scheme_names_model_init():
    with pytest.raises(ConfigError, match=r"model\.init.*did you mean 'xavier_uniform'"):
        initialize(nn.Linear(2, 2), "xavier_unifrom")


# -- per-layer-type defaults of `auto`, on the built blocks ------------------------------


def test_lstm_gets_orthogonal_recurrent_gates_xavier_inputs_and_forget_bias_one():
    hidden, features = 64, 96
    lstm = build({"type": "lstm", "hidden": [hidden]}, (5, features), 1, seed=0).layers[0]
    for gate in lstm.weight_hh_l0.split(hidden):  # (hidden, hidden) each: orthogonal
        assert torch.allclose(gate @ gate.T, torch.eye(hidden), atol=1e-5)
    for gate in lstm.weight_ih_l0.split(hidden):  # (hidden, features) each: Xavier, gain 1
        assert gate.std().item() == pytest.approx((2.0 / (features + hidden)) ** 0.5, rel=0.1)
    bias = lstm.bias_ih_l0.split(hidden)  # gates: input, forget, cell, output
    assert torch.equal(bias[1], torch.full((hidden,), LSTM_FORGET_BIAS))
    assert all(torch.equal(b, torch.zeros(hidden)) for b in (bias[0], bias[2], bias[3]))
    assert torch.equal(lstm.bias_hh_l0, torch.zeros(4 * hidden))


def test_gru_biases_are_zero_and_a_named_scheme_reaches_recurrent_weights():
    gru = build({"type": "gru", "hidden": [64], "bidirectional": True}, (5, 8), 1, seed=0).layers[0]
    assert all(torch.equal(p, torch.zeros_like(p)) for n, p in gru.named_parameters() if n.startswith("bias"))
    lstm = build({"type": "lstm", "hidden": [64], "init": "normal"}, (5, 8), 1, seed=0).layers[0]
    assert lstm.weight_hh_l0.std().item() == pytest.approx(0.02, rel=0.05)
    assert lstm.bias_ih_l0[64:128].eq(LSTM_FORGET_BIAS).all()  # the bias rule stays


def test_relu_convs_get_he_and_the_head_gets_xavier_gain_one():
    model = build({"type": "cnn2d", "channels": [64, 128]}, (3, 8, 8), 256, seed=0)
    conv = model.stages[1].body[0]  # (128, 64, 3, 3): fan_in 576
    assert conv.weight.std().item() == pytest.approx((2.0 / 576) ** 0.5, rel=0.05)
    head = model.head  # (256, 128), raw scores: no activation follows
    assert head.weight.std().item() == pytest.approx((2.0 / (128 + 256)) ** 0.5, rel=0.05)
    tanh = build({"type": "mlp", "hidden": [256], "activation": "tanh"}, (512,), 1, seed=0).layers[1]
    assert tanh.weight.std().item() == pytest.approx(expected_std("auto", "tanh", 512, 256), rel=0.05)


def test_transformer_layers_get_xavier_uniform_and_norms_ones():
    model = build({"type": "transformer", "d_model": 128, "positions": "learned"}, (6, 3), 1, seed=0)
    layer = model.encoder.layers[0]
    w = layer.self_attn.in_proj_weight  # (3 * d_model, d_model), xavier over the stack
    assert w.abs().max().item() <= (6.0 / (128 + 384)) ** 0.5 + 1e-6
    assert w.std().item() == pytest.approx((2.0 / (128 + 384)) ** 0.5, rel=0.05)
    assert layer.linear1.weight.std().item() == pytest.approx((2.0 / (128 + 512)) ** 0.5, rel=0.05)
    assert torch.equal(layer.norm1.weight, torch.ones(128)) and torch.equal(model.encoder.norm.bias, torch.zeros(128))
    assert model.position.weight.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("name", available())
def test_same_seed_same_initial_weights_for_every_block(name):
    shape = get(name).example_input_shape
    section = {"type": name, **getattr(get(name), "example_config", {})}  # text blocks need their input layout
    a, b = build(section, shape, 2, seed=7), build(section, shape, 2, seed=7)
    c = build(section, shape, 2, seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), c.state_dict().values()))
