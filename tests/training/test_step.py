"""The Trainer's public step: a loop written with it reproduces fit exactly, subclasses that
override it are what fit and lr_find run, and lr_find steps as training does (clipping,
the fp16 loss scaler, accumulation, a schedule left alone)."""

import copy
import math

import pytest
import torch
from torch import nn
from training_toys import data, mlp

from layerwise.errors import UsageError
from layerwise.training import Trainer
from layerwise.training.lr_find import lr_find

THREADS = torch.get_num_threads()  # the hand-written loops run at the Trainer's thread count


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_a_loop_of_the_public_step_reproduces_fit():
    # 200 rows in batches of 32: 7 batches an epoch, so with accumulate=2 the last group is
    # one short batch; clipping, L1 and an epoch-wise schedule all take part
    x, y = data(200)
    settings = {
        "lr": 0.01,
        "batch_size": 32,
        "epochs": 2,
        "accumulate": 2,
        "clip_grad": 0.5,
        "l1": 1e-3,
        "seed": 5,
        "device": "cpu",
        "threads": THREADS,
        "schedule": {"type": "step", "step_size": 1, "gamma": 0.5},
    }
    fitted = Trainer(mlp(), **settings)
    fitted.fit(x.numpy(), y.numpy())

    trainer = Trainer(mlp(), **settings)
    xt, yt = trainer.to_device(x.numpy(), y.numpy())
    trainer.start_fit(xt.shape[0])
    n_batches = math.ceil(xt.shape[0] / 32)
    updates = []
    for epoch in (1, 2):
        trainer.start_epoch()
        order = torch.randperm(xt.shape[0], generator=trainer.generator)  # the order fit promises
        losses = []
        for step in range(n_batches):
            batch = order[step * 32 : (step + 1) * 32]
            loss, update = trainer.train_step(xt[batch], yt[batch], epoch=epoch, step=step, n_batches=n_batches)
            losses.append(loss)
            if update:
                assert trainer.apply_update(loss, epoch=epoch, step=step, n_batches=n_batches)
                updates.append((epoch, step))
        trainer.end_epoch({"train_loss": float(torch.stack(losses).mean()), "val_loss": None})

    assert updates == [(e, s) for e in (1, 2) for s in (1, 3, 5, 6)]
    assert_same_weights(trainer.module, fitted.module)
    assert trainer.optimizer.param_groups[0]["lr"] == fitted.optimizer.param_groups[0]["lr"] == pytest.approx(0.0025)


def test_the_step_before_start_epoch_is_a_usage_error():
    trainer = Trainer(mlp(), device="cpu")
    x, y = trainer.to_device(*data(8))
    with pytest.raises(UsageError, match="start_epoch"):
        trainer.train_step(x, y, epoch=1, step=0, n_batches=1)


