"""Augmentation (layerwise.data.augment): each transform changes a batch by what it says,
reproducibly from the generator, on the batch's own device; through Experiment it touches
training batches only, and a transform set for the wrong kind of data is a ConfigError."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits

import layerwise
from layerwise.data import Preprocessor
from layerwise.data import augment as A
from layerwise.errors import ConfigError

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
QUICK = {"epochs": 2, "batch_size": 32, "threads": 1}


def gen(seed: int = 0, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def images(n: int = 16, device: str = "cpu") -> torch.Tensor:
    return torch.randn(n, 3, 8, 10, generator=gen(99), device="cpu").to(device)  # (batch, channels, H, W)


def windows(n: int = 16, device: str = "cpu") -> torch.Tensor:
    return torch.randn(n, 12, 3, generator=gen(98), device="cpu").to(device)  # (batch, lookback, features)


# -- shapes, dtypes, devices, reproducibility ------------------------------------------------
IMAGE_CALLS = [
    lambda x, g: A.flip(x, g, "both"),
    lambda x, g: A.shift(x, g, 0.25),
    lambda x, g: A.shift(x, g, 0.25, fill="edge"),
    lambda x, g: A.rotate(x, g, 30.0),
    lambda x, g: A.brightness(x, g, 0.3),
]
SERIES_CALLS = [
    lambda x, g: A.jitter(x, g, 0.1),
    lambda x, g: A.scale(x, g, 0.2),
    lambda x, g: A.scale(x, g, 0.2, about="last"),
    lambda x, g: A.slice(x, g, 0.5),
    lambda x, g: A.slice(x, g, 0.5, anchor="end"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("call,make", [(c, images) for c in IMAGE_CALLS] + [(c, windows) for c in SERIES_CALLS])
def test_shape_dtype_device_kept_same_seed_same_output(call, make, device):
    x = make(device=device)
    out = call(x, gen(1, device))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert not torch.equal(out, x)  # it did something
    assert torch.equal(call(x, gen(1, device)), out)  # same seed, same output
    assert not torch.equal(call(x, gen(2, device)), out)  # another seed, another draw


def test_all_off_at_their_defaults_returns_the_batch_itself():
    x, w = images(), windows()
    for out in (A.flip(x, gen()), A.shift(x, gen()), A.rotate(x, gen()), A.brightness(x, gen())):
        assert torch.equal(out, x)
    for out in (A.jitter(w, gen()), A.scale(w, gen()), A.slice(w, gen())):
        assert torch.equal(out, w)
    assert A.from_config(None, "images") is None
    assert A.from_config(dict(A.OFF), "series") is None


# -- each transform by its expected amount ---------------------------------------------------
def test_flip_mirrors_exactly_and_about_half_the_batch():
    x = images(200)
    out = A.flip(x, gen(), "horizontal")
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((mirrored | kept).all())  # each image whole: mirrored or not
    assert 70 < int(mirrored.sum()) < 130
    vertical = A.flip(x, gen(), "vertical")
    assert bool(((vertical == x.flip(-2)).flatten(1).all(1) | (vertical == x).flatten(1).all(1)).all())


def test_shift_moves_whole_pixels_within_range_and_fills_black():
    x = torch.rand(40, 1, 8, 8, generator=gen(5)) + 1.0  # every pixel >= 1, black = -2
    out = A.shift(x, gen(), 0.25, zero=-2.0)  # up to 2 pixels each way
    for i in range(len(x)):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                rolled = torch.roll(x[i], (dy, dx), dims=(-2, -1))
                inside = torch.zeros(8, 8, dtype=torch.bool)
                inside[max(dy, 0) : 8 + min(dy, 0), max(dx, 0) : 8 + min(dx, 0)] = True
                if torch.equal(out[i][:, inside], rolled[:, inside]) and bool((out[i][:, ~inside] == -2).all()):
                    found = True
        assert found, i


def test_rotate_zero_is_identity_and_a_disc_barely_changes_while_a_bar_turns():
    x = images()
    assert torch.equal(A.rotate(x, gen(), 0.0), x)
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    disc = (((yy - 7.5) ** 2 + (xx - 7.5) ** 2) < 25).float()[None, None].repeat(8, 1, 1, 1)
    bar = torch.zeros(8, 1, 16, 16)
    bar[:, :, 7:9, 2:14] = 1.0  # a horizontal bar
    assert (A.rotate(disc, gen(), 45.0) - disc).abs().mean() < 0.05
    turned = A.rotate(bar, gen(), 90.0)
    assert (turned - bar).abs().mean(dim=(1, 2, 3)).max() > 0.05  # a turned bar is another image
    assert torch.allclose(turned.sum(dim=(1, 2, 3)), bar.sum(dim=(1, 2, 3)), rtol=0.1)  # same ink


def test_rotate_fills_corners_with_black_in_normalized_space():
    x = torch.full((4, 2, 9, 9), 3.0)
    out = A.rotate(x, gen(), 180.0, zero=torch.tensor([-1.0, -0.5]))
    assert torch.allclose(out[:, :, 4, 4], torch.full((4, 2), 3.0))  # the centre stays
    angles_that_uncover_corners = out[:, 0, 0, 0] < 3.0
    assert bool(angles_that_uncover_corners.any())
    assert float(out[:, 0].min()) >= -1.0 - 1e-5 and float(out[:, 1].min()) >= -0.5 - 1e-5


def test_brightness_scales_raw_pixels_by_one_factor_per_image():
    zero = torch.tensor([-1.0, 0.5, 2.0])  # a raw 0 pixel, per channel
    x = zero.view(1, 3, 1, 1) + 0.5 + torch.rand(50, 3, 8, 10, generator=gen(3))  # raw pixels 0.5 .. 1.5
    out = A.brightness(x, gen(), 0.2, zero=zero)
    ratio = (out - zero.view(1, 3, 1, 1)) / (x - zero.view(1, 3, 1, 1))  # raw-pixel ratio
    per_image = ratio.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-4)
    assert float(per_image.min()) >= 0.8 - 1e-5 and float(per_image.max()) <= 1.2 + 1e-5
    assert float(per_image[:, 0].std()) > 0.05  # factors differ between images


def test_jitter_std_close_to_asked_and_only_on_the_chosen_columns():
    x = torch.zeros(500, 20, 4)
    out = A.jitter(x, gen(), 0.3)
    assert abs(float(out.std()) - 0.3) < 0.01 and abs(float(out.mean())) < 0.01
    mask = torch.tensor([True, False, True, False])
    out = A.jitter(x, gen(), 0.3, columns=mask)
    assert bool((out[..., ~mask] == 0).all()) and abs(float(out[..., mask].std()) - 0.3) < 0.01


def test_scale_multiplies_each_window_by_one_factor_about_its_center():
    w = windows(400) + 5.0
    out = A.scale(w, gen(), 0.1)
    factor = (out / w).flatten(1)
    assert torch.allclose(factor, factor[:, :1].expand_as(factor), atol=1e-4)
    assert abs(float(factor[:, 0].std()) - 0.1) < 0.02 and abs(float(factor[:, 0].mean()) - 1.0) < 0.02
    last = A.scale(w, gen(), 0.1, about="last")
    assert torch.allclose(last[:, -1], w[:, -1])  # the level the forecast follows stays
    about = torch.tensor([1.0, -2.0, 0.5])
    around = A.scale(w, gen(), 0.1, about=about)
    assert torch.allclose((around - about) / (w - about), factor.view_as(w), atol=1e-4)  # same draws


def test_slice_one_is_identity_and_a_ramp_is_stretched_by_the_fraction():
    w = windows()
    assert torch.equal(A.slice(w, gen(), 1.0), w)
    ramp = torch.arange(11.0).view(1, 11, 1).repeat(30, 1, 2)  # x[t] = t
    out = A.slice(ramp, gen(), 0.6)  # sub-windows 6 steps long, stretched to 10
    steps = out[:, 1:] - out[:, :-1]
    assert torch.allclose(steps, torch.full_like(steps, 0.6), atol=1e-5)
    assert float(out[:, 0].min()) >= 0 and float(out[:, -1].max()) <= 10 + 1e-5
    assert float(out[:, 0].std()) > 0.3  # random starts
    end = A.slice(ramp, gen(), 0.5, anchor="end")
    assert torch.allclose(end[:, -1], ramp[:, -1])  # the last step is kept
    slope = (end[:, -1] - end[:, 0]) / 10
    assert float(slope.min()) >= 0.5 - 1e-5 and float(slope.max()) <= 1 + 1e-5


# -- from the config -------------------------------------------------------------------------
def test_wrong_kind_of_data_is_named_with_the_kind_that_takes_it():
    problems = A.check({**A.OFF, "rotate": 10.0, "jitter": 0.1}, "series")
    assert len(problems) == 1 and problems[0].startswith("data.augment.rotate: applies to image data")
    assert A.check({**A.OFF, "scale": 0.1, "jitter": 0.1}, "table") == [
        "data.augment.scale: applies to series windows (task.type: forecast), not to tables; "
        "remove it (here data.augment takes jitter)"
    ]
    assert "data.augment.flip" in A.check({**A.OFF, "flip": "horizontal"}, "text")[0]
    with pytest.raises(ConfigError, match="data.augment.rotate: applies to image data"):
        A.from_config({"rotate": 5.0}, "series")


def test_config_section_defaults_are_off_and_values_are_checked():
    cfg = layerwise.ExperimentConfig.from_dict({"data": {"target": "y", "augment": {"rotate": 10}}})
    assert cfg.data.augment.model_dump() == {**A.OFF, "rotate": 10.0}
    assert layerwise.ExperimentConfig.from_dict({"data": {"target": "y"}}).data.augment is None
    with pytest.raises(ConfigError) as err:
        layerwise.ExperimentConfig.from_dict({"data": {"target": "y", "augment": {"flip": "sideways", "slice": 0}}})
    text = str(err.value)
    assert "data.augment.flip" in text and "data.augment.slice" in text


def test_numeric_columns_leave_one_hot_and_boolean_columns_alone():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "color": ["r", "g", "r", "b"], "flag": [True, False, True, True]})
    pre = Preprocessor({"a": "numeric", "color": "categorical", "flag": "boolean"}).fit(frame)
    assert A.numeric_columns(pre) == [name == "a" for name in pre.feature_names]
    assert len(pre.feature_names) == 5


# -- through Experiment ----------------------------------------------------------------------
def _digits(step: int = 6):
    data = load_digits()
    return data.images[::step].astype(np.float32)[:, None], data.target[::step]  # (300, 1, 8, 8)


def _series(n: int = 260) -> pd.DataFrame:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "day": pd.date_range("2020-01-01", periods=n, freq="D"),
            "y": 10 + np.sin(t / 6) + 0.1 * rng.standard_normal(n),
            "x": np.cos(t / 6),
        }
    )


@pytest.mark.parametrize(
    "data,augment,kind",
    [
        ("images", {"jitter": 0.1}, "series windows (task.type: forecast)"),
        ("series", {"rotate": 10}, "image data"),
        ("table", {"slice": 0.8}, "series windows"),
    ],
)
def test_experiment_refuses_a_transform_for_another_kind_of_data(data, augment, kind):
    key = next(iter(augment))
    if data == "images":
        cfg, source = {"data": {"augment": augment}}, _digits()
    elif data == "series":
        cfg = {"data": {"target": "y", "time": "day", "augment": augment}, "task": {"type": "forecast"}}
        source = _series()
    else:
        cfg, source = {"data": {"target": "y", "augment": augment}}, _series().drop(columns="day")
    with pytest.raises(ConfigError) as err:
        layerwise.Experiment(cfg, data=source).run()
    assert f"data.augment.{key}: applies to {kind}" in str(err.value)
    assert err.value.exit_code == 2


def test_image_run_with_augmentation_writes_metrics_and_predicts_the_test_split_unaugmented(tmp_path):
    images, labels = _digits()
    cfg = {
        "data": {"augment": {"shift": 0.25, "rotate": 30, "brightness": 0.5}},
        "model": {"type": "cnn2d", "channels": [8]},
        "train": QUICK,
        "evaluate": {"report": False},
    }
    result = layerwise.Experiment(cfg, data=(images, labels)).run(out=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["epochs"] == 2
    log = (tmp_path / "run" / "run.log").read_text()
    assert "augmentation (training split only): shift ±25%, rotate ±30°, brightness ±50%" in log
    # The test split's probabilities are the trained model's on the plain (normalized) images.
    pre = result.predictor.images
    test = pre.transform(images[_test_index(result, labels)])
    module = result.model.eval()
    with torch.no_grad():
        expected = torch.softmax(module(torch.from_numpy(test)), dim=1).numpy()
    table = pd.read_csv(tmp_path / "run" / "predictions.csv")
    written = table[[c for c in table.columns if c.startswith("proba_")]].to_numpy()
    assert np.allclose(written, expected, atol=1e-5)


def _test_index(result, labels) -> np.ndarray:
    """The test images' rows: the run's test_rows keep the order of the split's index."""
    from layerwise.data import split

    cfg = result.config
    parts = split(
        len(labels),
        method="stratified",
        train=cfg.data.split.train,
        val=cfg.data.split.val,
        test=cfg.data.split.test,
        y=labels.astype(str),
        seed=cfg.train.seed,
    )
    return parts.test


