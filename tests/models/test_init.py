import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import initialize
from layerwise.models.activations import ACTIVATIONS
from layerwise.models.init import SCHEMES, expected_std, resolve

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
