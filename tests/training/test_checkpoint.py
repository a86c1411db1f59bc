"""Checkpoints and exact resume: in-process, after SIGKILL and after SIGTERM of a real
subprocess, and from a corrupt newest checkpoint. The oracle is an uninterrupted run."""

import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from training_toys import experiment

from layerwise.atomic import write_bytes
from layerwise.models import build
from layerwise.training import Callback, Checkpoints, CheckpointWarning, Trainer
from layerwise.training import checkpoint as checkpoint_module
from layerwise.training.checkpoint import pack, unpack

SCRIPT = """
import sys, torch
from safetensors.torch import save_file
from layerwise.models import build
from layerwise.training import Trainer

folder, out, epochs, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume"
g = torch.Generator().manual_seed(0)
x = torch.randn(1500, 8, generator=g)  # (n, features)
y = x[:, :2].sum(dim=1, keepdim=True)  # (n, 1)
model = build({"type": "mlp", "hidden": [32, 32], "dropout": 0.1}, (8,), 1, seed=0)
if len(sys.argv) > 5:  # test mode: pause mid-epoch 2 so the test can interrupt at a known point
    import pathlib, time
    pause, calls = pathlib.Path(sys.argv[5]), [0]

    def hold(module, args):  # a forward pre-hook: it changes no weight and draws no random number
        calls[0] += module.training
        if calls[0] == PAUSE_AT:
            (pause / "paused").touch()
            while not (pause / "go").exists():  # the test interrupts us here
                time.sleep(0.01)

    model.register_forward_pre_hook(hold)
trainer = Trainer(model, lr=3e-3, batch_size=8, epochs=epochs, seed=5, device="cpu", threads=1,
                  patience=3, checkpoint_dir=None if folder == "-" else folder, keep=2)
trainer.fit(x[:1300], y[:1300], x[1300:], y[1300:], resume=resume)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
print("done", len(trainer.history), flush=True)
"""


# 1300 training rows in batches of 8: 163 steps an epoch, so the 203rd training forward pass
# is step 40 of epoch 2, after epoch 1's checkpoint and well before the run could end.
PAUSE_AT = 163 + 40


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "fit.py"
    path.write_text(f"PAUSE_AT = {PAUSE_AT}\n" + SCRIPT, encoding="utf-8")
    return path


def _run(script, folder, out, epochs, resume=False, pause: Path | None = None, **kwargs):
    args = [sys.executable, str(script), str(folder), str(out), str(epochs), "resume" if resume else "fresh"]
    args += [str(pause)] if pause else []
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_until(ready, proc, limit=300.0) -> None:
    """Wait for `ready()` while the process runs: an event the code produces, not a guess at
    how long it takes (the limit only stops a hung test on a very slow machine)."""
    start = time.monotonic()
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - start < limit, "the event never came"
        time.sleep(0.01)


def _paused_mid_epoch_2(tmp_path: Path, folder: Path, proc) -> None:
    """The run is held at step 40 of epoch 2, and epoch 1's checkpoint is on disk."""
    _wait_until(lambda: (tmp_path / "paused").exists(), proc)
    _wait_until(lambda: len(Checkpoints(folder).names()) >= 1, proc)  # written in the background


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oracle")
    proc = _run(_script(tmp), "-", tmp / "oracle.safetensors", 3)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return load_file(tmp / "oracle.safetensors")


def test_sigkill_then_resume_is_bit_identical(tmp_path, uninterrupted):
    script, folder = _script(tmp_path), tmp_path / "checkpoints"
    proc = _run(script, folder, tmp_path / "w.safetensors", 3, pause=tmp_path)
    _paused_mid_epoch_2(tmp_path, folder, proc)
    proc.send_signal(signal.SIGKILL)  # mid-epoch: the newest checkpoint is epoch 1's
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert Checkpoints(folder).names()[-1] == (1, 0)
    resumed = _run(script, folder, tmp_path / "w.safetensors", 3, resume=True)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    _same(load_file(tmp_path / "w.safetensors"), uninterrupted)


