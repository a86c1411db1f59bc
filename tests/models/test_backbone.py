"""torchvision backbones (model.type: backbone): built by name with the head replaced, weights loaded
from a local file (.pth or .safetensors) or torch's hub cache, strictly, and fine-tuned frozen first,
then at a share of the learning rate. Weights files are made here from torchvision models built with
weights=None: nothing is downloaded."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load_file, save_file
from torchvision.models import get_model, get_model_weights

import layerwise
from layerwise import Experiment
from layerwise.config import ExperimentConfig, ModelConfig
from layerwise.errors import ConfigError, DataError
from layerwise.models import build
from layerwise.serving.app import app_from_bundle
from layerwise.training import Callback, Trainer
from layerwise.training.freeze import Freeze
from layerwise.training.optim import param_groups

SMALL = "mobilenet_v3_small"  # the quickest of torchvision's classification models on a CPU


def _saved(tmp_path: Path, name: str = "resnet18", suffix: str = ".pth", seed: int = 3) -> tuple[Path, dict]:
    torch.manual_seed(seed)
    state = get_model(name, weights=None).state_dict()
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path, state


def test_the_head_replaces_the_classifier_and_grayscale_is_read_as_rgb():
    module = build({"type": "backbone", "name": "resnet18"}, (1, 16, 16), 4, seed=0)
    assert module.classifier == "fc" and module.features == 512
    assert isinstance(module.body.fc, torch.nn.Identity) and module.head.out_features == 4
    assert module.get_config() == {
        "type": "backbone",
        "name": "resnet18",
        "weights": "none",
        "dropout": 0.0,
        "freeze_epochs": None,  # they apply with weights only
        "body_lr": None,
    }
    # the config rebuilds it; torchvision's initialization drawn under the seed, whatever the global state
    torch.manual_seed(123)
    again = build(module.get_config(), (1, 16, 16), 4, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), again.state_dict().values()))
    other = build(module.get_config(), (1, 16, 16), 4, seed=1)
    assert not torch.equal(other.body.conv1.weight, module.body.conv1.weight)
    assert module(torch.rand(3, 1, 16, 16)).shape == (3, 4)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_weights_from_a_file_fill_the_body_bit_identical_and_the_head_starts_at_zero(tmp_path, suffix):
    path, state = _saved(tmp_path, suffix=suffix)
    module = build({"type": "backbone", "name": "resnet18", "weights": str(path)}, (3, 32, 32), 5, seed=0)
    lines: list[str] = []
    module.load_weights(lines.append)
    assert module.freeze_plan() == (["body"], 1)  # frozen through epoch 1
    body = module.body.state_dict()
    assert all(torch.equal(body[k], v) for k, v in state.items() if not k.startswith("fc."))
    assert not module.head.weight.any() and not module.head.bias.any()
    assert lines == [
        f"init: resnet18 body loaded from {path} (120 tensors), head at zero; body frozen for 1 epoch(s), "
        "then trained at 0.1 x train.lr"
    ]


def test_a_file_that_does_not_fit_is_refused_naming_each_tensor(tmp_path):
    _, state = _saved(tmp_path)
    state = {k: v for k, v in state.items() if not k.startswith("layer4.1.")}
    state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "bad.pth")
    module = build({"type": "backbone", "name": "resnet18", "weights": str(tmp_path / "bad.pth")}, (3, 32, 32), 5)
    with pytest.raises(ConfigError) as error:
        module.load_weights(print)
    text = str(error.value)
    assert "bad.pth does not fit the model (14 tensors)" in text
    assert "shape differs, conv1.weight: the model (64, 3, 7, 7), the file (64, 1, 7, 7)" in text
    assert "missing from the file: layer4.1.conv1.weight" in text and "(and 6 more)" in text


@pytest.mark.parametrize(
    ("write", "says"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b"not a zip"), "cannot be read as a state dict"),
        (lambda p: torch.save({"model": {"w": torch.zeros(1)}, "epoch": 3}, p), "holds a dict, not a state dict"),
        (lambda p: torch.save([torch.zeros(1)], p), "holds a list, not a state dict"),
    ],
)
def test_a_weights_file_that_is_not_a_state_dict_is_a_config_error(tmp_path, write, says):
    path = tmp_path / "w.pth"
    write(path)
    module = build({"type": "backbone", "name": "resnet18", "weights": str(path)}, (3, 32, 32), 5)
    with pytest.raises(ConfigError, match="model.weights: ") as error:
        module.load_weights(print)
    assert says in str(error.value)


def test_a_pickle_of_code_is_never_run(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "ran",))

    torch.save({"w": Payload()}, tmp_path / "evil.pth")
    module = build({"type": "backbone", "name": "resnet18", "weights": str(tmp_path / "evil.pth")}, (3, 32, 32), 5)
    with pytest.raises(ConfigError, match="cannot be read as a state dict"):
        module.load_weights(print)
    assert not (tmp_path / "ran").exists()


def test_default_weights_come_from_torchs_hub_cache_without_a_download(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    entry = get_model_weights(SMALL).DEFAULT
    cached = tmp_path / "hub" / "checkpoints" / Path(entry.url).name
    cached.parent.mkdir(parents=True)
    torch.manual_seed(5)
    state = get_model(SMALL, weights=None).state_dict()
    torch.save(state, cached)
    module = build({"type": "backbone", "name": SMALL, "weights": "DEFAULT"}, (3, 32, 32), 3)
    lines: list[str] = []
    module.load_weights(lines.append)
    assert torch.equal(module.body.features[0][0].weight, state["features.0.0.weight"])
    assert f"torchvision {SMALL} " in lines[0] and "IMAGENET1K_V1" in lines[0]


def test_default_weights_that_cannot_be_fetched_are_an_error_never_random_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    module = build({"type": "backbone", "name": SMALL, "weights": "DEFAULT"}, (3, 32, 32), 3)
    with pytest.raises(ConfigError) as error:
        module.load_weights(print)
    assert "could not be read from torch's cache or downloaded from https://" in str(error.value)
    assert "model.weights: PATH" in error.value.hint


@pytest.mark.parametrize(
    ("model", "shape", "says"),
    [
        ({"name": "resnet19"}, (3, 32, 32), "'resnet19' is not a torchvision classification model (did you mean"),
        ({"name": "vit_b_16"}, (3, 32, 32), "vit_b_16 cannot read images of 32x32 pixels"),
        ({"weights": "IMAGENET_V9"}, (3, 32, 32), None),  # refused when loading, below
        ({"body_lr": 2}, (3, 32, 32), "model.body_lr: 2 must be in (0, 1]"),
        ({"init": "xavier_uniform"}, (3, 32, 32), "model.init: 'xavier_uniform' does not apply to a backbone"),
        (
            {"weights": "w.pth", "init": {"from": "runs/a"}},
            (3, 32, 32),
            "model.init.from: a backbone with model.weights",
        ),
        ({"weights": "w.pth", "init": {"freeze": ["body"]}}, (3, 32, 32), "model.init.freeze: a backbone with"),
        ({"name": "googlenet"}, (3, 64, 64), "googlenet trains with auxiliary classifiers"),
        ({}, (4, 32, 32), "backbone reads images of 1 or 3 channels"),
    ],
)
def test_settings_a_backbone_cannot_honour_are_refused(model, shape, says):
    if says is None:
        module = build({"type": "backbone", **model}, shape, 3)
        with pytest.raises(ConfigError, match="'IMAGENET_V9' is not a weights file, none, or one of resnet18's"):
            module.load_weights(print)
        return
    with pytest.raises(ConfigError) as error:
        build({"type": "backbone", **model}, shape, 3)
    assert says in str(error.value)


class Watch(Callback):
    """The body's first weight and its first BatchNorm's running mean after every epoch."""

    def __init__(self):
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_epoch_end(self, trainer, epoch, row):
        body = trainer.module.body
        self.seen.append((body.conv1.weight.detach().clone(), body.bn1.running_mean.clone()))


def test_fine_tuning_freezes_the_body_then_trains_it_at_its_share_of_the_rate(tmp_path):
    path, _ = _saved(tmp_path)
    module = build({"type": "backbone", "name": "resnet18", "weights": str(path)}, (3, 16, 16), 3, seed=0)
    module.load_weights(lambda line: None)
    patterns, last = module.freeze_plan()
    freeze = [Freeze(patterns, last)]
    before = module.body.conv1.weight.detach().clone()
    stats = module.body.bn1.running_mean.clone()
    watch = Watch()
    trainer = Trainer(module, loss="cross_entropy", lr=1e-2, epochs=2, batch_size=8, seed=0, callbacks=[*freeze, watch])
    assert [g["lr"] for g in trainer.optimizer.param_groups] == pytest.approx([1e-2, 1e-3])
    x, y = torch.rand(24, 3, 16, 16).numpy(), np.arange(24) % 3
    trainer.fit(x, y)
    # frozen in epoch 1: not a bit moved, and BatchNorm kept the statistics it was trained with
    assert torch.equal(watch.seen[0][0], before) and torch.equal(watch.seen[0][1], stats)
    assert not torch.equal(watch.seen[1][0], before) and not torch.equal(watch.seen[1][1], stats)  # trained


def test_without_weights_one_group_trains_everything_at_train_lr():
    module = build({"type": "backbone", "name": "resnet18"}, (3, 16, 16), 3)
    groups = param_groups(module)
    assert [g["lr_scale"] for g in groups] == [1.0, 1.0] and module.freeze_plan() is None
    trainer = Trainer(module, loss="cross_entropy", lr=1e-2, epochs=1, batch_size=8)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [1e-2, 1e-2]


# -- a run, end to end --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backbone_run(digit_folders, tmp_path_factory) -> Path:
    """`layerwise run` fine-tuning mobilenet_v3_small from a weights file on the digit folders."""
    root = tmp_path_factory.mktemp("backbone")
    torch.manual_seed(1)
    torch.save(get_model(SMALL, weights=None).state_dict(), root / "weights.pth")
    cfg = {
        "data": {"path": str(digit_folders["train"])},
        "model": {"type": "backbone", "name": SMALL, "weights": str(root / "weights.pth")},
        "train": {"epochs": 3, "lr": 3e-3, "patience": None, "seed": 0, "batch_size": 32},
        "evaluate": {"bootstrap": 50, "report": False},
    }
    out = root / "run"
    Experiment(cfg).run(out=out)
    return out


def test_a_run_fine_tunes_frozen_then_unfrozen_and_saves_the_weights_normalization(backbone_run):
    log = (backbone_run / "run.log").read_text()
    assert "body frozen for 1 epoch(s), then trained at 0.1 x train.lr" in log
    assert "init: unfroze" in log and log.index("epoch 1/3") < log.index("init: unfroze") < log.index("epoch 2/3")
    spec = json.loads((backbone_run / "bundle" / "spec.json").read_text())
    images = spec["preprocessing"]["images"]
    # a weights file's training statistics are unknown: standardized on the training split, as without weights
    assert images["normalize"] == "standard" and images["channels"] == 1
    assert spec["model"]["config"]["weights"].endswith("weights.pth")
    # the bundle holds its own weights: it loads where the weights file no longer is
    (backbone_run.parent / "weights.pth").unlink()
    saved = load_file(backbone_run / "bundle" / "model.safetensors")
    loaded = layerwise.load(backbone_run / "bundle")
    assert all(torch.equal(loaded.module.state_dict()[k], v) for k, v in saved.items())


def test_the_backbone_bundle_predicts_serves_and_exports(backbone_run, digit_folders, cli, tmp_path):
    files = sorted(digit_folders["new"].glob("4/*.png"))[:3]
    expected = layerwise.load(backbone_run / "bundle").predict_images(files)
    with TestClient(app_from_bundle(backbone_run / "bundle")) as client:
        response = client.post("/predict", json={"images": [base64.b64encode(f.read_bytes()).decode() for f in files]})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["prediction"] for a in answers] == list(expected["prediction"])
    assert answers[0]["probabilities"]["4"] == pytest.approx(expected["proba_4"].iloc[0], abs=1e-6)
    code, out, err = cli("export", backbone_run / "bundle", "--output", tmp_path / "model.onnx")
    assert code == 0, err
    assert "verified on" in out + err and (tmp_path / "model.onnx").is_file()


@pytest.mark.parametrize("key", [{"freeze_epochs": 2}, {"body_lr": 0.5}])
def test_a_fine_tuning_setting_without_weights_is_refused(key):
    with pytest.raises(ValueError, match=f"model.{next(iter(key))} applies to a backbone with weights"):
        ModelConfig(type="backbone", **key)
    assert ModelConfig(type="backbone", weights="DEFAULT", **key).weights == "DEFAULT"


def test_the_backbone_bundle_is_explained_with_heatmaps(backbone_run, digit_folders, cli, tmp_path):
    code, _, err = cli(
        "explain", backbone_run / "bundle", digit_folders["new"] / "2", "--rows", "0:3", "--steps", "8",
        "-o", tmp_path / "explain",
    )  # fmt: skip
    assert code == 0, err
    found = json.loads((tmp_path / "explain" / "explain.json").read_text())
    assert found["method"] == "ig" and (tmp_path / "explain" / "images.png").is_file()


def test_a_search_over_backbones_and_their_fine_tuning(digit_folders, tmp_path):
    torch.save(get_model(SMALL, weights=None).state_dict(), tmp_path / "small.pth")
    cfg = {
        "data": {"path": str(digit_folders["train"]), "image": {"size": [8, 8], "mode": "grayscale"}},
        "model": {"type": "backbone", "name": SMALL, "weights": str(tmp_path / "small.pth")},
        "train": {"epochs": 2, "lr": 3e-3, "patience": None, "seed": 0, "batch_size": 64},
        "evaluate": {"bootstrap": 0, "report": False},
        "tune": {
            "trials": 2,
            "method": "random",
            "pruner": "none",
            "space": {"model.body_lr": {"log_uniform": [0.01, 1.0]}, "model.freeze_epochs": [0, 1]},
        },
    }
    found = Experiment(cfg).tune(tmp_path / "search")
    assert len(found.study.trials) == 2
    assert found.config.model.type == "backbone" and 0.01 <= found.config.model.body_lr <= 1.0
    assert (tmp_path / "search" / "best" / "bundle" / "spec.json").is_file()


def test_a_weights_file_is_found_beside_the_config_wherever_the_run_starts(tmp_path, monkeypatch):
    (tmp_path / "project").mkdir()
    config = tmp_path / "project" / "exp.yaml"
    config.write_text("data: {path: photos}\nmodel: {type: backbone, weights: weights/r18.pth}\n")
    named = tmp_path / "project" / "named.yaml"
    named.write_text("data: {path: photos}\nmodel: {type: backbone, weights: DEFAULT}\n")
    monkeypatch.chdir(tmp_path)
    assert ExperimentConfig.from_yaml(config).model.weights == str(tmp_path / "project" / "weights" / "r18.pth")
    assert ExperimentConfig.from_yaml(named).model.weights == "DEFAULT"  # a weight name, not a file


def test_torchvisions_weights_read_imagenet_statistics_and_a_file_the_datas():
    from layerwise.models.backbone import IMAGENET_MEAN, IMAGENET_STD, Backbone

    assert Backbone.normalization({"weights": "DEFAULT"}) == (list(IMAGENET_MEAN), list(IMAGENET_STD))
    assert Backbone.normalization({"weights": "IMAGENET1K_V1"}) == (list(IMAGENET_MEAN), list(IMAGENET_STD))
    assert Backbone.normalization({"weights": "weights/r18.pth"}) is None
    assert Backbone.normalization({"weights": "none"}) is None


def test_pixels_outside_0_1_are_refused_under_imagenet_statistics():
    from layerwise.data.images import ImagePreprocessor

    pre = ImagePreprocessor(size=[4, 4], mode="rgb", channels=3, scale=1.0)
    with pytest.raises(DataError, match=r"pixels range over \[0, 255\]"):
        pre.fit(np.linspace(0, 255, 96, dtype=np.float32).reshape(2, 3, 4, 4), ([0.5] * 3, [0.2] * 3))
    gray = ImagePreprocessor(size=[4, 4], mode="grayscale", channels=1, scale=255.0)
    fitted = gray.fit(np.full((2, 1, 4, 4), 0.5, dtype=np.float32), ([0.4, 0.5, 0.6], [0.1, 0.2, 0.3]))
    assert (
        fitted.normalize == "weights" and fitted.shift == [pytest.approx(0.5)] and fitted.divide == [pytest.approx(0.2)]
    )  # one gray channel: the RGB statistics' means


def test_one_surviving_group_keeps_its_share_and_lr_find_sweeps_by_it():
    from layerwise.training.lr_find import lr_find

    module = build({"type": "backbone", "name": "resnet18", "weights": "w.pth"}, (3, 16, 16), 3)
    for p in module.head.parameters():
        p.requires_grad_(False)
    trainer = Trainer(module, loss="cross_entropy", lr=1e-2, epochs=1, batch_size=8, schedule={"type": "cosine"})
    assert [g["lr"] for g in trainer.optimizer.param_groups] == pytest.approx([1e-3])  # the body's 0.1 share
    x, y = torch.rand(16, 3, 16, 16).numpy(), np.arange(16) % 3
    trainer.fit(x, y)  # the cosine schedule ends at 0
    found = lr_find(trainer, x, y, steps=10)  # divided by that 0 before its groups kept their share
    assert len(found.lrs) == len(found.losses) >= 1 and trainer.optimizer.param_groups[0]["lr_scale"] == 0.1
