"""Many workers, one study, on a real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import yaml

from layerwise.tuning.storage import close_storage, open_storage


def _config(tmp_path, iris, **train):
    data = tmp_path / "iris.csv"
    iris.to_csv(data, index=False)
    cfg = {
        "data": {"path": str(data), "target": "target"},
        "model": {"hidden": [8]},
        "train": {"epochs": 3, "patience": None, "batch_size": 16, **train},
        "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
        "tune": {
            "method": "random",
            "pruner": "none",
            "heartbeat": 1,
            "retries": 2,
            "space": {"train.lr": {"log_uniform": [1e-3, 1e-1]}},
        },
    }
    path = tmp_path / "iris.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _trials(url, name="shared"):
    storage = open_storage(url, heartbeat=1)
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    finally:
        close_storage(storage)


def test_two_workers_share_one_study(tmp_path, iris, postgres_url, cli):
    config = _config(tmp_path, iris)
    code, _, err = cli(
        "tune",
        config,
        "--storage",
        postgres_url,
        "--study",
        "shared",
        "--workers",
        "2",
        "--trials",
        "4",
        "--out",
        tmp_path / "out",
        "--quiet",
    )
    assert code == 0, err
    complete = [t for t in _trials(postgres_url) if t.state.name == "COMPLETE"]
    numbers = [t.number for t in complete]
    assert len(complete) >= 4 and len(set(numbers)) == len(numbers)  # at most one extra: 2 workers
    assert len({t.params["train.lr"] for t in complete}) == len(complete)  # workers seeded apart


# Worker A, held in its first trial's first training step (a global forward pre-hook, which
# changes nothing it runs) until the test kills it: the kill always lands mid-trial.
HELD_WORKER = """
import pathlib, sys, threading, torch
held = pathlib.Path(sys.argv.pop(1))

def hold(module, args):
    if module.training and torch.is_grad_enabled():
        held.touch()
        threading.Event().wait()

torch.nn.modules.module.register_module_forward_pre_hook(hold)
from layerwise.cli import main
sys.exit(main())
"""


def test_a_killed_worker_leaves_a_fail_trial_and_the_study_still_finishes(tmp_path, iris, postgres_url):
    config = _config(tmp_path, iris)
    args = ["tune", str(config), "--storage", postgres_url, "--study", "shared", "--trials", "2", "--quiet"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    held = tmp_path / "held"
    victim = subprocess.Popen(
        [sys.executable, "-c", HELD_WORKER, str(held), *args, "--out", str(tmp_path / "a")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300  # only stops a hung test; the event is the file
        while not held.exists():
            assert victim.poll() is None, victim.communicate()[1]
            assert time.monotonic() < deadline, "worker A never started training"
            time.sleep(0.01)
        assert [t.state.name for t in _trials(postgres_url)] == ["RUNNING"]
        victim.send_signal(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        victim.kill()
        victim.communicate(timeout=30)
    # The trial is stale once its last heartbeat (before the kill) is older than the grace
    # period (2 x heartbeat = 2 s): a rule in wall time, so waiting it out is no race.
    while time.monotonic() < killed + 2.5:
        time.sleep(0.05)
    finish = subprocess.run(
        [sys.executable, "-m", "layerwise.cli", *args, "--out", str(tmp_path / "b")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finish.returncode == 0, finish.stderr
    states = [t.state.name for t in _trials(postgres_url)]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") >= 2 and "RUNNING" not in states
