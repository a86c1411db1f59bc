"""Pretrained backbone weights from a file vs random initial weights vs frozen features, on a small
image task: torchvision's resnet18 (model.type: backbone) through `layerwise run`, as a user runs it.

The task is benchmarks/image_tasks.py's 28x28 digits (noisy, turned, cluttered; test images from
source digits no training image shares). The weights are made here, never downloaded, as a user
with their own data would make them:

  1. pretrain: resnet18 from torchvision's initialization (model.weights: none) on every training
     image of classes 0-4; its bundle's body tensors are written as a torchvision state dict,
     `resnet18-digits04.safetensors` (the bundle's `body.` prefix dropped, the head left out);
  2. for each seed: PER_CLASS training images of each of classes 5-9 (drawn per seed), then three
     runs of the same architecture, epochs and optimizer:
       random      model.weights: none
       pretrained  model.weights: FILE (body frozen 1 epoch, then trained at 0.1 x train.lr)
       frozen      model.weights: FILE, freeze_epochs = epochs (only the head trains)
  3. each bundle is judged on the test folder's classes 5-9 (`layerwise evaluate`).

Run: `.venv/bin/python benchmarks/transfer_images.py [--seeds 3] [--per-class 30] [--epochs 15]`.
Prints accuracy per seed, mean +- std, the paired difference from random, seconds per run, and one
JSON line. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_tasks import write_task  # noqa: E402

VARIANTS = ("random", "pretrained", "frozen")
LAYERWISE = [sys.executable, "-m", "layerwise.cli"]


def layerwise(*args: str) -> None:
    done = subprocess.run([*LAYERWISE, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"layerwise {' '.join(args[:2])}: exit {done.returncode}: {done.stderr[-800:]}")


def config(path: Path, folder: Path, model: dict, epochs: int, seed: int, threads: int) -> Path:
    cfg = {
        "data": {"path": str(folder), "image": {"size": [28, 28], "mode": "grayscale"}},
        "task": {"type": "classification"},
        "model": {"type": "backbone", "name": "resnet18", **model},
        "train": {"optimizer": "adamw", "lr": 0.003, "batch_size": 32, "epochs": epochs, "patience": None},
        "evaluate": {"report": False, "bootstrap": 0},
    }
    cfg["train"].update(seed=seed, threads=threads)
    path.write_text(yaml.safe_dump(cfg))
    return path


def subset(source: Path, dest: Path, classes: range, per_class: int | None, seed: int) -> Path:
    """Class folders of `classes` from `source`, `per_class` files of each drawn with `seed` (all: None)."""
    rng = np.random.default_rng(seed)
    for label in classes:
        files = sorted((source / str(label)).glob("*.png"))
        chosen = files if per_class is None else [files[i] for i in rng.choice(len(files), per_class, replace=False)]
        (dest / str(label)).mkdir(parents=True)
        for f in chosen:
            shutil.copy(f, dest / str(label) / f.name)
    return dest


def accuracy(bundle: Path, folder: Path, out: Path) -> float:
    layerwise("evaluate", str(bundle), str(folder), "--out", str(out))
    return float(json.loads((out / "metrics.json").read_text())["test"]["accuracy"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=30, help="training images of each of classes 5-9")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="keep the folders here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="transfer-images-"))
    task = write_task(work / "digits28")
    test = subset(task["test"], work / "test59", range(5, 10), None, 0)

    started = time.perf_counter()
    source = subset(task["train"], work / "train04", range(5), None, 0)
    pre = config(work / "pretrain.yaml", source, {"weights": "none"}, args.pretrain_epochs, 0, args.threads)
    layerwise("run", str(pre), "--out", str(work / "pretrain"))
    state = load_file(str(work / "pretrain" / "bundle" / "model.safetensors"))
    weights = work / "resnet18-digits04.safetensors"
    save_file({k.removeprefix("body."): v for k, v in state.items() if k.startswith("body.")}, str(weights))
    pretrain_s = time.perf_counter() - started
    print(f"pretrained resnet18 on classes 0-4 ({sum(1 for _ in source.rglob('*.png'))} images) in {pretrain_s:.0f}s")

    models = {
        "random": {"weights": "none"},
        "pretrained": {"weights": str(weights)},
        "frozen": {"weights": str(weights), "freeze_epochs": args.epochs},
    }
    scores: dict[str, list[float]] = {v: [] for v in VARIANTS}
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for seed in range(args.seeds):
        train = subset(task["train"], work / f"train59-{seed}", range(5, 10), args.per_class, seed)
        for name in VARIANTS:
            clock = time.perf_counter()
            cfg = config(work / f"{name}-{seed}.yaml", train, models[name], args.epochs, seed, args.threads)
            layerwise("run", str(cfg), "--out", str(work / f"{name}-{seed}"))
            seconds[name].append(time.perf_counter() - clock)
            scores[name].append(accuracy(work / f"{name}-{seed}" / "bundle", test, work / f"{name}-{seed}-eval"))
            print(f"seed {seed} {name:10s} test accuracy {scores[name][-1]:.3f} ({seconds[name][-1]:.0f}s)", flush=True)

    print(f"\n{args.per_class} training images per class of 5-9, {args.epochs} epochs, {args.seeds} seeds")
    print(f"{'variant':12s} {'accuracy':>16s} {'minus random':>16s} {'s/run':>6s}")
    random = np.array(scores["random"])
    for name in VARIANTS:
        a = np.array(scores[name])
        diff = a - random
        print(
            f"{name:12s} {a.mean():8.3f} +- {a.std():.3f} {diff.mean():+8.3f} +- {diff.std():.3f} "
            f"{np.mean(seconds[name]):6.0f}"
        )
    print(
        json.dumps(
            {"scores": scores, "seconds": seconds, "pretrain_seconds": pretrain_s, "args": vars(args)}, default=str
        )
    )


if __name__ == "__main__":
    main()
