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
    cfg = {"data": {"path": str(data), "target": "target"}, "model": {"hidden": [8]},
           "train": {"epochs": 3, "patience": None, "batch_size": 16, **train},
           "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
           "tune": {"method": "random", "pruner": "none", "heartbeat": 1, "retries": 2,
                    "space": {"train.lr": {"log_uniform": [1e-3, 1e-1]}}}}
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
    code, _, err = cli("tune", config, "--storage", postgres_url, "--study", "shared", "--workers", "2",
                       "--trials", "4", "--out", tmp_path / "out", "--quiet")
    assert code == 0, err
    complete = [t for t in _trials(postgres_url) if t.state.name == "COMPLETE"]
    numbers = [t.number for t in complete]
    assert len(complete) >= 4 and len(set(numbers)) == len(numbers)   # at most one extra: 2 workers
    assert len({t.params["train.lr"] for t in complete}) == len(complete)  # workers seeded apart


def test_a_killed_worker_leaves_a_fail_trial_and_the_study_still_finishes(tmp_path, iris, postgres_url):
    # Trials of a few seconds (100 epochs, batch 4) so the kill lands mid-trial.
    config = _config(tmp_path, iris, epochs=100, batch_size=4)
    command = [sys.executable, "-m", "layerwise.cli", "tune", str(config), "--storage", postgres_url,
               "--study", "shared", "--trials", "2", "--quiet"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    victim = subprocess.Popen([*command, "--out", str(tmp_path / "a")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if any(t.state.name == "RUNNING" for t in _trials(postgres_url)):
                    break
            except KeyError:  # the study is not created yet
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("worker A never started a trial")
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.wait(30)
    finish = subprocess.run([*command, "--out", str(tmp_path / "b")], env=env, capture_output=True, text=True,
                            timeout=300)
    assert finish.returncode == 0, finish.stderr
    states = [t.state.name for t in _trials(postgres_url)]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") >= 2 and "RUNNING" not in states
