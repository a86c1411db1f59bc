"""Images in memory against images read from disk as training goes (data.image.lazy), at scale.

Makes a folder of synthetic 128x128 RGB JPEGs in 10 class folders (50,000 by default; kept in
build/image-pipeline-N/ for the next run), then runs `layerwise run` on it as a user would, each
run in a fresh process, one epoch of a small CNN (cnn2d [8, 16], batch 64):

  memory  data.image.lazy: false, on the first 5,000 and 10,000 images (all 50,000 decoded
          would take 2 x 9.8 GB: the size is printed, the run is not made)
  lazy    data.image.lazy: true, on 5,000, 10,000 and all the images, with data.image.workers

For each: training images/s (training images / the run's training seconds), the run's wall
seconds, the peak RSS of the run's own process, and the peak memory of the run and its decoding
workers together (the sum of their proportional set sizes, PSS, sampled every 0.1 s: shared
pages counted once, which a sum of RSS over forked workers would count again per worker).
The issue's bar: the 1-epoch lazy run on all the images within 1.5 GB.

`--device cuda` (when a GPU is there) runs each set-up four ways: fp32 in the usual layout,
channels-last (train.channels_last: true), bf16 autocast (train.precision: bf16), and both,
and reports images/s for each; pinned memory and non-blocking copies are on in every CUDA run
(the DataLoader pins batches whenever the device is CUDA).

Run: `.venv/bin/python benchmarks/image_pipeline.py [--images 50000] [--workers auto] [--device cpu]`.
Prints a table and one JSON line. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
CLASSES = 10
SIDE = 128


# one colour per class, (r, g, b) added to the disc
PALETTE = [(120, 0, 0), (0, 120, 0), (0, 0, 120), (120, 120, 0), (120, 0, 120), (0, 120, 120),
           (120, 60, 0), (60, 0, 120), (0, 120, 60), (90, 90, 90)]  # fmt: skip


def _make(args: tuple[Path, int]) -> None:
    """Image i: class i % 10 is a disc of the class's colour, of random place and size, on noise, as a JPEG."""
    from PIL import Image

    folder, i = args
    label = i % CLASSES
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    cy, cx = rng.integers(24, SIDE - 24, 2)
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < rng.integers(150, 500)
    pixels = rng.integers(0, 120, (SIDE, SIDE, 3)).astype(np.int16)
    pixels[disc] += np.asarray(PALETTE[label], dtype=np.int16) + rng.integers(-15, 16, 3).astype(np.int16)
    path = folder / f"c{label}" / f"{i:06d}.jpg"
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=85)


def make_folder(n: int) -> Path:
    """build/image-pipeline-N: n JPEGs of 128x128 in 10 class folders (made once)."""
    folder = ROOT / "build" / f"image-pipeline-{n}"
    done = folder / ".complete"
    if done.exists():
        return folder
    for c in range(CLASSES):
        (folder / f"c{c}").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Pool(max(1, (os.cpu_count() or 1))) as pool:
        pool.map(_make, [(folder, i) for i in range(n)], chunksize=256)
    done.write_text("")
    print(f"made {n:,} JPEGs of {SIDE}x{SIDE} in {folder} in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def subset(folder: Path, n: int, work: Path) -> Path:
    """A folder of the first n images (symbolic links), for the smaller runs."""
    out = work / f"first-{n}"
    if out.exists():
        return out
    for c in range(CLASSES):
        (out / f"c{c}").mkdir(parents=True)
    for i in range(n):
        name = f"c{i % CLASSES}/{i:06d}.jpg"
        (out / name).symlink_to(folder / name)
    return out


def tree_pss_kb(pid: int) -> tuple[int, int]:
    """(sum of PSS over pid and its descendants, RSS of pid), in kB, from /proc."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    pss = rss = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:") and p == pid:
                    rss = int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def run(
    folder: Path, lazy: bool, workers: str, device: str, precision: str, layout: bool, work: Path, tag: str
) -> dict:
    cfg = {
        "data": {"path": str(folder), "image": {"lazy": lazy, "workers": workers}},
        "model": {"type": "cnn2d", "channels": [8, 16]},
        "train": {
            "epochs": 1,
            "batch_size": 64,
            "lr": 0.003,
            "device": device,
            "precision": precision,
            "channels_last": layout,
        },
        "evaluate": {"data_curve": False, "report": False, "leakage": False, "bootstrap": 100},
    }
    path = work / f"{tag}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = work / f"run-{tag}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerwise.cli", "run", str(path), "--out", str(out), "--overwrite"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = {"pss": 0, "rss": 0}

    def watch() -> None:
        while proc.poll() is None:
            pss, rss = tree_pss_kb(proc.pid)
            peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    watcher.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{tag}: layerwise run exit {proc.returncode}: {err[-1500:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    trained = metrics["rows"]["train"]
    log = (out / "run.log").read_text()
    held = next((line.split("images: ", 1)[1] for line in log.splitlines() if " images: " in line), "")
    return {
        "run": tag,
        "images": sum(metrics["rows"].values()),
        "trained": trained,
        "train_seconds": metrics["seconds"],
        "images_per_s": round(trained / metrics["seconds"], 1),
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak["rss"] / 1024),
        "peak_tree_pss_mb": round(peak["pss"] / 1024),
        "accuracy": round(metrics["test"]["accuracy"], 3),
        "held": held,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--memory-sizes", default="5000,10000", help="in-memory runs on the first N images")
    parser.add_argument("--lazy-sizes", default="5000,10000", help="lazy runs on the first N (and on all)")
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    folder = make_folder(args.images)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plan = [(int(n), False) for n in args.memory_sizes.split(",") if n] + [
            (int(n), True) for n in args.lazy_sizes.split(",") if n
        ]
        plan.append((args.images, True))
        ways = [("32", False)]
        if args.device == "cuda":  # (precision, channels-last)
            ways += [("32", True), ("bf16", False), ("bf16", True)]
        for n, lazy in plan:
            for precision, layout in ways:
                source = folder if n == args.images else subset(folder, n, work)
                way = f"-{precision}" + ("-channels-last" if layout else "") if len(ways) > 1 else ""
                tag = f"{'lazy' if lazy else 'memory'}-{n}{way}"
                row = run(source, lazy, args.workers, args.device, precision, layout, work, tag)
                rows.append(row)
                print(
                    f"{tag:>28}: {row['images_per_s']:>7.1f} images/s trained, wall {row['wall_seconds']:>6.1f} s, "
                    f"peak RSS {row['peak_rss_mb']:>5} MB, with workers (PSS) {row['peak_tree_pss_mb']:>5} MB, "
                    f"accuracy {row['accuracy']:.3f}",
                    flush=True,
                )
    decoded = 2 * args.images * 3 * SIDE * SIDE * 4 / 2**30
    print(f"\nall {args.images:,} images in memory would hold {decoded:.1f} GB (decoded and normalized, float32)")
    print(json.dumps({"benchmark": "image_pipeline", "images": args.images, "device": args.device, "rows": rows}))


if __name__ == "__main__":
    main()
