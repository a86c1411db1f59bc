"""A generation run killed mid-training resumes to the uninterrupted run, bit for bit; its gates judge it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from held_runs import held_run, kill_at_second_epoch_checkpoint, start, wait_until
from safetensors.torch import load_file

import layerwise
from layerwise.training import Checkpoints

NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"

# A real `layerwise run`, held at the start of epoch 3 (epochs 1 and 2 done) until the test kills it,
# as tests/test_runlog.py holds one.
HELD = held_run(
    """
    def on_epoch_start(self, trainer, epoch):
        if epoch == 3:
            (folder / "paused").touch()
            threading.Event().wait()  # for ever: the test kills us here
""",
)


@pytest.fixture
def names(tmp_path) -> Path:
    """The first 300 real first names, one a line."""
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES.read_text(encoding="utf-8").splitlines()[:300]) + "\n", encoding="utf-8")
    return path


def _config(names: Path, evaluate: str = "{report: false, bootstrap: 50}") -> Path:
    path = names.parent / "names.yaml"
    path.write_text(
        f"data: {{path: {names.name}}}\ntask: {{type: generation}}\n"
        "model: {type: lstm, hidden: [16], embedding: 8}\n"
        "train: {epochs: 3, patience: null, batch_size: 32, threads: 1, checkpoint_every: 1, lr: 0.01}\n"
        f"evaluate: {evaluate}\n",
        encoding="utf-8",
    )
    return path


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_a_generation_run_killed_with_sigkill_resumes_to_the_same_weights(tmp_path, names, cli):
    config = _config(names)
    out = tmp_path / "run"
    kill_at_second_epoch_checkpoint(start(HELD, config, out, tmp_path), tmp_path, out)
    assert not (out / "metrics.json").exists()

    code, _, err = cli("run", config, "--out", out, "--quiet", "--resume")
    assert code == 0, err
    assert _metrics(out)["resumed"]["epochs"] == 2

    # the oracle: the same config, uninterrupted
    code, _, err = cli("run", config, "--out", tmp_path / "whole", "--quiet")
    assert code == 0, err
    resumed, whole = _metrics(out), _metrics(tmp_path / "whole")
    assert resumed["test"]["cross_entropy"] == whole["test"]["cross_entropy"]
    assert resumed["epochs"] == whole["epochs"] == 3
    weights, oracle = (
        load_file(out / "bundle" / "model.safetensors"),
        load_file(tmp_path / "whole" / "bundle" / "model.safetensors"),
    )
    assert weights.keys() == oracle.keys()
    for name in weights:
        assert weights[name].equal(oracle[name]), name


# A real `layerwise run`, held after batch 3 of epoch 2 until the test has sent SIGTERM and says go.
PAUSED_MID_EPOCH = held_run(
    """
    def on_batch_end(self, trainer, epoch, batch, batches):
        if (epoch, batch) == (2, 3):
            (folder / "paused").touch()
            while not (folder / "go").exists():
                threading.Event().wait(0.01)
""",
)


def test_a_generation_run_stopped_by_sigterm_saves_mid_epoch_and_resumes_to_the_same_weights(tmp_path, names, cli):
    config = _config(names)
    out = tmp_path / "run"
    proc = start(PAUSED_MID_EPOCH, config, out, tmp_path)
    try:
        wait_until(lambda: (tmp_path / "paused").exists(), proc)
        proc.send_signal(signal.SIGTERM)  # noted by the Trainer; acted on after the next update
    finally:
        (tmp_path / "go").touch()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM at epoch 2" in err and "Traceback" not in err
    assert not (out / "metrics.json").exists()
    assert (1, 4) in Checkpoints(out / "checkpoints").names()  # mid-epoch: 1 epoch done, 4 batches of the 2nd

    code, _, err = cli("run", config, "--out", out, "--quiet", "--resume")
    assert code == 0, err
    assert _metrics(out)["resumed"]["epochs"] == 1 and _metrics(out)["resumed"]["steps"] == 4

    code, _, err = cli("run", config, "--out", tmp_path / "whole", "--quiet")
    assert code == 0, err
    weights = load_file(out / "bundle" / "model.safetensors")
    oracle = load_file(tmp_path / "whole" / "bundle" / "model.safetensors")
    assert weights.keys() == oracle.keys()
    for name in weights:
        assert weights[name].equal(oracle[name]), name
    assert _metrics(out)["test"]["cross_entropy"] == _metrics(tmp_path / "whole")["test"]["cross_entropy"]


def _generation(names: Path, gates: dict) -> dict:
    return {
        "data": {"path": str(names)},
        "task": {"type": "generation"},
        "model": {"type": "lstm", "hidden": [16], "embedding": 8},
        "train": {"epochs": 1, "patience": None, "batch_size": 32},
        "evaluate": {"report": False, "bootstrap": 50, "gates": gates},
    }


def test_a_generation_run_above_a_max_gate_is_not_deployed(tmp_path, names):
    cfg = _generation(names, {"max": {"cross_entropy": 0.01}})
    layerwise.Experiment(cfg).run(tmp_path / "gated")
    metrics = _metrics(tmp_path / "gated")
    assert metrics["verdict"] == "DO NOT DEPLOY"
    failed = [c for c in metrics["checks"] if not c["passed"]]
    assert any(c["gate"] == "max.cross_entropy" for c in failed), metrics["checks"]
    assert metrics["headline"].startswith("DO NOT DEPLOY") and "cross_entropy" in metrics["headline"]


def test_a_generation_run_without_gates_says_so(tmp_path, names):
    cfg = _generation(names, {"beat_baseline": False})
    result = layerwise.Experiment(cfg).run(tmp_path / "ungated")
    metrics = _metrics(tmp_path / "ungated")
    assert metrics["checks"] == []
    assert "no gate is configured" in metrics["headline"]
    assert result.metrics["headline"] == metrics["headline"]
