"""The Trainer against a plain PyTorch loop, and its promises: determinism,
early stopping, learning, the non-finite guard, argument checks."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError, DataError, LayerwiseError
from layerwise.models import build
from layerwise.training import Callback, Trainer

THREADS = torch.get_num_threads()  # the oracle runs at the Trainer's thread count


def regression(n=200, features=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)  # (n, features)
    y = x @ torch.linspace(-1, 1, features).unsqueeze(1) + 0.05 * torch.randn(n, 1, generator=g)  # (n, 1)
    return x, y


def mlp(features=6, out=1, seed=0, **cfg):
    return build({"type": "mlp", "hidden": [16, 16], **cfg}, (features,), out, seed=seed)


def plain_fit(model, x, y, *, optimizer, lr, weight_decay, batch_size, epochs, seed, l1=0.0, clip_grad=None):
    """What the Trainer promises to do, written as a plain loop (see trainer.py's docstring)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay, fused=True)
    weights = [p for p in model.parameters() if p.dim() > 1]
    for _ in range(epochs):
        idx = torch.randperm(x.shape[0], generator=g, device="cpu")
        for i in range(0, x.shape[0], batch_size):
            b = idx[i : i + batch_size]
            loss = nn.functional.mse_loss(model(x[b]), y[b])
            if l1:
                loss = loss + l1 * sum(w.abs().sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(list(model.parameters()), clip_grad, foreach=True)
            opt.step()
    return model


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("weight_decay", [0.0, 1e-2])
def test_weights_equal_a_plain_pytorch_loop(optimizer, weight_decay):
    # Same batches, same fused kernels, same op order on one device and thread
    # count: the result is bit-identical, so the tolerance is zero.
    x, y = regression()
    model = mlp()
    reference = plain_fit(
        copy.deepcopy(model),
        x,
        y,
        optimizer=optimizer,
        lr=0.01,
        weight_decay=weight_decay,
        batch_size=32,
        epochs=3,
        seed=7,
    )
    trainer = Trainer(
        model,
        optimizer=optimizer,
        lr=0.01,
        weight_decay=weight_decay,
        batch_size=32,
        epochs=3,
        seed=7,
        device="cpu",
        threads=THREADS,
    )
    trainer.fit(x, y)
    assert_same_weights(trainer.module, reference)


def test_l1_and_clipping_match_the_plain_loop():
    x, y = regression()
    model = mlp()
    reference = plain_fit(
        copy.deepcopy(model),
        x,
        y,
        optimizer="adam",
        lr=0.01,
        weight_decay=0.0,
        batch_size=50,
        epochs=2,
        seed=1,
        l1=1e-3,
        clip_grad=0.5,
    )
    trainer = Trainer(
        model, lr=0.01, l1=1e-3, clip_grad=0.5, batch_size=50, epochs=2, seed=1, device="cpu", threads=THREADS
    )
    trainer.fit(x, y)
    assert_same_weights(trainer.module, reference)


def test_same_seed_same_weights_other_seed_differs():
    x, y = regression()

    def fit(seed):
        model = mlp(dropout=0.2)  # dropout draws from the global generator
        Trainer(model, batch_size=16, epochs=2, seed=seed, device="cpu").fit(x.numpy(), y.numpy())
        return model

    a, b, c = fit(3), fit(3), fit(4)
    assert_same_weights(a, b)
    assert not torch.equal(a.layers[1].weight, c.layers[1].weight)


def test_resume_continues_one_fit_exactly():
    # Three epochs as one fit, or one epoch and then two resumed ones: the batch order,
    # dropout draws and optimizer state go on, so the weights are bit-identical.
    x, y = regression()
    whole = Trainer(mlp(dropout=0.2), batch_size=16, epochs=3, seed=2, device="cpu", threads=THREADS)
    whole.fit(x, y)
    parts = Trainer(mlp(dropout=0.2), batch_size=16, epochs=1, seed=2, device="cpu", threads=THREADS)
    parts.fit(x, y)
    parts.epochs = 2
    history = parts.fit(x, y, resume=True)
    assert_same_weights(parts.module, whole.module)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert [row["train_loss"] for row in history] == [row["train_loss"] for row in whole.history]
    parts.fit(x, y)  # without resume: a fresh history and seed, as before
    assert [row["epoch"] for row in parts.history] == [1, 2]


class RecordWeights(Callback):
    def __init__(self):
        self.states = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.states[epoch] = copy.deepcopy(trainer.module.state_dict())


def test_early_stopping_restores_the_best_validation_epoch():
    # validation targets are half the training ones: as the outputs grow from
    # near 0 towards y, validation loss falls until they pass y/2, then rises
    x, y = regression(n=256)
    record = RecordWeights()
    trainer = Trainer(mlp(), lr=0.003, batch_size=32, epochs=30, patience=3, seed=0, device="cpu", callbacks=[record])
    history = trainer.fit(x[:192], y[:192], x[192:], 0.5 * y[192:])
    val = [row["val_loss"] for row in history]
    assert trainer.stop and 1 < trainer.best_epoch and len(history) == trainer.best_epoch + 3 < 30
    assert val[trainer.best_epoch - 1] == min(val)
    assert_same_weights(trainer.module, _as_module(record.states[trainer.best_epoch]))


def _as_module(state):
    model = mlp()
    model.load_state_dict(state)
    return model


def test_learns_a_regression():
    x, y = regression(n=400)
    history = Trainer(mlp(), lr=0.01, batch_size=32, epochs=15, device="cpu").fit(x, y)
    assert history[-1]["train_loss"] < 0.05 * history[0]["train_loss"]


def test_learns_three_classes():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(100)  # (300,)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    x = centers[labels] + torch.randn(300, 2, generator=g)
    trainer = Trainer(
        mlp(features=2, out=3),
        loss="cross_entropy",
        lr=0.01,
        batch_size=32,
        epochs=10,
        device="cpu",
        metric=lambda p, t: (p.argmax(1) == t).float().mean().item(),
    )
    history = trainer.fit(x, labels.numpy(), x, labels.numpy())
    assert history[-1]["train_loss"] < 0.3 * history[0]["train_loss"]
    assert history[-1]["val_metric"] > 0.9
    assert trainer.predict(x).argmax(1).eq(labels).float().mean() > 0.9


def test_absurd_learning_rate_raises_naming_epoch_and_step_with_finite_weights():
    x, y = regression()
    model = mlp()
    trainer = Trainer(model, optimizer="sgd", lr=1e6, batch_size=32, epochs=5, device="cpu")
    with pytest.raises(LayerwiseError, match=r"epoch 1, step \d+ of 7") as info:
        trainer.fit(x * 100, y)
    assert "train.lr" in str(info.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_history_predict_and_threads():
    x, y = regression()
    seen = []

    class Threads(Callback):
        def on_epoch_start(self, trainer, epoch):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    trainer = Trainer(mlp(), epochs=2, device="cpu", threads=1, callbacks=[Threads()])
    history = trainer.fit(x, y.squeeze(1), x, y.squeeze(1))  # (n,) targets for (n, 1) outputs
    assert set(history[0]) == {"epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds"}
    assert [row["epoch"] for row in history] == [1, 2] and history[0]["lr"] == 1e-3
    assert seen == [1, 1] and torch.get_num_threads() == before
    trainer.module.train()
    out = trainer.predict(x.numpy().astype(np.float64), batch_size=64)
    assert out.shape == (200, 1) and out.device.type == "cpu" and out.dtype == torch.float32
    assert trainer.module.training  # predict restores the mode it found


def test_bad_arguments_are_all_named():
    with pytest.raises(ConfigError) as info:
        Trainer(mlp(), lr=0, batch_size=0, epochs=0, loss="mes", optimizer="adamm")
    text = str(info.value)
    for key in ("train.lr", "train.batch_size", "train.epochs", "train.loss", "train.optimizer"):
        assert key in text
    assert "did you mean 'mse'" in text and "did you mean 'adam'" in text


def test_mismatched_rows_are_a_data_error():
    x, y = regression()
    with pytest.raises(DataError, match="200 rows but y_train has 199"):
        Trainer(mlp(), device="cpu").fit(x, y[:-1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_is_deterministic_and_predicts_on_cpu():
    x, y = regression()

    def fit():
        trainer = Trainer(mlp(), lr=0.01, epochs=2, device="auto", patience=1)
        trainer.fit(x, y, x, y)
        return trainer

    a, b = fit(), fit()
    assert a.device.type == "cuda" and a.optimizer.defaults["fused"]
    assert_same_weights(a.module, b.module)
    assert a.predict(x).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_host_syncs_do_not_grow_with_the_number_of_batches():
    import warnings

    x, y = regression(n=512)

    def syncs(batch_size):
        trainer = Trainer(mlp(), epochs=2, batch_size=batch_size, device="cuda")
        trainer.fit(x, y, x, y)  # warm-up: kernels load, allocator fills
        # sync debug mode warns that it is a prototype, and warns at each sync: both recorded, not raised
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                trainer.fit(x, y, x, y)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("prototype" not in str(w.message) for w in caught)

    assert syncs(256) == syncs(16)  # 2 batches an epoch against 32: syncs are per epoch, not per batch


def test_augment_changes_training_batches_only_and_is_reproducible(tmp_path):
    # The hook sees every training batch (with a per-batch generator) and never the
    # validation split or predictions; two runs with one seed draw the same noise.
    x, y = regression()
    seen = []

    def jitter(xb, g):
        seen.append(xb.shape[0])
        return xb + 0.1 * torch.randn(xb.shape, generator=g, device=xb.device)

    runs = []
    for _ in range(2):
        seen.clear()
        t = Trainer(mlp(), batch_size=50, epochs=2, seed=3, device="cpu", threads=THREADS, augment=jitter)
        t.fit(x[:150], y[:150], x[150:], y[150:])
        t.predict(x[150:])
        runs.append(t)
        assert seen == [50, 50, 50] * 2  # training batches only
    assert_same_weights(runs[0].module, runs[1].module)
    plain = Trainer(mlp(), batch_size=50, epochs=2, seed=3, device="cpu", threads=THREADS)
    plain.fit(x[:150], y[:150], x[150:], y[150:])
    assert plain.history[-1]["train_loss"] != runs[0].history[-1]["train_loss"]
