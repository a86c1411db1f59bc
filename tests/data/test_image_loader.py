"""Images left on disk (data.image.lazy) and the DataLoader that feeds training from them.

What a user relies on: a lazy run reads the same images, fits the same normalization and trains
on the same batches as the in-memory run of the same seed; corrupt files are skipped and counted
either way; per-image augmentation is drawn per (seed, epoch, image) whatever the number of
workers, so a resumed run ends bit-identical; auto chooses by the decoded size and says so."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import layerwise
from layerwise import bundle
from layerwise.data.image_loader import image_feed, permutation
from layerwise.data.images import (
    FilePixels,
    ImagePreprocessor,
    LazyImages,
    holding,
    list_image_table,
    read_image_folder,
    read_listing,
)
from layerwise.errors import ConfigError, DataError


def _folder(root, per_class=12, size=10, truncated=False):
    """Three classes of RGB pictures (a bright square in a class's corner, on noise), PNG and JPEG."""
    rng = np.random.default_rng(0)
    corners = {"a": (0, 0), "b": (0, size // 2), "c": (size // 2, 0)}
    for name, (r, c) in corners.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3))
            pixels[r : r + size // 2, c : c + size // 2] += 150
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    if truncated:  # a header Pillow reads, pixels it cannot: found only by decoding
        whole = (root / "a" / "0.jpg").read_bytes()
        (root / "a" / "broken.jpg").write_bytes(whole[: len(whole) // 3])
    return root


def _config(path, **changes):
    cfg = {
        "data": {"path": None if path is None else str(path), "image": {"lazy": False}},
        "model": {"type": "cnn2d", "channels": [4], "dropout": 0.1},
        "train": {"epochs": 3, "batch_size": 8, "lr": 0.01, "seed": 3, "threads": 1},
        "evaluate": {"data_curve": False, "report": False, "bootstrap": 50},
    }
    for key, value in changes.items():
        section, name = key.split("__")
        cfg[section] = {**cfg[section], name: value}
    return cfg


def test_lazy_reading_finds_the_same_images_files_and_statistics(tmp_path):
    folder = _folder(tmp_path / "pics", truncated=True)
    held = read_image_folder(folder, max_corrupt=0.1)
    lazy = read_image_folder(folder, max_corrupt=0.1, lazy=True, workers=2)
    assert isinstance(lazy.images, FilePixels) and lazy.lazy and not held.lazy
    assert lazy.images.shape == held.images.shape == (36, 3, 10, 10)
    assert lazy.files == held.files and lazy.labels.tolist() == held.labels.tolist()
    # the truncated file is found before training either way: skipped and counted alike
    assert lazy.log.to_dict() == held.log.to_dict()
    assert {e["rule"]: e["count"] for e in lazy.log.entries} == {"corrupt_image": 1}
    assert "a/broken.jpg" in lazy.log.entries[0]["detail"]
    rows = np.arange(0, 36, 2)
    for normalize in ("standard", "minmax"):
        exact = ImagePreprocessor([10, 10], "rgb", 3, normalize=normalize).fit(held.images[rows])
        summed = ImagePreprocessor([10, 10], "rgb", 3, normalize=normalize).fit(None, stats=lazy.stats[rows])
        np.testing.assert_allclose(summed.shift, exact.shift, rtol=1e-12)
        np.testing.assert_allclose(summed.divide, exact.divide, rtol=1e-10)
    pixels = held.images[rows].astype(np.float64)  # numpy's own, over every pixel at once
    standard = ImagePreprocessor([10, 10], "rgb", 3).fit(None, stats=lazy.stats[rows])
    np.testing.assert_allclose(standard.shift, pixels.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(standard.divide, pixels.std(axis=(0, 2, 3)), rtol=1e-10)
    pre = ImagePreprocessor([10, 10], "rgb", 3).fit(held.images)
    inputs = LazyImages(lazy.images, pre)
    assert np.array_equal(inputs[[3, 0, 7]], pre.transform(held.images[[3, 0, 7]]))
    assert np.array_equal(inputs.take(np.array([5, 9]))[0:2], pre.transform(held.images[[5, 9]]))
    assert np.array_equal(inputs[4], pre.transform(held.images[4:5])[0])


def test_a_file_changed_during_a_lazy_run_is_a_data_error_naming_it(tmp_path):
    folder = _folder(tmp_path / "pics", per_class=3)
    lazy = read_image_folder(folder, lazy=True)
    lazy.images.paths[0].write_bytes(b"not an image any more")
    with pytest.raises(DataError, match=r"a/0.jpg: cannot be read as an image now .* when the run began"):
        lazy.images[0]


def test_auto_holds_images_in_memory_within_the_budget_and_reads_them_lazily_beyond():
    where, why = holding("auto", 1000, 3, (32, 32), memory_mb=100)
    assert where == "memory" and "1,000 images of 3x32x32 take 26 MB in memory" in why and "within 100 MB" in why
    where, why = holding("auto", 100_000, 3, (128, 128), memory_mb=4096)
    assert where == "lazy" and "more than 4,096 MB (data.image.memory_mb)" in why and "from disk" in why
    where, why = holding("auto", 10, 1, (8, 8), memory_mb=None)
    assert where == "memory" and "half the memory available" in why
    assert holding(True, 10, 1, (8, 8), None)[0] == "lazy" and holding(False, 10**9, 3, (99, 99), 1)[0] == "memory"


def test_the_loader_gives_the_in_memory_batches_for_the_seed_with_any_number_of_workers(tmp_path):
    lazy = read_image_folder(_folder(tmp_path / "pics"), lazy=True)
    held = read_image_folder(tmp_path / "pics")
    pre = ImagePreprocessor([10, 10], "rgb", 3).fit(held.images)
    memory = pre.transform(held.images)
    y = np.arange(36) % 3
    order = torch.Generator().manual_seed(5)  # what Trainer.fit draws on the CPU, epoch by epoch
    expected = {epoch: torch.randperm(36, generator=order) for epoch in (1, 2)}
    for epoch in (1, 2):
        assert torch.equal(permutation(36, 5, epoch), expected[epoch])
    for workers in (0, 2):
        x = {"train": LazyImages(lazy.images, pre), "val": LazyImages(lazy.images.take(np.arange(5)), pre)}
        feed = image_feed(
            x, {"train": y, "val": y[:5]}, batch_size=8, seed=5, augment=None, shift=pre.shift,
            divide=pre.divide, workers=workers,
        )  # fmt: skip
        for epoch in (1, 2):
            batches = list(feed.train(epoch))
            assert [len(b[0]) for b in batches] == [8, 8, 8, 8, 4]
            rows = expected[epoch].numpy()
            assert torch.equal(torch.cat([b[0] for b in batches]), torch.from_numpy(memory[rows]))
            assert torch.equal(torch.cat([b[1] for b in batches]), torch.from_numpy(y[rows]))
        (val_x, val_y), *more = list(feed.val())
        assert not more and torch.equal(val_x, torch.from_numpy(memory[:5]))


def test_per_image_augmentation_is_drawn_per_seed_epoch_and_image_whatever_the_workers(tmp_path):
    lazy = read_image_folder(_folder(tmp_path / "pics"), lazy=True)
    pre = ImagePreprocessor([10, 10], "rgb", 3).fit(None, stats=lazy.stats)
    y = np.arange(36) % 3
    augment = {"crop": 0.5, "color": 0.3, "policy": "trivialaugment"}

    def epochs(workers: int, seed: int = 5) -> list[torch.Tensor]:
        x = {"train": LazyImages(lazy.images, pre), "val": LazyImages(lazy.images.take(np.arange(4)), pre)}
        feed = image_feed(
            x, {"train": y, "val": y[:4]}, batch_size=8, seed=seed, augment=augment, shift=pre.shift,
            divide=pre.divide, workers=workers,
        )  # fmt: skip
        val = next(iter(feed.val()))[0]
        assert torch.equal(val, torch.from_numpy(LazyImages(lazy.images, pre)[:4]))  # never augmented
        return [torch.cat([b[0] for b in feed.train(e)]) for e in (1, 2)]

    alone, shared = epochs(0), epochs(2)
    assert all(torch.equal(a, b) for a, b in zip(alone, shared))
    plain = torch.from_numpy(LazyImages(lazy.images, pre)[permutation(36, 5, 1).numpy()])
    assert not torch.equal(alone[0], plain) and alone[0].shape == plain.shape
    assert not torch.equal(epochs(0, seed=6)[0], alone[0])
    state = torch.get_rng_state()
    epochs(0)
    assert torch.equal(torch.get_rng_state(), state)  # decoding in this process leaves its generator alone


def test_a_lazy_run_trains_as_the_in_memory_run_and_its_bundle_predicts(tmp_path):
    folder = _folder(tmp_path / "pics")
    held = layerwise.Experiment(_config(folder)).run(tmp_path / "held")
    lazy = layerwise.Experiment(_config(folder, data__image={"lazy": True, "workers": 1})).run(tmp_path / "lazy")
    log = (tmp_path / "lazy" / "run.log").read_text()
    assert "read from disk as training goes (data.image.lazy: true)" in log
    assert "training: images read from disk by a DataLoader with 1 worker process(es)" in log
    assert "decoded into memory (data.image.lazy: false)" in (tmp_path / "held" / "run.log").read_text()
    for a, b in zip(held.history, lazy.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    assert lazy.metrics["test"] == pytest.approx(held.metrics["test"], rel=1e-4)
    assert lazy.metrics["cleaning"] == held.metrics["cleaning"]
    predicted = bundle.load(tmp_path / "lazy" / "bundle").predict_images(folder / "b")
    table = pd.read_csv(tmp_path / "lazy" / "predictions.csv")
    mine = table[table["file"].str.startswith("b/")]
    by_file = predicted.set_index(predicted["file"].map(lambda f: "b/" + f.rsplit("/", 1)[1]))
    assert (by_file.loc[mine["file"], "prediction"].to_numpy() == mine["prediction"].to_numpy()).all()


def test_a_lazy_run_with_per_image_augmentation_resumes_bit_identically(tmp_path):
    folder = _folder(tmp_path / "pics")
    image = {"lazy": True, "workers": 1}
    augment = {"crop": 0.6, "color": 0.2, "shift": 0.1, "mixup": 0.4, "cutmix": 1.0}
    whole = _config(folder, data__image=image, data__augment=augment, train__epochs=3)
    layerwise.Experiment(whole).run(tmp_path / "whole")
    layerwise.Experiment({**whole, "train": {**whole["train"], "epochs": 2}}).run(tmp_path / "parts")
    resumed = layerwise.Experiment(whole).run(tmp_path / "parts", resume=True, allow_changed=("train.epochs",))
    assert resumed.metrics["resumed"]["epochs"] == 2
    log = (tmp_path / "whole" / "run.log").read_text()
    assert "per-image augmentation in the workers" in log and "random crops of 60-100% of the area" in log
    assert "mixup Beta(0.4, 0.4), cutmix Beta(1, 1)" in log
    a = bundle.load(tmp_path / "whole" / "bundle").module.state_dict()
    b = bundle.load(tmp_path / "parts" / "bundle").module.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_in_memory_images_take_per_image_augmentation_through_the_loader(tmp_path):
    folder = _folder(tmp_path / "pics")
    cfg = _config(folder, data__augment={"policy": "randaugment"})
    first = layerwise.Experiment(cfg).run(tmp_path / "one")
    again = layerwise.Experiment(cfg).run(tmp_path / "two")
    log = (tmp_path / "one" / "run.log").read_text()
    assert "images read from memory by a DataLoader with the training process" in log
    assert [r["train_loss"] for r in first.history] == [r["train_loss"] for r in again.history]
    plain = layerwise.Experiment(_config(folder)).run()
    assert [r["train_loss"] for r in plain.history] != [r["train_loss"] for r in first.history]
    with pytest.raises(DataError, match=r"pixels range over \[0.00057, 3\]; data.augment crop, color and policy"):
        x = np.random.default_rng(0).uniform(0, 3, (30, 8, 8)).astype(np.float32)
        layerwise.Experiment(cfg, data=(x, np.arange(30) % 2)).run()


def test_a_table_lists_image_files_relative_to_itself(tmp_path):
    folder = _folder(tmp_path / "pics", per_class=6)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in folder.rglob("*.*"))
    rows = [{"image": f, "kind": f.split("/")[1]} for f in files]
    rows += [{"image": "pics/a/missing.png", "kind": "a"}, {"image": None, "kind": "b"}]
    table = tmp_path / "list.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    listing = list_image_table(table, "image", "kind")
    assert len(listing.paths) == 19 and listing.log.count("missing_target") == 1
    found = read_listing(listing, max_corrupt=0.1, lazy=True)
    assert found.images.shape == (18, 3, 10, 10) and found.files[0] == "pics/a/0.jpg"
    assert found.log.count("corrupt_image") == 1 and "pics/a/missing.png" in found.log.entries[-1]["detail"]
    cfg = _config(table, data__image={"files": "image", "lazy": True, "workers": 0, "max_corrupt": 0.1})
    cfg["data"]["target"] = "kind"
    result = layerwise.Experiment(cfg).run(tmp_path / "run")
    assert result.metrics["rows"] == {"train": 12, "val": 3, "test": 3}
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["cleaning"]["rows_out"] == 18
    with pytest.raises(DataError, match="data.image.files: no column 'path'"):
        list_image_table(table, "path", "kind")
    with pytest.raises(DataError, match="data.target is missing"):
        list_image_table(table, "image", None)


def test_settings_a_run_cannot_honour_are_refused(tmp_path):
    folder = _folder(tmp_path / "pics", per_class=3)
    cfg = _config(folder, data__image={"files": "path"})
    with pytest.raises(ConfigError, match="data.image.files: names the column of a CSV or Parquet data.path"):
        layerwise.Experiment(cfg).run()
    x = np.zeros((20, 8, 8), dtype=np.uint8)
    with pytest.raises(
        ConfigError, match="data.image.lazy: says how image files are read; images passed as data= are in memory"
    ):
        layerwise.Experiment(_config(None, data__image={"lazy": True}), data=(x, np.arange(20) % 2)).run()


def test_channels_last_trains_as_the_usual_layout_and_the_bundle_is_saved_in_it(tmp_path):
    folder = _folder(tmp_path / "pics")
    usual = layerwise.Experiment(_config(folder, train__channels_last=False)).run(tmp_path / "usual")
    last = layerwise.Experiment(_config(folder, train__channels_last=True)).run(tmp_path / "last")
    for a, b in zip(usual.history, last.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    weights = bundle.load(tmp_path / "last" / "bundle").module.state_dict()
    assert all(w.is_contiguous() for w in weights.values())
    assert last.metrics["test"] == pytest.approx(usual.metrics["test"], rel=1e-3)


def test_mixup_and_cutmix_blend_images_and_labels_by_the_same_share():
    from layerwise.data.augment import mixer

    x = torch.arange(6, dtype=torch.float32).repeat_interleave(64).reshape(6, 1, 8, 8)  # image i: every pixel i
    y = torch.arange(6)  # image i is class i: a blended label names both images and their shares
    mixed_x, mixed_y = mixer({"mixup": 0.4}, 6)(x, y, torch.Generator().manual_seed(0))
    assert mixed_y.shape == (6, 6) and torch.allclose(mixed_y.sum(dim=1), torch.ones(6))
    for i in range(6):
        share = float(mixed_y[i, i])
        partner = [k for k in range(6) if k != i and mixed_y[i, k] > 0]
        expected = i if not partner else share * i + (1 - share) * partner[0]
        assert len(partner) <= 1 and torch.allclose(mixed_x[i], torch.full((1, 8, 8), float(expected)))
    cut_x, cut_y = mixer({"cutmix": 1.0}, 6)(x, y, torch.Generator().manual_seed(1))
    pasted = 0
    for i in range(6):
        own = float((cut_x[i] == i).float().mean())  # the share of its own pixels left
        others = cut_x[i][cut_x[i] != i].unique().tolist()
        assert len(others) <= 1 and cut_y[i, i].item() == pytest.approx(own)
        if others:
            pasted += 1
            assert cut_y[i, int(others[0])].item() == pytest.approx(1 - own)
    assert pasted > 0
    again = mixer({"cutmix": 1.0}, 6)(x, y, torch.Generator().manual_seed(1))
    assert torch.equal(again[0], cut_x) and torch.equal(again[1], cut_y)  # the generator decides it all
    binary = mixer({"mixup": 0.4}, 2)(x, torch.tensor([[0.0], [1.0]] * 3), torch.Generator().manual_seed(0))[1]
    assert binary.shape == (6, 1) and bool(((binary >= 0) & (binary <= 1)).all())


def test_mixup_trains_in_memory_runs_of_two_classes_and_many(tmp_path):
    folder = _folder(tmp_path / "pics")
    many = layerwise.Experiment(_config(folder, data__augment={"mixup": 0.2, "cutmix": 1.0})).run(tmp_path / "many")
    assert "mixup Beta(0.2, 0.2), cutmix Beta(1, 1)" in (tmp_path / "many" / "run.log").read_text()
    x = np.random.default_rng(0).integers(0, 256, (40, 8, 8)).astype(np.uint8)
    two = layerwise.Experiment(_config(None, data__augment={"mixup": 0.2}), data=(x, np.arange(40) % 2)).run()
    for result in (many, two):
        assert all(np.isfinite(row["train_loss"]) for row in result.history)


def test_keys_added_for_images_leave_an_older_checkpoints_fingerprint_as_it_was():
    from layerwise.config import ExperimentConfig
    from layerwise.experiment import fingerprint

    before = {  # what a checkpoint of an image run made before these keys existed compared
        "data": {"image": {"size": [8, 8], "mode": "rgb", "max_corrupt": 0.05}, "augment": {"shift": 0.1}},
        "train": {"epochs": 3},
    }
    found = fingerprint(ExperimentConfig.from_dict({**before, "data": {"path": "pics", **before["data"]}}), "d")
    assert set(found["data"]["image"]) == {"size", "mode", "max_corrupt"}
    assert "crop" not in found["data"]["augment"] and "mixup" not in found["data"]["augment"]
    assert "channels_last" not in found["train"]
    # which processes decode them, and how the memory budget is set, are not compared; where the
    # images are held is (as `data.held` and the digest), since a checkpoint's state belongs to one path
    held = {"image": {"lazy": True, "workers": 3}, "augment": {"crop": 0.5}}
    changed = fingerprint(ExperimentConfig.from_dict({"data": {"path": "pics", **held}}), "d")
    assert "lazy" not in changed["data"]["image"] and changed["data"]["augment"]["crop"] == 0.5


def test_a_file_unreadable_in_a_worker_is_the_data_error_with_its_hint(tmp_path):
    lazy = read_image_folder(_folder(tmp_path / "pics", per_class=4), lazy=True)
    pre = ImagePreprocessor([10, 10], "rgb", 3).fit(None, stats=lazy.stats)
    y = np.arange(12) % 3
    x = {"train": LazyImages(lazy.images, pre), "val": LazyImages(lazy.images.take(np.arange(2)), pre)}
    feed = image_feed(
        x, {"train": y, "val": y[:2]}, batch_size=4, seed=0, augment=None, shift=pre.shift, divide=pre.divide,
        workers=1,
    )  # fmt: skip
    lazy.images.paths[5].write_bytes(b"gone")
    with pytest.raises(DataError, match=r"cannot be read as an image now") as caught:
        list(feed.train(1))
    assert caught.value.hint.startswith("the file changed during the run") and "Traceback" not in str(caught.value)


def test_under_torchrun_a_dataloader_feed_is_refused_before_any_image_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr("layerwise.training.distributed.world_size", lambda: 2)
    folder = tmp_path / "pics"  # never read: the refusal comes first
    for changes in ({"data__image": {"lazy": True}}, {"data__augment": {"policy": "randaugment"}}):
        with pytest.raises(ConfigError, match="train in one process; this run was started under torchrun"):
            layerwise.Experiment(_config(folder, **changes)).run()


def test_a_resume_holds_the_images_where_the_checkpoint_did(tmp_path):
    folder = _folder(tmp_path / "pics", per_class=6)
    lazy = _config(folder, data__image={"lazy": True, "workers": 0}, train__epochs=1)
    layerwise.Experiment(lazy).run(tmp_path / "run")
    held = _config(folder, data__image={"lazy": False}, train__epochs=2)
    with pytest.raises(ConfigError, match="data.held"):
        layerwise.Experiment(held).run(tmp_path / "run", resume=True, allow_changed=("train.epochs",))
