"""Learning-rate schedules, gradient accumulation and mixed precision in the Trainer."""

import math

import pytest
import torch
from training_toys import data, mlp

from layerwise.errors import ConfigError
from layerwise.training import Trainer


def lrs(schedule, epochs=6, **kw):
    x, y = data()
    t = Trainer(
        mlp(), lr=0.1, optimizer="sgd", batch_size=64, epochs=epochs, seed=0, device="cpu", schedule=schedule, **kw
    )
    return [row["lr"] for row in t.fit(x, y, x, y)], t


def test_step_and_exponential_decay_each_epoch():
    assert lrs({"type": "step", "step_size": 2, "gamma": 0.5})[0] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert lrs({"type": "exponential", "gamma": 0.5}, epochs=3)[0] == pytest.approx([0.1, 0.05, 0.025])


def test_cosine_warms_up_then_decays_to_the_floor():
    seen, t = lrs({"type": "cosine", "warmup": 1, "min_lr": 0.001})
    # a row's lr is the one at the epoch's end: after epoch 1's 4 updates the warm-up is done
    assert seen[0] == pytest.approx(0.1) and seen[0] > seen[3] > seen[5]
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.001)


def test_onecycle_runs_every_update_and_plateau_reduces():
    seen, _ = lrs("onecycle")
    assert max(seen) < 0.1 and seen[-1] < seen[2]
    x, y = data()
    t = Trainer(
        mlp(),
        lr=0.1,
        batch_size=64,
        epochs=4,
        seed=0,
        device="cpu",
        schedule={"type": "plateau", "patience": 0, "gamma": 0.5},
    )
    t.fit(x, y, x, 0 * y + 100)  # validation never improves
    assert t.optimizer.param_groups[0]["lr"] < 0.1


def test_unknown_schedule_is_a_config_error():
    with pytest.raises(ConfigError, match="train.schedule.type"):
        Trainer(mlp(), schedule="cosin")


def test_accumulating_two_half_batches_equals_one_full_batch():
    x, y = data()
    full = Trainer(mlp(), optimizer="sgd", lr=0.05, batch_size=32, epochs=2, seed=0, device="cpu")
    full.fit(x, y)
    halves = Trainer(mlp(), optimizer="sgd", lr=0.05, batch_size=16, accumulate=2, epochs=2, seed=0, device="cpu")
    halves.fit(x, y)
    for a, b in zip(full.module.parameters(), halves.module.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("precision", ["bf16", "16-mixed"])
def test_mixed_precision_trains(precision):
    x, y = data()
    t = Trainer(mlp(), lr=0.01, batch_size=32, epochs=4, seed=0, device="cpu", precision=precision)
    history = t.fit(x, y)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (t.scaler is not None) == (precision == "16-mixed")
    assert all(p.dtype == torch.float32 for p in t.module.parameters())


def test_flat_cosine_holds_the_rate_then_decays_to_the_floor():
    from layerwise.training.schedules import check_schedule, make_schedule

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    spec = {"type": "flat_cosine", "flat": 0.5, "min_lr": 0.1, "warmup": 0}
    scheduler, every = make_schedule(spec, optimizer, epochs=4, updates_per_epoch=5)  # 20 updates
    assert every == "update"
    seen = []
    for _ in range(20):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    cosine = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * u / 10)) for u in range(10)]
    assert seen == pytest.approx([1.0] * 10 + cosine)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)  # the floor after the last update
    assert check_schedule({"type": "flat_cosine", "flat": 1.5})[0].startswith("train.schedule.flat:")
    assert check_schedule({"type": "cosine", "flat": 0.5}) == []  # the schema's dump carries every key


def test_flat_cosine_in_a_fit_keeps_the_first_half_of_the_epochs_at_the_rate():
    seen, t = lrs({"type": "flat_cosine", "min_lr": 0.001}, epochs=6)  # 4 updates an epoch, flat 0.5
    # a row's lr is the one at the epoch's end: after epoch 3's 12 updates the cosine starts at 1
    assert seen[:3] == pytest.approx([0.1] * 3) and 0.1 > seen[3] > seen[4] > seen[5]
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.001)
