"""Image sources: class folders through Pillow, NumPy arrays, and the fitted pixel normalization."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits

import layerwise
from layerwise import bundle
from layerwise.data.images import ImagePreprocessor, image_array, is_image_folder, read_image_folder
from layerwise.errors import ConfigError, DataError


def _save(path, array, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode=mode).save(path)


def test_a_folder_of_class_folders_is_read_resized_and_logged(tmp_path):
    rng = np.random.default_rng(0)
    _save(tmp_path / "a" / "1.png", rng.integers(0, 256, (8, 8)))
    _save(tmp_path / "a" / "2.jpg", rng.integers(0, 256, (8, 8)))
    _save(tmp_path / "b" / "1.png", rng.integers(0, 256, (20, 12)))  # another size: resized
    _save(tmp_path / "b" / "2.png", rng.integers(0, 256, (8, 8, 3)), mode="RGB")
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    (tmp_path / "b" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    assert is_image_folder(tmp_path) and not is_image_folder(tmp_path / "a" / "1.png")
    images = read_image_folder(tmp_path, max_corrupt=0.5)
    assert images.images.shape == (4, 3, 8, 8) and images.mode == "rgb"  # colour seen: auto -> rgb
    assert images.images.dtype == np.float32 and 0 <= images.images.min() and images.images.max() <= 1
    assert images.labels.tolist() == ["a", "a", "b", "b"]
    assert images.files == ["a/1.png", "a/2.jpg", "b/1.png", "b/2.png"]
    rules = {e["rule"]: e["count"] for e in images.log.entries}
    assert rules == {"not_an_image": 1, "corrupt_image": 1, "resized": 1}
    assert (images.log.rows_in, images.log.rows_out) == (5, 4)
    gray = read_image_folder(tmp_path, size=[4, 6], mode="grayscale", max_corrupt=0.5)
    assert gray.images.shape == (4, 1, 4, 6)
    with pytest.raises(DataError, match=r"1 of 5 image files \(20.0%\) cannot be read: b/3.png"):
        read_image_folder(tmp_path)


def test_fewer_than_two_classes_or_an_empty_class_is_refused(tmp_path):
    _save(tmp_path / "only" / "1.png", np.zeros((4, 4)))
    with pytest.raises(DataError, match="at least 2"):
        read_image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="class folder 'empty' holds no image files"):
        read_image_folder(tmp_path)


def test_numpy_arrays_are_checked_and_scaled():
    x = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    images = image_array(x, ["a", "b"])
    assert images.images.shape == (2, 1, 3, 3) and images.scale == 255.0
    np.testing.assert_allclose(images.images[1, 0, 0, 0], 9 / 255)
    assert image_array(np.zeros((2, 3, 4, 4)), [0, 1]).mode == "rgb"
    with pytest.raises(DataError, match="2 images but 3 labels"):
        image_array(x, [0, 1, 2])
    with pytest.raises(DataError, match=r"expected \(n, height, width\)"):
        image_array(np.zeros((2, 3)), [0, 1])
    with pytest.raises(DataError, match="NaN or infinite"):
        image_array(np.full((2, 3, 3), np.nan), [0, 1])


def test_normalization_is_per_channel_and_round_trips_as_json():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 2, (50, 4, 4)), rng.normal(-1, 0.5, (50, 4, 4))], axis=1).astype(np.float32)
    pre = ImagePreprocessor(size=[4, 4], mode="rgb", channels=2).fit(x)
    z = pre.transform(x)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-3)
    again = ImagePreprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(again.transform(x), z)
    with pytest.raises(DataError, match=r"the model reads \(2, 4, 4\)"):
        pre.transform(x[:, :1])


def test_numpy_digits_train_and_the_bundle_predicts_identically(tmp_path):
    data = load_digits()
    keep = np.concatenate([np.flatnonzero(data.target == c)[:40] for c in range(10)])
    images, labels = (data.images[keep] * 255 / 16).astype(np.uint8), data.target[keep]  # (400, 8, 8)
    cfg = {
        "data": {"split": {"train": 0.6, "val": 0.2, "test": 0.2}},
        "model": {"type": "cnn2d", "channels": [8, 16]},
        "train": {"epochs": 8, "lr": 0.003},
        "evaluate": {"bootstrap": 100, "report": False},
    }
    result = layerwise.Experiment(cfg, data=(images, labels)).run(out=tmp_path / "run")
    assert result.beats_baseline and result.metrics["test"]["accuracy"] > 0.7
    assert result.metrics["rows"] == {"train": 240, "val": 80, "test": 80}
    # stratified: eight of each class in the test split
    assert (pd.read_csv(tmp_path / "run" / "predictions.csv")["actual"].value_counts() == 8).all()
    loaded = bundle.load(result.bundle_path)
    pd.testing.assert_frame_equal(loaded.predict_images(images[:50]), result.predictor.predict_images(images[:50]))
    with pytest.raises(DataError, match="predicts images, not rows"):
        loaded.predict(pd.DataFrame({"x": [1]}))


def test_a_regression_task_on_images_is_a_config_error():
    with pytest.raises(ConfigError, match="images are classified"):
        layerwise.Experiment(
            {"data": {"target": "y"}, "task": {"type": "regression"}}, data=(np.zeros((4, 3, 3)), [0, 1, 0, 1])
        ).run()
