"""Transfer learning (step 4): weights from an earlier bundle by name and shape, frozen layers,
and the run refusing a bundle that does not match. The oracle for "loaded" and "frozen" is
the bundle's own safetensors file: values must be bit-identical."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_digits

from layerwise import Experiment
from layerwise.config.schema import ExperimentConfig
from layerwise.errors import ConfigError
from layerwise.models import build, load_pretrained
from layerwise.training import Callback, Trainer
from layerwise.training.freeze import Freeze

CNN = {"type": "cnn2d", "channels": [4, 8]}
QUICK = {"epochs": 1, "patience": None, "batch_size": 32, "lr": 3e-3, "threads": 1}
NO_EXTRAS = {"report": False, "bootstrap": 0, "leakage": False}


def digits(classes: range, per_class: int):
    """The first `per_class` 8x8 digit images of each of `classes`, (n, 8, 8), and their labels."""
    data = load_digits()
    rows = np.concatenate([np.flatnonzero(data.target == c)[:per_class] for c in classes])
    return data.images[rows].astype(np.float32), data.target[rows]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> Path:
    """A cnn2d run on digits 0-4: its bundle is the source of every transfer below."""
    out = tmp_path_factory.mktemp("pre") / "run"
    cfg = {"data": {"image": {}}, "model": CNN, "train": QUICK, "evaluate": NO_EXTRAS}
    Experiment(cfg, data=digits(range(5), 40)).run(out)
    return out / "bundle"


def test_loads_every_tensor_but_the_head_bit_identical(pretrained):
    saved = load_file(pretrained / "model.safetensors")
    module = build(CNN, (1, 8, 8), 5, seed=7)
    report = load_pretrained(module, pretrained)
    state = module.state_dict()
    assert sorted(report.loaded) == sorted(n for n in saved if not n.startswith("head."))
    for name in report.loaded:
        assert torch.equal(state[name], saved[name]), name
    # a new head for the new task, at zero: every class starts equally likely, whatever the body says
    assert not module.head.weight.any() and not module.head.bias.any()
    assert report.summary() == f"loaded 12 tensors from {pretrained} (all but the head, which starts at zero)"
    explicit = build(CNN, (1, 8, 8), 5, seed=7)
    fresh_head = explicit.head.weight.detach().clone()
    load_pretrained(explicit, pretrained, ["stages"])  # layers named: the head is left as built
    assert torch.equal(explicit.head.weight, fresh_head)


def test_a_run_folder_and_patterns_select_what_is_loaded(pretrained):
    module = build(CNN, (1, 8, 8), 5, seed=7)
    report = load_pretrained(module, pretrained.parent, ["stages.0", "head.*"])  # the run folder
    assert sorted(report.loaded) == sorted(
        [
            *(
                f"stages.0.body.{k}"
                for k in ("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked")
            ),
            "head.weight",
            "head.bias",
        ]
    )


def test_strict_refuses_listing_every_mismatched_name_with_both_shapes(pretrained):
    wider = build({**CNN, "channels": [4, 16]}, (1, 8, 8), 10, seed=0)
    with pytest.raises(ConfigError) as err:
        load_pretrained(wider, pretrained, ["*"])
    problems = err.value.problems
    assert "model.init: stages.1.body.0.weight: this model (16, 4, 3, 3), the bundle (8, 4, 3, 3)" in problems
    assert "model.init: head.weight: this model (10, 16), the bundle (5, 8)" in problems
    assert "model.init: stages.1.body.1.running_var: this model (16,), the bundle (8,)" in problems
    assert "strict: false" in str(err.value)
    deeper = build({**CNN, "channels": [4, 8, 8]}, (1, 8, 8), 5, seed=0)
    with pytest.raises(ConfigError, match=r"stages\.2\.body\.0\.weight: this model \(8, 8, 3, 3\), not in the bundle"):
        load_pretrained(deeper, pretrained)
    mlp = build({"type": "mlp"}, (1, 8, 8), 5, seed=0)
    with pytest.raises(ConfigError, match="holds a 'cnn2d' model; this run builds 'mlp'"):
        load_pretrained(mlp, pretrained)
    with pytest.raises(ConfigError, match=r"'stage\.\*' matches no tensor.*did you mean 'stages\.\*'"):
        load_pretrained(build(CNN, (1, 8, 8), 5), pretrained, ["stage.*"])


def test_strict_false_loads_the_part_that_matches_and_reports_the_rest(pretrained):
    saved = load_file(pretrained / "model.safetensors")
    wider = build({**CNN, "channels": [4, 16]}, (1, 8, 8), 5, seed=0)
    before = wider.stages[1].body[0].weight.detach().clone()
    report = load_pretrained(wider, pretrained, strict=False)
    # by name and shape: the second norm's step count, a scalar, matches too
    expected = [n for n in saved if n.startswith("stages.0.")] + ["stages.1.body.1.num_batches_tracked"]
    assert sorted(report.loaded) == sorted(expected)
    assert torch.equal(wider.stages[0].body[0].weight, saved["stages.0.body.0.weight"])
    assert torch.equal(wider.stages[1].body[0].weight, before)
    assert "stages.1.body.0.weight: this model (16, 4, 3, 3), the bundle (8, 4, 3, 3)" in report.skipped
    assert len(report.skipped) == 5  # conv weight, norm weight and bias, running mean and var


class Snapshots(Callback):
    """The whole state_dict at each epoch's end."""

    def __init__(self):
        self.states = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.states[epoch] = {k: v.detach().clone() for k, v in trainer.module.state_dict().items()}


