"""`layerwise init`'s defaults for image folders, today's against the ones before issue 16, on two tasks.

  digits8    scikit-learn's 1,797 real 8x8 digits as PNG class folders: a stratified 70% as the
             folder a run reads (its own 70/15/15 split), the other 30% as a held-out test folder
  digits28   benchmarks/image_tasks.py: 28x28 digits, turned, moved, cluttered and noisy; 4,286
             images to read (3,000 trained on) and a test folder of 1,000 from other source digits

For each task and seed, through the CLI as a user runs it:
  before  the config `init` wrote before issue 16 (cnn2d [32, 64] conv-norm-relu-pool stages,
          dropout 0.1, AdamW 3e-3, batch 64, 30 epochs, patience 5, no augmentation)
  after   whatever `layerwise init FOLDER` writes today
then `layerwise run CONFIG --set train.seed=SEED` and `layerwise evaluate BUNDLE TEST_FOLDER`:
accuracy on the held-out folder, and the run's training seconds.

Run: `.venv/bin/python benchmarks/image_defaults.py [--tasks digits8,digits28] [--seeds 3]`.
Prints a table (mean +- std over seeds, the paired difference) and one JSON line. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_tasks import write_task  # noqa: E402

LAYERWISE = [sys.executable, "-m", "layerwise.cli"]


def layerwise(*args: str) -> None:
    done = subprocess.run([*LAYERWISE, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"layerwise {' '.join(args[:2])}: exit {done.returncode}: {done.stderr[-800:]}")


def digits8(root: Path) -> dict[str, Path]:
    folders = {"train": root / "train", "test": root / "test"}
    if all(f.is_dir() for f in folders.values()):
        return folders
    data = load_digits()
    parts = train_test_split(np.arange(len(data.target)), test_size=0.3, stratify=data.target, random_state=0)
    for name, rows in zip(("train", "test"), parts):
        for i in rows:
            folder = folders[name] / str(data.target[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray((data.images[i] * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
    return folders


TASKS = {"digits8": digits8, "digits28": write_task}


def before(after: Path, out: Path) -> Path:
    """The config `init` wrote before issue 16, for the same folder (its data section kept)."""
    cfg = yaml.safe_load(after.read_text())
    h, w = cfg["data"]["image"]["size"]
    cfg["data"].pop("augment", None)
    cfg["model"] = {
        "type": "cnn2d",
        "channels": [32, 64] if min(h, w) >= 4 else [32],
        "kernel_size": 3,
        "dropout": 0.1,
        "init": "auto",
    }
    cfg["train"] = {"optimizer": "adamw", "lr": 0.003, "batch_size": 64, "epochs": 30, "patience": 5, "seed": 0}
    out.write_text(yaml.safe_dump(cfg))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="digits8,digits28")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="keep the folders here (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="image-defaults-"))
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for task in args.tasks.split(","):
        folders = TASKS[task](work / task)
        after = work / f"{task}-after.yaml"
        layerwise("init", str(folders["train"]), "-o", str(after))
        configs = {"before": before(after, work / f"{task}-before.yaml"), "after": after}
        results[task] = {name: {"accuracy": [], "seconds": []} for name in configs}
        for seed in range(args.seeds):
            for name, config in configs.items():
                run = work / f"{task}-{name}-{seed}"
                started = time.perf_counter()
                layerwise(
                    "run", str(config), "--out", str(run), "-q",
                    "--set", f"train.seed={seed}", "--set", f"train.threads={args.threads}",
                )  # fmt: skip
                wall = time.perf_counter() - started
                layerwise("evaluate", str(run / "bundle"), str(folders["test"]), "--out", str(run) + "-eval")
                accuracy = json.loads((Path(str(run) + "-eval") / "metrics.json").read_text())["test"]["accuracy"]
                seconds = json.loads((run / "metrics.json").read_text())["seconds"]
                results[task][name]["accuracy"].append(accuracy)
                results[task][name]["seconds"].append(seconds)
                print(f"{task} seed {seed} {name:6s} held-out accuracy {accuracy:.3f}, training {seconds:.0f}s "
                      f"(wall {wall:.0f}s)", flush=True)  # fmt: skip

    print(f"\n{'task':10s} {'config':7s} {'held-out accuracy':>20s} {'after - before':>16s} {'train s':>8s}")
    for task, by in results.items():
        base = np.array(by["before"]["accuracy"])
        for name, found in by.items():
            a = np.array(found["accuracy"])
            d = a - base
            print(f"{task:10s} {name:7s} {a.mean():11.3f} +- {a.std():.3f} {d.mean():+9.3f} +- {d.std():.3f} "
                  f"{np.mean(found['seconds']):8.0f}")  # fmt: skip
    print(json.dumps({"results": results, "seeds": args.seeds, "threads": args.threads}))


if __name__ == "__main__":
    main()
