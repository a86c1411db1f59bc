"""Trainer.fit_stream: training from an iterable of (x, y) batches, as data/streaming.py feeds it.

Same seed -> same weights; a signal mid-epoch saves the last epoch end, and resuming from it
ends bit-identical to a run never stopped (streams resume at epoch ends only)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from layerwise.models import build
from layerwise.training import Checkpoints, Interrupted, Trainer

X = np.random.default_rng(0).normal(size=(600, 5)).astype(np.float32)  # (n, features)
Y = (X[:, :2].sum(axis=1, keepdims=True) + 0.1 * X[:, 2:3]).astype(np.float32)  # (n, 1)


def _batches(epoch: int, stop_at: int | None = None):
    """The epoch's batches in an order fixed by the epoch; SIGTERM to this process at epoch `stop_at`."""
    order = np.random.default_rng([7, epoch]).permutation(500)
    for i, start in enumerate(range(0, 500, 64)):
        if epoch == stop_at and i == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        rows = order[start : start + 64]
        yield X[rows], Y[rows]


def _val():
    yield X[500:550], Y[500:550]
    yield X[550:], Y[550:]


def _trainer(epochs: int, folder=None) -> Trainer:
    model = build({"type": "mlp", "hidden": [16], "dropout": 0.2}, (5,), 1, seed=0)  # dropout: the torch RNG counts
    return Trainer(
        model,
        lr=1e-2,
        batch_size=64,
        epochs=epochs,
        seed=3,
        device="cpu",
        threads=1,
        checkpoint_dir=folder,
        metric=lambda p, t: float((p - t).abs().mean()),
    )


def _weights(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.module.parameters()]


def test_same_seed_same_weights_and_validation_is_streamed_whole():
    a, b = _trainer(3), _trainer(3)
    history = a.fit_stream(_batches, 500, _val)
    b.fit_stream(_batches, 500, _val)
    assert all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b)))
    assert [row["epoch"] for row in history] == [1, 2, 3] and history[-1]["val_loss"] < history[0]["val_loss"]
    # the validation loss is the loss over all 100 streamed rows, as fit() computes it on arrays
    with torch.no_grad():
        a.module.eval()
        expected = torch.nn.functional.mse_loss(a.module(torch.from_numpy(X[500:])), torch.from_numpy(Y[500:]))
    assert history[-1]["val_loss"] == pytest.approx(float(expected), rel=1e-6)


def test_a_signal_mid_epoch_saves_the_last_epoch_end_and_resume_is_bit_identical(tmp_path):
    never_stopped = _trainer(4)
    never_stopped.fit_stream(_batches, 500, _val)

    with pytest.raises(Interrupted, match="saved the end of epoch 2 .* resumes at epoch ends only"):
        _trainer(4, tmp_path).fit_stream(lambda e: _batches(e, stop_at=3), 500, _val)
    assert [epochs for epochs, _ in Checkpoints(tmp_path).names()][-1] == 2
    resumed = _trainer(4, tmp_path)
    history = resumed.fit_stream(_batches, 500, _val, resume=True)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert all(torch.equal(p, q) for p, q in zip(_weights(resumed), _weights(never_stopped)))


def test_an_empty_stream_is_a_data_error():
    from layerwise.errors import DataError

    with pytest.raises(DataError, match="streamed training split has no rows"):
        _trainer(1).fit_stream(_batches, 0)


def test_batches_beyond_the_counted_rows_still_train_and_none_at_all_is_a_data_error():
    from layerwise.errors import DataError

    counted, undercounted = _trainer(2), _trainer(2)
    counted.fit_stream(_batches, 500)
    undercounted.fit_stream(_batches, 100)  # room for 2 batch losses made up front, 8 arrive
    assert all(torch.equal(p, q) for p, q in zip(_weights(counted), _weights(undercounted)))
    with pytest.raises(DataError, match="epoch 1: the streamed training batches were empty"):
        _trainer(1).fit_stream(lambda epoch: iter(()), 500)
