"""Label smoothing against torch's oracle and the bce formula; the members' loss of a tabular model."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import build
from layerwise.training import Trainer, lr_find, make_loss
from layerwise.training.losses import MemberLoss


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5]])
def test_cross_entropy_smoothing_matches_torch(weights):
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(12, 3, generator=g), torch.randint(0, 3, (12,), generator=g)
    w = None if weights is None else torch.tensor(weights)
    expected = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)(logits, labels)
    got = make_loss("cross_entropy", weights, 0.1)(logits, labels.float().unsqueeze(1))
    torch.testing.assert_close(got, expected)


def test_bce_smoothing_scores_against_the_softened_targets():
    g = torch.Generator().manual_seed(1)
    logits, labels = torch.randn(20, 1, generator=g), torch.randint(0, 2, (20,), generator=g).float()
    e = 0.2
    t = labels.unsqueeze(1) * (1 - e) + e / 2  # 0 -> 0.1, 1 -> 0.9
    p = torch.sigmoid(logits)
    expected = -(t * p.log() + (1 - t) * (1 - p).log())
    torch.testing.assert_close(make_loss("bce", label_smoothing=e)(logits, labels), expected.mean())
    weight = torch.where(labels.unsqueeze(1) == 1, 3.0, 1.0)  # the weights follow the label itself
    got = make_loss("bce", class_weights=[1.0, 3.0], label_smoothing=e)(logits, labels)
    torch.testing.assert_close(got, (weight * expected).sum() / weight.sum())


def test_smoothing_refuses_regression_losses_modules_and_bad_values():
    with pytest.raises(ConfigError, match=r"train\.label_smoothing.*not 'mse'.*set it to 0"):
        make_loss("mse", label_smoothing=0.1)
    with pytest.raises(ConfigError, match=r"train\.label_smoothing.*SmoothL1Loss"):
        make_loss(nn.SmoothL1Loss(), label_smoothing=0.1)
    with pytest.raises(ConfigError, match=r"train\.label_smoothing: 1\.0 must be in \[0, 1\)"):
        Trainer(nn.Linear(2, 3), loss="cross_entropy", label_smoothing=1.0)
    assert isinstance(make_loss("mse", label_smoothing=0.0), nn.Module)


@pytest.mark.parametrize(
    ("name", "weights", "target"),
    [
        ("mse", None, lambda g: torch.randn(8, 2, generator=g)),
        ("cross_entropy", [1.0, 2.0], lambda g: torch.randint(0, 2, (8,), generator=g)),
        ("bce", [1.0, 3.0], lambda g: torch.randint(0, 2, (8, 1), generator=g).float()),
    ],
)
def test_member_loss_is_the_mean_of_the_members_losses(name, weights, target):
    g = torch.Generator().manual_seed(2)
    y = target(g)
    out_dim = 1 if name == "bce" else 2
    output = torch.randn(8, 5, out_dim, generator=g)  # (batch, members, out)
    inner = make_loss(name, weights, 0.1 if name != "mse" else 0.0)
    loss = MemberLoss(inner, 5)
    expected = torch.stack([inner(output[:, m], y) for m in range(5)]).mean()
    torch.testing.assert_close(loss(output, y), expected)
    plain = torch.randn(8, out_dim, generator=g)  # eval mode: the members' average passes through
    assert torch.equal(loss(plain, y), inner(plain, y))


def tabular(members: int) -> nn.Module:
    return build({"type": "tabular", "hidden": [16], "members": members}, (4,), 3, seed=0)


def test_the_trainer_scores_each_member_and_validates_on_their_mean():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(200, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()  # 3 classes
    trainer = Trainer(tabular(4), loss="cross_entropy", label_smoothing=0.1, lr=3e-3, batch_size=32, epochs=8)
    assert isinstance(trainer.loss_fn, MemberLoss) and trainer.loss_fn.members == 4
    assert not isinstance(Trainer(tabular(1), loss="cross_entropy").loss_fn, MemberLoss)
    history = trainer.fit(x, y, x, y)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert trainer.predict(x).shape == (200, 3)
    accuracy = (trainer.predict(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.8
    found = lr_find(trainer, x, y, steps=20)  # the same wrapped loss, members and all
    assert len(found.losses) > 0


def test_the_member_loss_trains_what_a_plain_loop_trains():
    """Reference oracle: one Trainer epoch equals a plain loop of F.mse_loss over the members."""
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g)

    def model() -> nn.Module:
        return build({"type": "tabular", "hidden": [8], "members": 3, "dropout": 0.0}, (4,), 1, seed=0)

    trainer = Trainer(model(), optimizer="sgd", lr=0.05, batch_size=64, epochs=1, seed=0, device="cpu")
    trainer.fit(x, y)
    plain = model().train()
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.05)
    out = plain(x)  # (64, 3, 1): one batch, the whole data (order does not matter)
    F.mse_loss(out, y.unsqueeze(1).expand_as(out)).backward()
    optimizer.step()
    for a, b in zip(trainer.module.parameters(), plain.parameters()):
        torch.testing.assert_close(a, b)
