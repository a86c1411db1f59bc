"""The NaN/inf guard: stop (the default) keeps the last finite weights and writes nothing
non-finite; skip_batch and reduce_lr drop bad updates and go on."""

import math

import pytest
import torch
from training_toys import data, mlp

from layerwise.errors import LayerwiseError
from layerwise.training import Callback, Checkpoints, Trainer


class RaiseLr(Callback):
    """After epoch 2, the learning rate jumps to 1e6."""

    def __init__(self):
        self.weights = None

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == 2:
            self.weights = {k: v.clone() for k, v in trainer.module.state_dict().items()}
            for group in trainer.optimizer.param_groups:
                group["lr"] = 1e6


def test_lr_1e6_stops_naming_epoch_and_step_and_keeps_finite_checkpoints(tmp_path):
    x, y = data()
    jump = RaiseLr()
    trainer = Trainer(
        mlp(),
        optimizer="sgd",
        lr=0.01,
        batch_size=32,
        epochs=5,
        seed=0,
        device="cpu",
        checkpoint_dir=tmp_path,
        callbacks=[jump],
    )
    with pytest.raises(LayerwiseError, match=r"epoch 3, step \d+ of 8") as caught:
        trainer.fit(x, y, x, y)
    before = jump.weights
    assert "learning rate too high" in caught.value.hint and "unnormalized inputs" in caught.value.hint
    for k, v in trainer.module.state_dict().items():
        assert torch.equal(v, before[k]), k  # the end of epoch 2, the best so far
    record, tensors = Checkpoints(tmp_path).load_newest()
    assert record["epochs"] == 2 and all(bool(torch.isfinite(t.float()).all()) for t in tensors.values())


@pytest.mark.parametrize("mode", ["skip_batch", "reduce_lr"])
def test_per_step_modes_drop_bad_updates_and_finish(mode):
    x, y = data()
    x[7, 0] = math.nan  # one bad row: its batch's loss and gradients are NaN each epoch
    trainer = Trainer(mlp(), lr=0.01, batch_size=32, epochs=3, seed=0, device="cpu", on_nan=mode)
    history = trainer.fit(x, y)
    assert trainer.nan_skipped == 3
    assert all(math.isfinite(r["train_loss"]) for r in history)
    assert all(bool(torch.isfinite(p).all()) for p in trainer.module.parameters())
    assert trainer.optimizer.param_groups[0]["lr"] == (0.01 if mode == "skip_batch" else 0.01 / 8)


def test_per_step_mode_gives_up_after_a_run_of_bad_updates():
    x, y = data()
    x[:, 0] = math.inf
    trainer = Trainer(mlp(), batch_size=16, epochs=1, seed=0, device="cpu", on_nan="skip_batch")
    with pytest.raises(LayerwiseError, match="epoch 1, step 10 of 16"):
        trainer.fit(x, y)