class Counting(Trainer):
    """Overrides the step as the Trainer's docstring allows, counting what runs it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = self.updates = 0

    def train_step(self, xb, yb, **position):
        self.steps += 1
        return super().train_step(xb, yb, **position)

    def apply_update(self, loss, **position):
        self.updates += 1
        return super().apply_update(loss, **position)


def test_fit_and_lr_find_run_an_overridden_step():
    x, y = data(200)
    trainer = Counting(mlp(), lr=0.01, batch_size=32, epochs=2, accumulate=2, seed=0, device="cpu")
    trainer.fit(x, y)
    assert (trainer.steps, trainer.updates) == (2 * 7, 2 * 4)
    trainer.steps = trainer.updates = 0
    found = lr_find(trainer, x, y, start=1e-5, end=1e-3, steps=20)  # too low a rate to diverge
    assert not found.stopped_early and len(found.lrs) == 20
    assert (trainer.steps, trainer.updates) == (20 * 2, 20)  # accumulate=2: two batches an update


def plain_sweep(model, x, y, lrs, *, clip_grad, seed, batch_size, smooth=0.98):
    """lr_find with SGD and clipping, as a plain loop: the smoothed loss after each rate."""
    opt = torch.optim.SGD(model.parameters(), lr=lrs[0], momentum=0.9, fused=True)
    g = torch.Generator().manual_seed(seed)
    order, at, avg, smoothed = torch.randperm(x.shape[0], generator=g), 0, 0.0, []
    for i, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        if at + batch_size > x.shape[0]:
            order, at = torch.randperm(x.shape[0], generator=g), 0
        b = order[at : at + batch_size]
        at += batch_size
        loss = nn.functional.mse_loss(model(x[b]), y[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(list(model.parameters()), clip_grad, foreach=True)
        opt.step()
        avg = smooth * avg + (1 - smooth) * float(loss.detach())
        smoothed.append(avg / (1 - smooth ** (i + 1)))
    return smoothed


def test_lr_find_clips_gradients_as_training_does():
    x, y = data()

    def sweep(clip_grad):
        trainer = Trainer(mlp(), optimizer="sgd", lr=0.01, batch_size=32, clip_grad=clip_grad, seed=0, device="cpu")
        norms = []  # the gradient norm each optimizer step sees, after any clipping

        def record(optimizer, args, kwargs):
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            norms.append(float(torch.nn.utils.get_total_norm(grads)))

        trainer.optimizer.register_step_pre_hook(record)
        return lr_find(trainer, x, y, start=1e-4, end=10.0, steps=60), norms

    clipped, clipped_norms = sweep(0.1)
    free, free_norms = sweep(None)
    assert max(free_norms) > 1.0  # the gradients are well above the limit unclipped
    assert max(clipped_norms) <= 0.1 * (1 + 1e-5)
    assert clipped.losses != free.losses[: len(clipped.losses)]
    # the sweep is a plain clipped SGD loop over the same batches, bit for bit
    assert clipped.losses == plain_sweep(mlp(), x, y, clipped.lrs, clip_grad=0.1, seed=0, batch_size=32)


class CountingScaler(torch.amp.GradScaler):
    """A loss scaler that counts the losses it scales and the steps it takes."""

    def __init__(self):
        super().__init__("cpu")
        self.scaled = self.stepped = 0

    def scale(self, outputs):
        self.scaled += 1
        return super().scale(outputs)

    def step(self, optimizer, *args, **kwargs):
        self.stepped += 1
        return super().step(optimizer, *args, **kwargs)


def test_lr_find_in_fp16_on_the_cpu_goes_through_the_loss_scaler():
    # training runs 16-mixed on the CPU (autocast + GradScaler), so lr_find does too
    x, y = data()
    trainer = Trainer(mlp(), optimizer="sgd", lr=0.01, batch_size=32, seed=0, device="cpu", precision="16-mixed")
    assert isinstance(trainer.scaler, torch.amp.GradScaler)
    trainer.scaler = scaler = CountingScaler()
    before = copy.deepcopy(trainer.module.state_dict())
    found = lr_find(trainer, x, y, start=1e-4, end=10.0, steps=60)
    updates = len(found.lrs) + found.stopped_early  # the diverging update ran before the stop test
    assert found.lrs and scaler.scaled == scaler.stepped == updates
    assert scaler.get_scale() == 2.0**16  # the scaler's state is put back, as the weights are
    assert all(torch.equal(before[k], v) for k, v in trainer.module.state_dict().items())
    full = lr_find(
        Trainer(mlp(), optimizer="sgd", lr=0.01, batch_size=32, seed=0, device="cpu"),
        x,
        y,
        start=1e-4,
        end=10.0,
        steps=60,
    )
    assert found.losses[:5] != full.losses[:5]  # the forward pass really ran in float16


def test_lr_find_leaves_a_per_update_schedule_where_it_was():
    # after a fit with onecycle (stepped every update), the sweep sets the rate itself and
    # does not step the schedule: a continuation goes on exactly where the fit stopped
    x, y = data()
    trainer = Trainer(mlp(), lr=0.01, batch_size=32, epochs=1, seed=0, device="cpu", schedule="onecycle")
    trainer.fit(x, y)
    schedule = copy.deepcopy(trainer.scheduler.state_dict())
    lr_find(trainer, x, y, steps=20)
    assert trainer.scheduler.state_dict() == schedule
