"""CUDA checks for the walking skeleton (run on a machine with a GPU; not a test).

1. `Trainer` on device "auto" lands on CUDA, learns, and ends with the same weights (to
   float tolerance) as a plain PyTorch loop fed the same batches with the same fused Adam.
2. Throughput against that plain loop on the GPU (the framework tax there).
3. A whole Experiment (breast_cancer) on `train.device: auto` runs on the GPU, and its
   bundle, loaded on the CPU, predicts what the GPU-trained model predicted.

Prints one JSON line per check. Usage: python benchmarks/gpu_check.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from torch import nn

import layerwise
from layerwise.models import MLP


def plain_loop(module, x, y, *, seed, epochs, batch_size, lr):
    opt = torch.optim.Adam(module.parameters(), lr=lr, fused=True)
    loss_fn = nn.MSELoss()
    g = torch.Generator(device=x.device).manual_seed(seed)
    n = len(x)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g, device=x.device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(module(x[idx]), y[idx]).backward()
            opt.step()
    torch.cuda.synchronize()


def main() -> int:
    assert torch.cuda.is_available(), "no CUDA device"
    dev = torch.device("cuda")
    print(json.dumps({"check": "device", "name": torch.cuda.get_device_name(0), "torch": torch.__version__}))

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(100_000, 32, generator=gen)
    y = x[:, :4].sum(1, keepdim=True) + 0.1 * torch.randn(100_000, 1, generator=gen)

    def fresh():
        torch.manual_seed(0)
        return MLP((32,), [256, 256, 256, 256], 1)

    # 1. same weights as the plain loop
    seed, epochs, bs, lr = 0, 2, 256, 1e-3
    a = fresh()
    trainer = layerwise.Trainer(
        a, loss="mse", optimizer="adam", lr=lr, batch_size=bs, epochs=epochs, seed=seed, device="auto"
    )
    history = trainer.fit(x, y)
    b = fresh().to(dev)
    plain_loop(b, x.to(dev), y.to(dev), seed=seed, epochs=epochs, batch_size=bs, lr=lr)
    diffs = [float((p.detach().cpu() - q.detach().cpu()).abs().max()) for p, q in zip(a.parameters(), b.parameters())]
    print(
        json.dumps(
            {
                "check": "oracle",
                "trainer_device": str(trainer.device),
                "loss_first": history[0]["train_loss"],
                "loss_last": history[-1]["train_loss"],
                "max_abs_weight_diff": max(diffs),
                "ok": max(diffs) < 1e-4,
            }
        )
    )

    # 2. throughput, interleaved, median of 3
    for n, bs in ((100_000, 256), (20_000, 32)):
        xs, ys = x[:n], y[:n]
        lw, pl = [], []
        for _ in range(3):
            m = fresh()
            t = time.perf_counter()
            layerwise.Trainer(m, loss="mse", optimizer="adam", lr=lr, batch_size=bs, epochs=1, device="cuda").fit(
                xs, ys
            )
            torch.cuda.synchronize()
            lw.append(n / (time.perf_counter() - t))
            m = fresh().to(dev)
            xd, yd = xs.to(dev), ys.to(dev)
            t = time.perf_counter()
            plain_loop(m, xd, yd, seed=0, epochs=1, batch_size=bs, lr=lr)
            pl.append(n / (time.perf_counter() - t))
        print(
            json.dumps(
                {
                    "check": "throughput",
                    "workload": f"{n}x32 batch {bs}",
                    "layerwise_samples_per_s": round(statistics.median(lw)),
                    "plain_samples_per_s": round(statistics.median(pl)),
                    "ratio": round(statistics.median(lw) / statistics.median(pl), 3),
                }
            )
        )

    # 3. an experiment on the GPU, its bundle on the CPU
    frame = load_breast_cancer(as_frame=True).frame
    cfg = {"data": {"target": "target"}, "train": {"epochs": 30, "device": "auto"}}
    with tempfile.TemporaryDirectory() as tmp:
        result = layerwise.Experiment(cfg, data=frame).run(out=f"{tmp}/run")
        loaded = layerwise.load(f"{tmp}/run/bundle")
        on_gpu = result.predictor.module.to(dev)
        xt = result.predictor.features.transform(frame.drop(columns=["target"]))
        with torch.no_grad():
            gpu_logits = on_gpu(torch.as_tensor(xt, device=dev)).cpu().numpy()
        cpu_logits = loaded.raw_outputs(xt)
        print(
            json.dumps(
                {
                    "check": "experiment",
                    "beats_baseline": result.beats_baseline,
                    "test_accuracy": result.metrics["test"]["accuracy"],
                    "verdict": result.metrics["verdict"],
                    "gpu_vs_cpu_bundle_max_logit_diff": float(np.abs(gpu_logits - cpu_logits).max()),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