def test_sigterm_saves_mid_epoch_exits_and_resumes_exactly(tmp_path, uninterrupted):
    script, folder = _script(tmp_path), tmp_path / "checkpoints"
    proc = _run(script, folder, tmp_path / "w.safetensors", 3, pause=tmp_path)
    _paused_mid_epoch_2(tmp_path, folder, proc)
    proc.send_signal(signal.SIGTERM)
    (tmp_path / "go").touch()  # after the signal: the handler has run before the hook sees this
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "done" not in out
    assert "stopped by SIGTERM at epoch 2" in err and "Traceback" in err  # raised as Interrupted
    assert Checkpoints(folder).names()[-1] == (1, 40), "a checkpoint at the step the signal came"
    resumed = _run(script, folder, tmp_path / "w.safetensors", 3, resume=True)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    _same(load_file(tmp_path / "w.safetensors"), uninterrupted)


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(240, 6, generator=g)
    return x, x[:, :1] * 2 - x[:, 1:2]


def trainer(folder, epochs, **kw):
    model = build({"type": "mlp", "hidden": [16], "dropout": 0.2}, (6,), 1, seed=0)
    return Trainer(
        model,
        batch_size=16,
        epochs=epochs,
        seed=3,
        device="cpu",
        threads=1,
        patience=2,
        checkpoint_dir=folder,
        keep=2,
        schedule={"type": "cosine", "warmup": 1},
        **kw,
    )


class Crash(Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == 4:
            raise RuntimeError("crash")


def test_resume_in_process_matches_and_corrupt_newest_falls_back(tmp_path):
    x, y = data()
    whole = trainer(tmp_path / "whole", 5)
    whole.fit(x[:200], y[:200], x[200:], y[200:])
    part = trainer(tmp_path / "part", 5, callbacks=[Crash()])
    with pytest.raises(RuntimeError, match="crash"):  # before epoch 4's checkpoint
        part.fit(x[:200], y[:200], x[200:], y[200:])
    store = Checkpoints(tmp_path / "part")
    assert len(store.names()) >= 2
    newest = store.folder / "ckpt-{:06d}-{:06d}.safetensors".format(*store.names()[-1])
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # truncated
    again = trainer(tmp_path / "part", 5)
    with pytest.warns(CheckpointWarning, match="unreadable"):
        again.fit(x[:200], y[:200], x[200:], y[200:], resume=True)
    _same(again.module.state_dict(), whole.module.state_dict())
    assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in whole.history]


def test_resume_without_checkpoints_warns_and_starts_over(tmp_path):
    x, y = data()
    t = trainer(tmp_path / "none", 1)
    with pytest.warns(CheckpointWarning, match="training from the first epoch"):
        t.fit(x, y, resume=True)
    assert len(t.history) == 1


def test_keeps_the_newest_and_the_best_and_cleans_leftovers(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / ".ckpt-000001-000000.json.abc.tmp").write_text("partial")
    (folder / "ckpt-000009-000000.safetensors").write_bytes(b"orphan")
    store = Checkpoints(folder, keep=2)
    store.clean()
    assert sorted(p.name for p in folder.iterdir()) == []
    for epoch in range(1, 6):
        store.save(epoch, 0, {"epoch": epoch}, {"w": torch.full((2,), float(epoch))}, best=(2, 0))
    assert store.names() == [(2, 0), (4, 0), (5, 0)]
    record, tensors = store.load_newest()
    assert record["info"] == {"epoch": 5} and torch.equal(tensors["w"], torch.full((2,), 5.0))


def test_pack_round_trips_optimizer_like_state():
    state = {
        "state": {0: {"step": torch.tensor(3.0), "m": torch.ones(2)}},
        "groups": [{"betas": (0.9, 0.99)}],
        "best": float("inf"),
        "none": None,
    }
    tensors = {}
    packed = pack(state, tensors, "s")
    back = unpack(packed, tensors)
    assert back["state"][0]["m"] is tensors["s.state.0.m"] and back["groups"][0]["betas"] == (0.9, 0.99)
    assert back["best"] == float("inf") and back["none"] is None


