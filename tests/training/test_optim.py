import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.training import make_optimizer


@pytest.mark.parametrize(
    "name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]
)
def test_fused_where_torch_has_it(name, cls):
    opt = make_optimizer(name, nn.Linear(3, 2).parameters(), lr=0.1, weight_decay=0.01)
    assert type(opt) is cls and opt.defaults["fused"] is True
    assert opt.defaults["weight_decay"] == 0.01


def test_rmsprop_is_foreach_and_sgd_takes_nesterov():
    assert make_optimizer("rmsprop", nn.Linear(3, 2).parameters(), lr=0.1).defaults["foreach"] is True
    sgd = make_optimizer("sgd", nn.Linear(3, 2).parameters(), lr=0.1, momentum=0.5, nesterov=True)
    assert sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.5


def test_unknown_optimizer_and_bad_values():
    with pytest.raises(ConfigError, match=r"train\.optimizer.*did you mean 'adamw'"):
        make_optimizer("adamww", nn.Linear(3, 2).parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=r"train\.lr"):
        make_optimizer("adam", nn.Linear(3, 2).parameters(), lr=-1.0)
    with pytest.raises(ConfigError, match=r"train\.nesterov"):
        make_optimizer("adam", nn.Linear(3, 2).parameters(), lr=0.1, nesterov=True)
