import pytest
import torch

from layerwise.training.threads import choose_threads, thread_count

CPU = torch.device("cpu")


def n(*args, **kwargs) -> int | None:
    return choose_threads(*args, **kwargs).n


def test_rule_one_thread_for_small_models_default_for_large():
    assert n("auto", CPU, n_params=15_000, batch_size=32, default=4) == 1
    assert n("auto", CPU, n_params=206_081, batch_size=32, default=4) == 4
    assert n("auto", CPU, n_params=60_000, batch_size=1024, default=4) == 4  # big batch divides well
    assert n("auto", CPU, n_params=206_081, batch_size=32) == torch.get_num_threads()  # torch's own count
    assert n("auto", torch.device("cuda"), n_params=100, batch_size=1) is None
    assert n(3, CPU, n_params=100, batch_size=1) == 3


def test_thread_count_restores_the_previous_setting():
    before = torch.get_num_threads()
    with thread_count(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with thread_count(None):  # left as it is, then changed inside the block: put back too
        torch.set_num_threads(1)
    assert torch.get_num_threads() == before


def test_convolutions_and_recurrent_layers_keep_every_thread():
    from torch import nn

    from layerwise.models import build
    from layerwise.training.threads import is_dense

    assert is_dense(build({"type": "mlp", "hidden": [16]}, (4,), 1))
    assert not is_dense(build({"type": "lstm", "hidden": [8]}, (5, 3), 1))
    assert not is_dense(build({"type": "cnn2d", "channels": [4]}, (1, 8, 8), 3))
    assert not is_dense(nn.Sequential(nn.Embedding(10, 4)))
    assert n("auto", CPU, n_params=15_000, batch_size=32, dense=False, default=2) == 2


def test_busy_cpus_of_data_loading_workers_are_left_to_them_under_auto_only():
    big = {"n_params": 206_081, "batch_size": 32, "default": 4}
    assert n("auto", CPU, **big, busy=1) == 3
    assert n("auto", CPU, **big, busy=8) == 1  # one thread kept
    assert n("auto", CPU, n_params=15_000, batch_size=32, default=4, busy=1) == 1  # never above auto's choice
    assert n(3, CPU, n_params=100, batch_size=1, busy=2) == 3  # an explicit count is the user's
    assert n("auto", torch.device("cuda"), n_params=100, batch_size=1, busy=2) is None


def test_cpus_other_processes_keep_busy_are_left_to_them():
    big = {"n_params": 206_081, "batch_size": 32, "default": 2, "capacity": 2.0}
    assert n("auto", CPU, **big, others=0.0) == 2  # quiet
    assert n("auto", CPU, **big, others=0.2) == 2  # background noise: 80% of the second CPU is idle
    assert n("auto", CPU, **big, others=1.0) == 1  # one busy process beside the fit
    assert n("auto", CPU, **big, others=2.0) == 1  # two: one thread is still kept
    assert n("auto", CPU, **big, others=None) == 2  # not measured (not Linux): torch's count
    wide = {"n_params": 206_081, "batch_size": 32, "default": 16, "capacity": 16.0}
    assert n("auto", CPU, **wide, others=3.5) == 12
    assert n("auto", CPU, **wide, others=3.5, busy=2) == 10  # and the fit's own data-loading workers
    choice = choose_threads("auto", CPU, **big, others=1.0)
    assert "1 of 2 CPUs free" in choice.reason and "other processes keep 1.0 CPUs busy" in choice.reason


def test_a_quota_or_an_affinity_mask_caps_the_count_torch_would_take():
    big = {"n_params": 206_081, "batch_size": 32, "default": 64}
    assert n("auto", CPU, **big, capacity=1.5) == 1  # a container allowed 1.5 CPUs of a 64-core host
    assert n("auto", CPU, **big, capacity=4.0) == 4
    assert n("auto", CPU, **big, capacity=4.0, others=1.0) == 3
    assert n("auto", CPU, **big, capacity=128.0) == 64  # never above torch's own count
    # torch set below the CPUs (OMP_NUM_THREADS, a worker of a process pool): what others take
    # comes off all the CPUs, not off torch's count
    assert n("auto", CPU, n_params=206_081, batch_size=32, default=4, capacity=8.0, others=4.0) == 4
    assert n("auto", CPU, n_params=206_081, batch_size=32, default=4, capacity=8.0, others=5.0) == 3
    assert "may use 1.5" in choose_threads("auto", CPU, **big, capacity=1.5).reason


def test_an_explicit_thread_count_is_never_overridden():
    for load in ({"others": 2.0}, {"capacity": 1.0}, {"busy": 4}, {"others": 0.0, "capacity": 64.0}):
        choice = choose_threads(3, CPU, n_params=206_081, batch_size=32, default=2, **load)
        assert choice.n == 3 and choice.reason == "train.threads"


class FakeLoad:
    """CpuLoad's seam for the Trainer: two CPUs, and the loads it is told to report, in turn."""

    def __init__(self, loads):
        self.capacity, self.loads, self.looks = 2.0, list(loads), 0
        self.last = type("Sample", (), {"at": float("-inf")})()  # an old sample: the fit start looks

    def running(self):
        return self.loads[0]

    def others(self):
        self.looks += 1
        return self.loads[min(self.looks, len(self.loads)) - 1]


def _fit_lstm(monkeypatch, threads, loads, epochs=4):
    from layerwise.models import build
    from layerwise.training import Callback, Trainer
    from layerwise.training.callbacks import EpochLog

    fake = FakeLoad(loads)
    monkeypatch.setattr("layerwise.training.trainer.CpuLoad", lambda: fake)
    monkeypatch.setattr("layerwise.training.trainer.RECHECK_SECONDS", 0.0)  # a look before every step
    monkeypatch.setattr("layerwise.training.trainer.LOAD_WINDOW", 0.0)  # and the confirming look too
    seen, lines = [], []

    class Seen(Callback):
        def on_batch_end(self, trainer, epoch, batch, batches):
            seen.append(torch.get_num_threads())

    x, y = torch.randn(64, 5, 1), torch.randn(64, 1)  # 4 batches an epoch
    model = build({"type": "lstm", "hidden": [8]}, (5, 1), 1, seed=0)  # not dense: every thread divides work
    with thread_count(2):
        trainer = Trainer(
            model,
            epochs=epochs,
            batch_size=16,
            threads=threads,
            device="cpu",
            callbacks=[Seen(), EpochLog(lines.append)],
        )
        trainer.fit(x, y)
        after = torch.get_num_threads()
    return fake, seen, lines, after


def test_the_trainer_follows_the_load_as_it_trains(monkeypatch):
    # busy at the start and through epochs 1 and 2 (1 + 8 looks), then quiet: the look before
    # epoch 3's first step finds it, the next confirms it
    fake, seen, lines, after = _fit_lstm(monkeypatch, "auto", [1.0] * 9 + [0.0])
    assert seen == [1] * 9 + [2] * 7
    notes = [line for line in lines if line.startswith("threads")]
    assert notes == [
        "threads: 1 (1 of 2 CPUs free: other processes keep 1.0 CPUs busy)",
        "threads: 2 from epoch 3 (torch's default, one per core)",
    ]
    assert lines.index(notes[1]) == 3  # after epochs 1 and 2, before epoch 3's line
    assert after == 2  # the count before the fit is put back


def test_the_count_before_the_fit_is_put_back_when_the_fit_lowered_it(monkeypatch):
    fake, seen, _, after = _fit_lstm(monkeypatch, "auto", [0.0, 0.0, 1.0], epochs=2)  # quiet, then busy
    assert seen == [2, 2, 1, 1, 1, 1, 1, 1] and after == 2


def test_one_look_alone_does_not_change_the_count(monkeypatch):
    fake, seen, lines, _ = _fit_lstm(monkeypatch, "auto", [0.0, 0.0, 1.0, 0.0], epochs=2)  # one busy window
    assert seen == [2] * 8 and [line for line in lines if line.startswith("threads")] == [
        "threads: 2 (torch's default, one per core)"
    ]


def test_an_explicit_count_is_kept_whatever_the_load(monkeypatch):
    fake, seen, lines, _ = _fit_lstm(monkeypatch, 2, [2.0])
    assert seen == [2] * 16 and fake.looks == 0  # never measured
    assert lines[0] == "threads: 2 (train.threads)"


def test_a_small_dense_model_is_not_measured(monkeypatch):
    from layerwise.training import Trainer

    fake = FakeLoad([2.0])
    monkeypatch.setattr("layerwise.training.trainer.CpuLoad", lambda: fake)
    trainer = Trainer(torch.nn.Linear(4, 1), epochs=1, batch_size=8, device="cpu")
    trainer.fit(torch.randn(32, 4), torch.randn(32, 1))
    assert fake.looks == 0 and trainer.thread_notes[0].startswith("threads: 1 (a small dense model")


def test_a_trial_alternates_the_two_counts_and_keeps_the_faster(monkeypatch):
    from layerwise.training.threads import ThreadTrial

    monkeypatch.setattr("layerwise.training.threads.TRIAL_WARMUP_STEPS", 3)
    monkeypatch.setattr("layerwise.training.threads.TRIAL_WARMUP_SECONDS", 0.5)

    def run(trial, rows_on_1: int) -> list[int]:
        counts = []
        while trial.winner is None:
            counts.append(trial.count)
            trial.add(0.125, 32 if trial.count == 2 else rows_on_1)  # steps of 1/8 s: 256 rows/s on 2 threads
        return counts

    close = ThreadTrial(2, 1, seconds=1.0, turns=4)
    counts = run(close, 39)  # 312 rows/s on 1: 22% faster in each round: both rounds, A B B A, then kept
    assert counts == [2] * 4 + [2] * 8 + [1] * 16 + [2] * 8  # 4 steps of warm-up (3 and half a second)
    assert close.winner == 1 and close.count == 1
    assert close.rates == {2: pytest.approx(256.0), 1: pytest.approx(312.0)}
    assert close.reason() == "measured on this fit's steps: 256 samples/s on 2, 312 samples/s on 1"
    clear = ThreadTrial(2, 1, seconds=1.0, turns=4)
    assert len(run(clear, 48)) == 4 + 32 and clear.winner == 1  # 50% faster on 1: a switch takes both rounds
    slower = ThreadTrial(2, 1, seconds=1.0, turns=4)
    assert len(run(slower, 16)) == 4 + 8 + 3 and slower.winner == 2  # half as fast on 1: a third of a turn
    behind = ThreadTrial(2, 1, seconds=1.0, turns=4)
    assert len(run(behind, 29)) == 4 + 16 and behind.winner == 2  # 9% slower on 1: no second round
    disturbed = ThreadTrial(2, 1, seconds=1.0, turns=4)  # the first turn on 2 threads slowed by another process
    counts = []
    while disturbed.winner is None:
        counts.append(disturbed.count)
        slow = disturbed.count == 2 and len(counts) <= 12
        disturbed.add(0.125, 8 if slow else 32 if disturbed.count == 2 else 30)  # 240 rows/s on 1
    assert counts == [2] * 4 + [2] * 8 + [1] * 16 + [2] * 8 and disturbed.winner == 2  # round 2: 2 ahead
    assert disturbed.rates[1] > disturbed.rates[2] * 1.2  # though over the four turns 1 read far faster
    assert disturbed.reason().endswith("; 1 kept only where faster in each round and by 20% in all")
    near = ThreadTrial(2, 1, seconds=1.0, turns=4)
    run(near, 36)  # 12.5% faster on 1: within the margin (a short trial's noise), the rule's count stays
    assert near.winner == 2 and near.rates[1] > near.rates[2]


def test_a_dense_model_tries_fewer_threads_on_its_own_steps_and_keeps_the_faster(monkeypatch):
    import time as time_module

    from layerwise.models import build
    from layerwise.training import Callback, Trainer

    fake = FakeLoad([0.0])  # quiet: the rule alone would keep both CPUs' threads
    monkeypatch.setattr("layerwise.training.trainer.CpuLoad", lambda: fake)
    monkeypatch.setattr("layerwise.training.trainer.RECHECK_SECONDS", 0.0)
    monkeypatch.setattr("layerwise.training.threads.TRIAL_SECONDS", 0.05)  # turns of a few steps
    clock = [0.0]

    def fake_counter():  # a step on 2 threads takes twice as long as on 1, as W2 did on a busy host
        clock[0] += 0.01 * torch.get_num_threads()
        return clock[0]

    monkeypatch.setattr(time_module, "perf_counter", fake_counter)
    seen = []

    class Seen(Callback):
        def on_batch_end(self, trainer, epoch, batch, batches):
            seen.append(torch.get_num_threads())

    model = build({"type": "mlp", "hidden": [256, 256, 256]}, (32,), 1, seed=0)  # 140k parameters, dense
    with thread_count(2):
        trainer = Trainer(model, epochs=2, batch_size=16, device="cpu", callbacks=[Seen()])
        trainer.fit(torch.randn(640, 32), torch.randn(640, 1))
        assert torch.get_num_threads() == 2  # put back after the fit
    assert trainer.thread_notes[0] == "threads: 2 (torch's default, one per core)"
    assert trainer.thread_notes[1].startswith("threads: 1 from epoch 1 (measured on this fit's steps: ")
    assert 1 in seen[:20] and 2 in seen[5:20] and set(seen[-30:]) == {1}  # tried in turns, then kept