def test_series_run_with_augmentation_finishes_and_is_reproducible(tmp_path):
    cfg = {
        "data": {
            "target": "y",
            "time": "day",
            "window": {"lookback": 12},
            "augment": {"jitter": 0.05, "scale": 0.1, "slice": 0.8},
        },
        "task": {"type": "forecast"},
        "model": {"hidden": [8]},
        "train": QUICK,
        "evaluate": {"report": False},
    }
    first = layerwise.Experiment(cfg, data=_series()).run(out=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert math.isfinite(metrics["test"]["mae"]) and metrics["baseline_name"]
    assert (
        "augmentation (training split only): jitter std 0.05, scale std 0.1, slice 80-100% of the lookback"
        in (tmp_path / "run" / "run.log").read_text()
    )
    again = layerwise.Experiment(cfg, data=_series()).run()
    assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in first.history]
    plain = layerwise.Experiment({**cfg, "data": {**cfg["data"], "augment": None}}, data=_series()).run()
    assert plain.history[0]["train_loss"] != first.history[0]["train_loss"]  # augmentation was applied


def test_table_jitter_touches_numeric_columns_only_and_is_logged():
    frame = _series().drop(columns="day").assign(group=["a", "b"] * 130)
    cfg = {
        "data": {"target": "y", "augment": {"jitter": 0.1}},
        "model": {"hidden": [8]},
        "train": QUICK,
        "evaluate": {"report": False},
    }
    result = layerwise.Experiment(cfg, data=frame).run()
    assert "augmentation (training split only): jitter std 0.1" in result.log
    pre = result.predictor.features
    fn = A.from_config(result.config.data.augment.model_dump(), "table", columns=A.numeric_columns(pre))
    x = torch.from_numpy(pre.transform(frame[pre.feature_names[:1] + ["group"]]))  # (rows, features)
    out = fn(x, gen())
    numeric = torch.tensor([name == "x" for name in pre.feature_names])
    assert torch.equal(out[:, ~numeric], x[:, ~numeric]) and not torch.equal(out[:, numeric], x[:, numeric])