def _images(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    return x, (x.mean(dim=(1, 2, 3)) > 0).long()


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_frozen_tensors_stay_bit_identical_until_unfreeze_after_then_train(optimizer):
    x, y = _images()
    module = build(CNN, (1, 8, 8), 2, seed=0)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    snaps = Snapshots()
    # momentum and weight decay would move a parameter with a zero gradient: frozen ones must not move at all
    trainer = Trainer(
        module,
        loss="cross_entropy",
        optimizer=optimizer,
        lr=0.05,
        momentum=0.9,
        weight_decay=0.1,
        batch_size=16,
        epochs=4,
        seed=0,
        device="cpu",
        threads=1,
        patience=None,
        callbacks=[Freeze(["stages.0"], unfreeze_after=2), snaps],
    )
    trainer.fit(x, y)
    frozen = [k for k in start if k.startswith("stages.0.")]  # weights, and the norm's running statistics
    assert len(frozen) == 6
    for epoch in (1, 2):
        for k in frozen:
            assert torch.equal(snaps.states[epoch][k], start[k]), (epoch, k)
        assert not torch.equal(snaps.states[epoch]["stages.1.body.0.weight"], start["stages.1.body.0.weight"])
    for k in frozen:
        assert not torch.equal(snaps.states[3][k], start[k]), k
    assert all(p.requires_grad for p in module.parameters())  # fit leaves the module trainable


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_across_the_unfreeze_point_is_bit_identical(tmp_path, optimizer):
    x, y = _images()

    def trainer(folder, callbacks=()):
        module = build(CNN, (1, 8, 8), 2, seed=0)
        return Trainer(
            module,
            loss="cross_entropy",
            optimizer=optimizer,
            lr=0.01,
            weight_decay=0.01,
            batch_size=16,
            epochs=4,
            seed=0,
            device="cpu",
            threads=1,
            patience=None,
            checkpoint_dir=folder,
            callbacks=[Freeze(["stages.*"], unfreeze_after=2), *callbacks],
        )

    class Crash(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 3:  # the first epoch after unfreezing; the newest checkpoint is epoch 2's, frozen
                raise RuntimeError("crash")

    whole = trainer(tmp_path / "whole")
    whole.fit(x, y)
    with pytest.raises(RuntimeError, match="crash"):
        trainer(tmp_path / "part", [Crash()]).fit(x, y)
    again = trainer(tmp_path / "part")
    again.fit(x, y, resume=True)
    assert [r["epoch"] for r in again.history] == [1, 2, 3, 4]
    for k, v in whole.module.state_dict().items():
        assert torch.equal(again.module.state_dict()[k], v), k


def test_freeze_pattern_that_selects_nothing_is_a_config_error():
    module = build(CNN, (1, 8, 8), 2, seed=0)
    with pytest.raises(ConfigError, match=r"(?s)model.init.freeze: 'body\.\*' matches no parameter.*stages\.\*"):
        Freeze(["body.*"]).names(module)


def test_experiment_fine_tunes_on_new_classes_from_the_bundle_with_a_frozen_body(pretrained, tmp_path):
    """digits 5-9 under a new head: the body loaded and frozen for the whole run stays the bundle's."""
    saved = load_file(pretrained / "model.safetensors")
    cfg = {
        "data": {"image": {}},
        "model": {**CNN, "init": {"from": str(pretrained), "freeze": ["stages"]}},
        "train": {**QUICK, "epochs": 2},
        "evaluate": NO_EXTRAS,
    }
    result = Experiment(cfg, data=digits(range(5, 10), 20)).run(tmp_path / "run")
    state = result.model.state_dict()
    for name in saved:
        if name.startswith("stages."):
            assert torch.equal(state[name], saved[name]), name
    assert not torch.equal(state["head.weight"], saved["head.weight"])
    log = (tmp_path / "run" / "run.log").read_text()
    assert (
        f"init: loaded 12 tensors from {pretrained} (all but the head, which starts at zero), froze 6 for every epoch"
    ) in log
    spec = json.loads((tmp_path / "run" / "bundle" / "spec.json").read_text())
    assert spec["model"]["config"]["init"] == "auto"  # the new bundle's weights are its own


def test_init_mapping_round_trips_and_checks_its_keys():
    raw = {
        "data": {"target": "y"},
        "model": {
            "init": {
                "scheme": "orthogonal",
                "from": "b",
                "layers": ["layers.1"],
                "freeze": ["layers.1"],
                "unfreeze_after": 2,
            }
        },
    }
    cfg = ExperimentConfig.from_dict(raw)
    assert cfg.to_dict()["model"]["init"] == {**raw["model"]["init"], "strict": True, "embedding": None}
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.from_dict({"data": {"target": "y"}, "model": {"init": {"unfreeze_after": 2, "scheme": "he"}}})
    assert err.value.problems[0].startswith("model.init.scheme: 'he' is not one of 'auto'")
    with pytest.raises(ConfigError, match="model.init: layers: needs `from`"):
        ExperimentConfig.from_dict({"data": {"target": "y"}, "model": {"init": {"layers": ["x"]}}})


def _table(folder: Path, rows: int = 200) -> None:
    g = np.random.default_rng(0)
    x = g.normal(size=(rows, 4))
    lines = ["a,b,c,d,y"] + [",".join(f"{v:.5f}" for v in r) + f",{r[0] - 2 * r[1]:.5f}" for r in x]
    (folder / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_cli_refuses_a_mismatched_bundle_with_exit_2_and_runs_a_matching_one(tmp_path, cli):
    _table(tmp_path)
    base = (
        "data: {path: d.csv, target: y}\ntrain: {epochs: 2, patience: null, threads: 1}\n"
        "evaluate: {report: false, bootstrap: 0, leakage: false}\n"
    )
    (tmp_path / "a.yaml").write_text(base + "model: {hidden: [8]}\n", encoding="utf-8")
    assert cli("run", tmp_path / "a.yaml", "--out", tmp_path / "a", "--quiet")[0] == 0
    # relative to the config file's folder, as data.path
    (tmp_path / "b.yaml").write_text(
        base + "model: {hidden: [16], init: {from: a, freeze: [layers.1]}}\n", encoding="utf-8"
    )
    code, _, err = cli("run", tmp_path / "b.yaml", "--out", tmp_path / "b", "--quiet")
    assert code == 2
    assert "layers.1.weight: this model (16, 4), the bundle (8, 4)" in err
    assert "layers.3.weight: this model" not in err  # the head is not requested
    assert not (tmp_path / "b").exists()
    (tmp_path / "c.yaml").write_text(
        base + "model: {hidden: [8], init: {from: a/bundle, freeze: [layers.1], unfreeze_after: 1}}\n", encoding="utf-8"
    )
    code, _, err = cli("run", tmp_path / "c.yaml", "--out", tmp_path / "c")
    assert code == 0, err
    assert (
        f"init: loaded 2 tensors from {tmp_path / 'a' / 'bundle'} (all but the head, which starts at zero), "
        "froze 2, "
        "unfreezing after epoch 1" in err
    )
    assert "init: unfroze 2 tensors at the start of epoch 2" in (tmp_path / "c" / "run.log").read_text()


def test_a_head_fitted_alone_on_a_frozen_body_learns_the_new_classes_in_a_short_fit(tmp_path):
    """Digits 0-4 pretrain a body; a head on it, frozen, learns 5-9 from 89 images in 20 epochs.

    A linear probe (scikit-learn's logistic regression) on these frozen features scores ~0.84;
    the head started at random weights scored 0.30 here (its noise logits outweighed the
    features for the whole short fit), started at zero 0.75.
    """
    data = load_digits()
    images, labels = data.images.astype(np.float32), data.target
    low, high = labels < 5, labels >= 5
    model = {"type": "cnn2d", "channels": [16, 32]}
    train = {"epochs": 10, "lr": 3e-3, "seed": 0, "threads": 1}
    Experiment(
        {"data": {"image": {}}, "model": model, "train": train, "evaluate": NO_EXTRAS}, data=(images[low], labels[low])
    ).run(tmp_path / "source")
    cfg = {
        "data": {"image": {}, "split": {"train": 0.1, "val": 0.1, "test": 0.8}},
        "model": {**model, "init": {"from": str(tmp_path / "source"), "freeze": ["stages.*"]}},
        "train": {**train, "epochs": 20, "patience": 5},
        "evaluate": NO_EXTRAS,
    }
    result = Experiment(cfg, data=(images[high], labels[high])).run(tmp_path / "frozen")
    assert result.metrics["rows"] == {"train": 89, "val": 90, "test": 717}
    first = float((tmp_path / "frozen" / "history.csv").read_text().splitlines()[1].split(",")[1])
    assert first < 1.1 * np.log(5)  # the first epoch starts from uniform guesses, not from noise
    assert result.metrics["test"]["accuracy"] > 0.65
