"""Streaming memory: one epoch of a small MLP over a Parquet file larger than we want to hold.

Generates (once, into --folder) a Parquet file of --rows rows x 16 float32 columns plus a float
target (default 10 million rows: about 640 MB of features as float32 in memory), then trains
one epoch of an MLP (16 -> 64 -> 1, batch 4096) two ways, each in its own subprocess so each
peak resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is its own:

  streaming  data/streaming.py: the one-pass statistics, then record batches through the
             shuffle buffer into Trainer.fit_stream (the path `data.stream` selects)
  in_memory  the whole file read with pandas, standardized, then Trainer.fit on the arrays

The target is a peak of at most 1.2 GB for the streaming path. Prints one JSON line per path
(rows per second of the epoch, the seconds of the statistics pass, the peak in MB).

Run: `.venv/bin/python benchmarks/streaming_memory.py [--rows 10000000] [--folder /tmp/lw-stream]`.
Not a test: it prints figures, asserts nothing. Writing the file takes a minute or two the first time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

FEATURES, BATCH = 16, 4096


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(0)
    weights = rng.normal(size=FEATURES).astype(np.float32)
    names = [f"x{i}" for i in range(FEATURES)] + ["y"]
    schema = pa.schema([(n, pa.float32()) for n in names])
    with pq.ParquetWriter(path, schema) as writer:  # written in pieces: the generator must stay small too
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            x = rng.normal(size=(n, FEATURES)).astype(np.float32)
            y = x @ weights + 0.1 * rng.normal(size=n).astype(np.float32)
            columns = [pa.array(x[:, i]) for i in range(FEATURES)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=131_072)


def _model():
    from layerwise.models import build

    return build({"type": "mlp", "hidden": [64], "dropout": 0.0}, (FEATURES,), 1, seed=0)


def run_streaming(path: Path) -> dict:
    from layerwise.data.streaming import open_stream
    from layerwise.training import Trainer

    start = time.perf_counter()
    stream = open_stream(path, target="y", task="regression", seed=0, fractions=(1.0, 0.0, 0.0)).fit()
    stats = time.perf_counter() - start
    trainer = Trainer(_model(), batch_size=BATCH, epochs=1, seed=0, device="cpu")

    def batches(epoch):
        for x, y in stream.batches("train", BATCH, epoch):
            yield x, y.reshape(-1, 1)

    start = time.perf_counter()
    trainer.fit_stream(batches, stream.rows["train"])
    epoch = time.perf_counter() - start
    return {
        "path": "streaming",
        "rows": stream.rows["train"],
        "stats_pass_s": round(stats, 1),
        "epoch_s": round(epoch, 1),
        "rows_per_s": round(stream.rows["train"] / epoch),
        "train_loss": round(trainer.history[-1]["train_loss"], 4),
    }


def run_in_memory(path: Path) -> dict:
    import numpy as np
    import pandas as pd

    from layerwise.training import Trainer

    start = time.perf_counter()
    frame = pd.read_parquet(path)
    x = frame[[f"x{i}" for i in range(FEATURES)]].to_numpy(dtype=np.float32)
    y = frame[["y"]].to_numpy(dtype=np.float32)
    del frame
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (y - y.mean()) / y.std()
    load = time.perf_counter() - start
    trainer = Trainer(_model(), batch_size=BATCH, epochs=1, seed=0, device="cpu")
    start = time.perf_counter()
    trainer.fit(x, y)
    epoch = time.perf_counter() - start
    return {
        "path": "in_memory",
        "rows": len(x),
        "load_s": round(load, 1),
        "epoch_s": round(epoch, 1),
        "rows_per_s": round(len(x) / epoch),
        "train_loss": round(trainer.history[-1]["train_loss"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--folder", default="/tmp/layerwise-streaming-bench")
    parser.add_argument("--only", choices=["streaming", "in_memory"], help="run one path here (what the parent calls)")
    args = parser.parse_args()
    path = Path(args.folder) / f"rows{args.rows}.parquet"
    if args.only:
        row = run_streaming(path) if args.only == "streaming" else run_in_memory(path)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux: KiB
        print(json.dumps(row), flush=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(path, args.rows)
    print(
        json.dumps(
            {
                "file": str(path),
                "rows": args.rows,
                "mb_on_disk": round(path.stat().st_size / 2**20),
                "mb_as_float32": round(args.rows * FEATURES * 4 / 2**20),
            }
        ),
        flush=True,
    )
    for which in ("streaming", "in_memory"):
        done = subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--folder", args.folder, "--only", which],
            capture_output=True,
            text=True,
        )
        print(
            done.stdout.strip()
            if done.returncode == 0
            else json.dumps({"path": which, "failed": done.returncode, "stderr": done.stderr[-2000:]}),
            flush=True,
        )


if __name__ == "__main__":
    main()
