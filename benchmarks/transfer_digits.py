"""Transfer learning on digits: a body trained on classes 0-4 beats random initial weights
when fine-tuning on classes 5-9 from 20 examples per class.

scikit-learn's bundled 8x8 digits; a fixed stratified 20% test split (random_state 0) is
held out first and never trained on. Everything goes through the public path, an
Experiment on NumPy images with `model.init` in its config:

  1. pretrain: cnn2d on the training part's classes 0-4 (its own 10% validation split,
     early stopping), written as a run folder with its bundle;
  2. for each of 5 seeds: draw 20 training images per class of 5-9 (plus 1 per class that
     the Experiment's own test split takes, so exactly 20 per class are trained on) and
     fine-tune the same architecture, same epochs and optimizer, four ways:
       random      model.init: auto (He for the ReLU convs)
       pretrained  model.init: {from: BUNDLE}: the body loaded, a new 5-class head (at zero)
       frozen      model.init: {from: BUNDLE, freeze: [stages]}: only the head trains
       unfrozen    model.init: {from: BUNDLE, freeze: [stages], unfreeze_after: E/2}
  3. each is scored on the same held-out test images of classes 5-9 (predict_images).

Run: `.venv/bin/python benchmarks/transfer_digits.py [--epochs 20] [--seeds 5] [--threads 2]`.
Prints a table: accuracy mean +- std over the seeds and seconds per fine-tuning run, each
variant's paired difference from random (same seed, same images), and one JSON line with
the same figures. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from layerwise import Experiment

PER_CLASS = 20
MODEL = {"type": "cnn2d", "channels": [16, 32]}
EVALUATE = {"report": False, "bootstrap": 0, "leakage": False}


def split_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, x_test, y_train, y_test): images (n, 8, 8), pixel values 0..16."""
    data = load_digits()
    return train_test_split(
        data.images.astype(np.float32), data.target, test_size=0.2, stratify=data.target, random_state=0
    )


def pretrain(x: np.ndarray, y: np.ndarray, out: Path, threads) -> tuple[Path, float]:
    cfg = {
        "data": {"image": {}, "split": {"train": 0.8, "val": 0.1, "test": 0.1}},
        "model": MODEL,
        "train": {"epochs": 30, "patience": 5, "lr": 3e-3, "batch_size": 64, "seed": 0, "threads": threads},
        "evaluate": EVALUATE,
    }
    result = Experiment(cfg, data=(x, y)).run(out)
    return out / "bundle", result.metrics["test"]["accuracy"]


def fine_tune(init, x, y, x_test, y_test, *, epochs: int, seed: int, threads) -> tuple[float, float, int]:
    """(test accuracy on the held-out images, seconds, training images used)."""
    n = len(y)
    cfg = {
        "data": {"image": {}, "split": {"method": "stratified", "train": 1 - 5 / n, "val": 0.0, "test": 5 / n}},
        "model": {**MODEL, "init": init},
        "train": {"epochs": epochs, "patience": None, "lr": 3e-3, "batch_size": 16, "seed": seed, "threads": threads},
        "evaluate": EVALUATE,
    }
    start = time.perf_counter()
    result = Experiment(cfg, data=(x, y)).run()
    seconds = time.perf_counter() - start
    predicted = result.predictor.predict_images(x_test)["prediction"].astype(int).to_numpy()
    return float((predicted == y_test).mean()), seconds, result.metrics["rows"]["train"]


def sample(x, y, classes, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    return x[rows], y[rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="fine-tuning epochs, the same for every variant")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", default="auto", help="'auto' or a count")
    args = parser.parse_args()
    threads = args.threads if args.threads == "auto" else int(args.threads)

    x_train, x_test, y_train, y_test = split_digits()
    old, new = y_train < 5, y_test >= 5
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        bundle, old_accuracy = pretrain(x_train[old], y_train[old], Path(tmp) / "pretrain", threads)
        pretrain_seconds = time.perf_counter() - started
        variants = {
            "random": "auto",
            "pretrained": {"from": str(bundle)},
            "frozen": {"from": str(bundle), "freeze": ["stages"]},
            "unfrozen": {"from": str(bundle), "freeze": ["stages"], "unfreeze_after": args.epochs // 2},
        }
        scores = {name: [] for name in variants}
        seconds = {name: [] for name in variants}
        used = set()
        for seed in range(args.seeds):
            x, y = sample(x_train, y_train, range(5, 10), PER_CLASS + 1, seed)
            for name, init in variants.items():
                accuracy, s, rows = fine_tune(
                    init, x, y, x_test[new], y_test[new], epochs=args.epochs, seed=seed, threads=threads
                )
                scores[name].append(accuracy)
                seconds[name].append(s)
                used.add(rows)

    print(f"pretrain on digits 0-4: {old.sum()} images, test accuracy {old_accuracy:.4f}, {pretrain_seconds:.1f}s")
    print(
        f"fine-tune on digits 5-9: {sorted(used)} training images ({PER_CLASS} per class), {args.epochs} epochs, "
        f"{args.seeds} seeds; scored on the same {new.sum()} held-out test images"
    )
    print(f"{'init':<12}{'accuracy mean':>14}{'std':>8}{'min':>8}{'max':>8}{'seconds/run':>13}")
    for name in variants:
        a = np.array(scores[name])
        print(
            f"{name:<12}{a.mean():>14.4f}{a.std(ddof=1) if len(a) > 1 else 0.0:>8.4f}{a.min():>8.4f}"
            f"{a.max():>8.4f}{np.mean(seconds[name]):>13.2f}"
        )
    base = np.array(scores["random"])
    for name in [v for v in variants if v != "random"]:
        diff = np.array(scores[name]) - base  # paired: same seed, same 20 images per class
        print(
            f"{name} - random, paired by seed: mean {diff.mean():+.4f}, better in {(diff > 0).sum()}, "
            f"equal in {(diff == 0).sum()}, worse in {(diff < 0).sum()} of {len(diff)}"
        )
    print(
        json.dumps(
            {
                "benchmark": "transfer_digits",
                "epochs": args.epochs,
                "seeds": args.seeds,
                "per_class": PER_CLASS,
                "test": int(new.sum()),
                "pretrain_accuracy_0_4": round(old_accuracy, 4),
                "accuracy": {k: [round(v, 4) for v in vs] for k, vs in scores.items()},
                "mean": {k: round(float(np.mean(vs)), 4) for k, vs in scores.items()},
                "std": {k: round(float(np.std(vs, ddof=1)) if len(vs) > 1 else 0.0, 4) for k, vs in scores.items()},
                "seconds": {k: round(float(np.mean(vs)), 2) for k, vs in seconds.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
