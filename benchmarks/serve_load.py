"""Load on loopback against `layerwise serve` of an MLP bundle: latency and throughput.

Trains a small MLP on scikit-learn's breast-cancer data, starts `layerwise serve` in a
subprocess, then sends a bounded number of requests: single records at concurrency 1 and 16
(p50, p99, requests/s) and 1,000-row batches (rows/s). Prints the figures; asserts nothing.

    .venv/bin/python benchmarks/serve_load.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sklearn.datasets import load_breast_cancer

import layerwise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    frame = load_breast_cancer(as_frame=True).frame
    with tempfile.TemporaryDirectory() as tmp:
        result = layerwise.Experiment(
            {
                "data": {"target": "target"},
                "model": {"hidden": [64, 64]},
                "train": {"epochs": 5},
                "evaluate": {"report": False, "bootstrap": 20},
            },
            data=frame,
        ).run(out=Path(tmp) / "run")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "layerwise.cli", "serve", str(result.bundle_path), "--port", str(port)],
            stderr=subprocess.DEVNULL,
        )
        try:
            records = frame.drop(columns=["target"]).to_dict("records")
            asyncio.run(_measure(f"http://127.0.0.1:{port}", records, args.requests))
        finally:
            server.terminate()
            server.wait()


async def _measure(url: str, records: list[dict], n: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(600):  # wait up to a minute for the server to bind
            try:
                if (await client.get("/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        for concurrency in (1, 16):
            latencies, errors, seconds = await _run(client, lambda i: records[i % len(records)], n, concurrency)
            p50, p99 = np.percentile(latencies, [50, 99]) * 1000
            print(
                f"single record, concurrency {concurrency:>2}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                f"{n / seconds:,.0f} req/s, {errors} errors"
            )
        batch = (records * 2)[:1000]
        latencies, errors, seconds = await _run(client, lambda i: batch, 50, 1)
        print(
            f"1,000-row batches: {50 * 1000 / seconds:,.0f} rows/s, p50 {np.median(latencies) * 1000:.1f} ms, "
            f"{errors} errors"
        )


async def _run(client, body, n: int, concurrency: int):
    latencies, errors = [], 0
    queue = iter(range(n))

    async def worker():
        nonlocal errors
        for i in queue:
            started = time.perf_counter()
            response = await client.post("/predict", json=body(i))
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return np.array(latencies), errors, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
