import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.training import make_loss


@pytest.mark.parametrize("name,reference", [("mse", nn.MSELoss()), ("mae", nn.L1Loss()), ("huber", nn.HuberLoss())])
def test_regression_losses_match_torch_for_either_target_shape(name, reference):
    out, target = torch.randn(10, 1), torch.randn(10, 1)
    loss = make_loss(name)
    assert torch.equal(loss(out, target), reference(out, target))
    assert torch.equal(loss(out, target.squeeze(1)), reference(out, target))  # (n,) never broadcasts


def test_cross_entropy_takes_labels_in_any_column_shape_and_weights():
    logits, labels = torch.randn(12, 3), torch.randint(0, 3, (12,))
    weights = [1.0, 2.0, 0.5]
    expected = nn.CrossEntropyLoss(weight=torch.tensor(weights))(logits, labels)
    loss = make_loss("cross_entropy", class_weights=weights)
    assert torch.equal(loss(logits, labels), expected)
    assert torch.equal(loss(logits, labels.float().unsqueeze(1)), expected)


def test_bce_matches_torch_and_weights_like_cross_entropy():
    logits, labels = torch.randn(20, 1), torch.randint(0, 2, (20,)).float()
    assert torch.equal(make_loss("bce")(logits, labels), nn.BCEWithLogitsLoss()(logits, labels.unsqueeze(1)))
    # [w0, w1] weighting is CrossEntropyLoss's weighted mean on two-logit form
    two_logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
    expected = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0]))(two_logits, labels.long())
    got = make_loss("bce", class_weights=[1.0, 3.0])(logits, labels)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_loss_and_misplaced_weights():
    with pytest.raises(ConfigError, match=r"train\.loss.*did you mean 'cross_entropy'"):
        make_loss("crossentropy")
    with pytest.raises(ConfigError, match=r"train\.class_weights"):
        make_loss("mse", class_weights=[1.0, 2.0])
    assert make_loss(nn.SmoothL1Loss()).__class__ is nn.SmoothL1Loss  # real objects pass through
