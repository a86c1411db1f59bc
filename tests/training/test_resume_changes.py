"""`run --resume` goes on only under the settings and data its checkpoints were made with: a
fingerprint is saved in every checkpoint and compared; what differs is refused (exit 2, naming
each key) unless it is one of the keys `--allow-changed` may let through, and metrics.json
records what was changed where."""

from __future__ import annotations

import json
import shutil

import pytest
from training_toys import data, experiment, mlp

from layerwise.errors import ConfigError
from layerwise.training import CheckpointWarning, Trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A two-epoch run folder (kept whole: each test resumes a copy of it)."""
    folder = tmp_path_factory.mktemp("trained")
    experiment(
        folder,
        rows=240,
        target=lambda a, b, c: a - 2 * b,
        model="{hidden: [8]}",
        train="{epochs: 2, patience: null, batch_size: 32, threads: 1}",
        evaluate="{report: false, bootstrap: 0, leakage: false}",
    )
    from layerwise.cli import main

    assert main(["run", str(folder / "e.yaml"), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder


@pytest.fixture
def folder(trained, tmp_path):
    """A copy of the trained folder: config e.yaml, data d.csv, run folder run/."""
    shutil.copytree(trained, tmp_path / "t")
    return tmp_path / "t"


def _resume(cli, folder, *args):
    return cli("run", folder / "e.yaml", "--out", folder / "run", "--quiet", "--resume", *args)


@pytest.mark.parametrize(
    "change,named",
    [
        ("train.lr=0.05", "train.lr: changed since the checkpoint was made (0.001 -> 0.05)"),
        ("train.batch_size=16", "train.batch_size: changed since the checkpoint was made (32 -> 16)"),
        ("model.hidden=[16]", "model.hidden: changed since the checkpoint was made ([8] -> [16])"),
        ("train.epochs=4", "train.epochs: changed since the checkpoint was made (2 -> 4)"),
        # a key the checkpoint's fingerprint leaves out at its default: set, it is a change
        ("train.stop_on=metric", 'train.stop_on: changed since the checkpoint was made ((not set) -> "metric")'),
    ],
)
def test_a_changed_setting_is_refused_naming_it(cli, folder, change, named):
    before = (folder / "run" / "metrics.json").read_text()
    code, _, err = _resume(cli, folder, "--set", change)
    assert code == 2, err
    assert named in err and "--allow-changed" in err and "Traceback" not in err
    assert (folder / "run" / "metrics.json").read_text() == before  # the run folder is as it was


def test_changed_data_is_refused(cli, folder):
    lines = (folder / "d.csv").read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "9.99999", 1)  # one value of one row
    (folder / "d.csv").write_text("\n".join(lines) + "\n")
    code, _, err = _resume(cli, folder)
    assert code == 2, err
    assert "data.sha256: the data changed since the checkpoint was made" in err


def test_settings_that_change_nothing_learned_are_not_compared(cli, folder):
    code, _, err = _resume(cli, folder, "--set", "train.keep=3", "--set", "evaluate.bootstrap=20")
    assert code == 0, err
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["resumed"] == {"checkpoint": "ckpt-000002-000000", "epochs": 2, "steps": 0, "changed": {}}


def test_allowed_epochs_resume_and_record_the_change(cli, folder):
    first = (folder / "run" / "history.csv").read_text().splitlines()
    code, _, err = _resume(cli, folder, "--set", "train.epochs=4", "--allow-changed", "train.epochs")
    assert code == 0, err
    history = (folder / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 5 and [r.split(",")[:3] for r in history[:3]] == [r.split(",")[:3] for r in first]
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 4
    assert metrics["resumed"]["changed"] == {"train.epochs": [2, 4]}
    assert json.loads((folder / "run" / "bundle" / "metrics.json").read_text())["resumed"] == metrics["resumed"]
    spec = json.loads((folder / "run" / "bundle" / "spec.json").read_text())
    assert spec["config"]["train"]["epochs"] == 4
    assert "changed as allowed: train.epochs 2 -> 4" in (folder / "run" / "run.log").read_text()
    # the new checkpoints hold the new settings: resuming them as they are changes nothing
    code, _, err = _resume(cli, folder, "--set", "train.epochs=4")
    assert code == 0, err


@pytest.mark.parametrize(
    "args,words",
    [
        (["--allow-changed", "train.lr"], "--allow-changed train.lr: only train.epochs and train.patience may change"),
        (["--set", "train.epochs=1", "--allow-changed", "train.epochs"], "train.epochs: 1 is fewer than the 2 epochs"),
        (
            ["--set", "train.schedule=cosine", "--allow-changed", "train.epochs"],
            "train.epochs: train.schedule.type 'cosine' plans the learning rate over all epochs",
        ),
    ],
)
def test_unsafe_allowances_are_refused(cli, folder, args, words):
    code, _, err = _resume(cli, folder, *args)
    assert code == 2, err
    assert words in err


def test_allow_changed_without_resume_is_a_usage_error(cli, folder):
    code, _, err = cli("run", folder / "e.yaml", "--out", folder / "fresh", "--allow-changed", "train.epochs")
    assert code == 2 and "--allow-changed: applies to a resumed run" in err
    assert not (folder / "fresh").exists()


def test_the_trainer_api_compares_a_fingerprint_only_when_given_one(tmp_path):
    x, y = data()
    made = {"lr": 0.001, "epochs": 2, "data": {"sha256": "a" * 64}}

    def trainer(epochs, fingerprint=None):
        return Trainer(
            mlp(),
            epochs=epochs,
            batch_size=32,
            seed=0,
            device="cpu",
            threads=1,
            checkpoint_dir=tmp_path / "c",
            fingerprint=fingerprint,
        )

    trainer(2, made).fit(x, y)
    with pytest.raises(ConfigError, match=r"lr: changed since the checkpoint was made \(0.001 -> 0.01\)"):
        trainer(2, {**made, "lr": 0.01}).fit(x, y, resume=True)
    with pytest.raises(ConfigError, match="data.sha256: the data changed since the checkpoint was made"):
        trainer(2, {**made, "data": {"sha256": "b" * 64}}).fit(x, y, resume=True)
    longer = trainer(3, {**made, "epochs": 3})
    longer.fit(x, y, resume=True, allow_changed=["epochs"])
    assert len(longer.history) == 3
    assert longer.resumed == {
        "checkpoint": "ckpt-000002-000000",
        "epochs": 2,
        "steps": 0,
        "changed": {"epochs": [2, 3]},
    }
    plain = trainer(4)  # a user's own loop without a fingerprint: nothing compared, as before
    plain.fit(x, y, resume=True)
    assert len(plain.history) == 4 and plain.resumed["epochs"] == 3
    with pytest.warns(CheckpointWarning, match="records no fingerprint"):  # plain's checkpoint has none
        trainer(4, made).fit(x, y, resume=True)