def test_run_folder_keeps_checkpoints_and_cli_resume_continues(tmp_path, cli):
    import json

    experiment(
        tmp_path,
        rows=300,
        target=lambda a, b, c: a - 2 * b,
        model="{hidden: [8]}",
        train="{epochs: 2, patience: null, batch_size: 32}",
        evaluate="{report: false, bootstrap: 0}",
    )
    out = tmp_path / "run"
    code, _, err = cli("run", tmp_path / "e.yaml", "--out", out, "--quiet")
    assert code == 0, err
    assert [n for n, _ in Checkpoints(out / "checkpoints").names()] == [1, 2]  # survived the publish
    for path in out.iterdir():  # as if killed before publishing: only the checkpoints are left
        if path.name != "checkpoints":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    code, _, err = cli(
        "run",
        tmp_path / "e.yaml",
        "--out",
        out,
        "--quiet",
        "--resume",
        "--set",
        "train.epochs=4",
        "--allow-changed",
        "train.epochs",
    )  # more epochs than the checkpoints were made for
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["resumed"]["changed"] == {"train.epochs": [2, 4]}
    resumed = (out / "history.csv").read_text().splitlines()
    code, _, err = cli("run", tmp_path / "e.yaml", "--out", tmp_path / "fresh", "--quiet", "--set", "train.epochs=4")
    fresh = (tmp_path / "fresh" / "history.csv").read_text().splitlines()
    assert len(resumed) == 5
    assert [r.split(",")[:3] for r in resumed] == [r.split(",")[:3] for r in fresh]  # epoch, train, val loss


# -- background writes -----------------------------------------------------------------------
PAUSE_WRITER = """
import os, threading, time
from pathlib import Path
real_fsync, synced = os.fsync, []

def fsync(fd):  # the writer thread stops for good on epoch 2's tensors file: written, not renamed
    if threading.current_thread() is not threading.main_thread():
        synced.append(fd)
        if len(synced) == 3:
            (Path(sys.argv[1]).parent / "paused").touch()
            threading.Event().wait()  # until the test kills the process
    real_fsync(fd)

os.fsync = fsync
"""


def test_sigkill_during_a_background_write_keeps_the_previous_checkpoint(tmp_path, uninterrupted):
    script, folder = tmp_path / "paused.py", tmp_path / "checkpoints"
    script.write_text("import sys\n" + PAUSE_WRITER + SCRIPT, encoding="utf-8")
    proc = _run(script, folder, tmp_path / "w.safetensors", 3)
    _wait_until(lambda: (tmp_path / "paused").exists(), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert any(p.name.startswith(".ckpt-000002-000000.safetensors") for p in folder.iterdir())  # killed mid-write
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the previous checkpoint reads back whole: no fallback needed
        record, tensors = Checkpoints(folder).load_newest()
    assert (record["epochs"], record["steps"]) == (1, 0) and tensors
    resumed = _run(_script(tmp_path), folder, tmp_path / "w.safetensors", 3, resume=True)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    _same(load_file(tmp_path / "w.safetensors"), uninterrupted)


def test_background_checkpoint_is_complete_and_loadable_when_fit_returns(tmp_path, monkeypatch):
    threads, held, loop_ended = [], [], threading.Event()

    class LoopEnded(Callback):
        def on_fit_end(self, trainer):
            loop_ended.set()

    def held_write(path, data):  # the last epoch's files land only after the training loop has ended:
        threads.append(threading.current_thread())  # complete when fit returns only if fit waited
        if "ckpt-000003" in Path(path).name:
            assert loop_ended.wait(timeout=300), "the training loop never ended"
            held.append(Path(path).name)
        write_bytes(path, data)

    monkeypatch.setattr(checkpoint_module, "write_bytes", held_write)
    x, y = data()
    t = trainer(tmp_path / "c", 3, callbacks=[LoopEnded()])
    t.fit(x[:200], y[:200], x[200:], y[200:])
    assert threads and threading.main_thread() not in threads  # written off the training thread
    assert held  # the last epoch's write was held past the loop's end
    assert not [p.name for p in (tmp_path / "c").iterdir() if p.name.endswith(".tmp")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record, tensors = Checkpoints(tmp_path / "c").load_newest()  # a fresh reader: nothing to wait for
    assert (record["epochs"], record["steps"]) == (3, 0)
    state = unpack(record["info"], tensors)
    _same(state["model"], t.module.state_dict())  # the state at the end of fit, not an older one


def test_a_failed_background_write_is_raised_by_fit(tmp_path, monkeypatch):
    def full_disk(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint_module, "write_bytes", full_disk)
    x, y = data()
    with pytest.raises(OSError, match="No space left on device"):
        trainer(tmp_path / "c", 2).fit(x, y)
