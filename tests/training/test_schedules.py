"""Learning-rate schedules, gradient accumulation and mixed precision in the Trainer."""

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
