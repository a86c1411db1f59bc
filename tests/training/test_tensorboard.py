"""train.tensorboard: event files in the run folder, read back with TensorBoard's own reader;
a resume past the newest checkpoint does not duplicate steps (purge_step)."""

import shutil

import pytest
from tensorboard.backend.event_processing import event_accumulator
from training_toys import experiment

from layerwise.training import Checkpoints


def _scalars(folder):
    acc = event_accumulator.EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_events_and_resume_without_duplicates(tmp_path, cli):
    experiment(
        tmp_path,
        rows=200,
        target=lambda a, b, c: a - 2 * b,
        model="{hidden: [8]}",
        train="{epochs: 3, patience: null, batch_size: 32, tensorboard: true, threads: 1}",
        evaluate="{report: false, bootstrap: 0, leakage: false}",
    )
    out = tmp_path / "run"
    code, _, err = cli("run", tmp_path / "e.yaml", "--out", out, "--quiet")
    assert code == 0, err
    first = _scalars(out / "tensorboard")
    assert {"loss/train", "loss/val", "lr"} <= first.keys()
    assert [s for s, _ in first["loss/train"]] == [1, 2, 3]
    history = (out / "history.csv").read_text().splitlines()[1:]
    assert [v for _, v in first["loss/train"]] == pytest.approx([float(r.split(",")[1]) for r in history], rel=1e-6)

    # as if killed after epoch 3's events but before its checkpoint: resume from epoch 2
    for name in sorted(Checkpoints(out / "checkpoints").names())[-1:]:
        for path in (out / "checkpoints").glob(f"ckpt-{name[0]:06d}-*"):
            path.unlink()
    for path in out.iterdir():
        if path.name not in ("checkpoints", "tensorboard"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert [e for e, _ in Checkpoints(out / "checkpoints").names()] == [2]
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
    )
    assert code == 0, err
    resumed = _scalars(out / "tensorboard")
    assert [s for s, _ in resumed["loss/train"]] == [1, 2, 3, 4]  # epoch 3 once, from the resumed run
    assert resumed["loss/train"][:2] == first["loss/train"][:2]
