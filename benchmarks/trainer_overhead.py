"""Trainer overhead: layerwise's Trainer against a plain PyTorch loop, same model, same data.

Measures training throughput (samples/s) of one MLP, 32 -> 256 -> 256 -> 256 -> 256 -> 1
(ReLU, Adam lr 1e-3, MSE), on synthetic in-memory data, three ways:

  layerwise    Trainer(...).fit(x, y): fused Adam, threads="auto"
  plain        the loop most people write: torch.optim.Adam(params, lr), torch's default
               thread count, batches sliced from a shuffled permutation
  plain_fused  the same loop with the Trainer's optimizer (fused Adam) and thread count,
               so `ratio_same_optimizer` isolates the Trainer's own overhead

Workloads: A = 100,000 x 32 rows at batch 256, B = 20,000 x 32 rows at batch 32,
LSTM = windows of 30 over a 20,000-step series, LSTM 64x2, batch 128, and DIGITS =
scikit-learn's 1,797 8x8 digits through the default cnn2d, batch 64 (cross-entropy).
The Trainer runs as `layerwise run` does: a checkpoint every epoch (written to a
temporary folder, fsync'd) and the progress bar on. `--precision bf16` runs both
sides under torch.autocast (for GPUs).
The three variants are interleaved (order rotated each repeat) and repeated; the
median is reported, one JSON line per workload. `--sweep` also times the Trainer
at 1 and 2 threads (the evidence for the rule in training/threads.py).

Run: `make bench` (or `.venv/bin/python benchmarks/trainer_overhead.py [--repeats 3] [--sweep]`).
Takes about a minute on 2 CPU cores (defaults: 5 repeats x 2 epochs). Not a test: it prints
figures, asserts nothing. `--device cuda` runs the same comparison on a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics
import tempfile
import time

import torch
from torch import nn

from layerwise.training import Trainer
from layerwise.training.threads import choose_threads, is_dense, thread_count

WORKLOADS = {
    "A_100k_batch256": (100_000, 256),
    "B_20k_batch32": (20_000, 32),
    "LSTM_20k_w30_batch128": (None, 128),
    "DIGITS_cnn2d_batch64": (None, 64),
}
FEATURES, WIDTH, DEPTH, LR = 32, 256, 4, 1e-3


def make_model() -> nn.Module:
    layers, width = [], FEATURES
    for _ in range(DEPTH):
        layers += [nn.Linear(width, WIDTH), nn.ReLU()]
        width = WIDTH
    return nn.Sequential(*layers, nn.Linear(width, 1))


def make_data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, FEATURES, generator=g)  # (n, 32)
    y = x[:, :4].sum(dim=1, keepdim=True) + 0.1 * torch.randn(n, 1, generator=g)  # (n, 1)
    return x, y


def workload(name: str):
    """(template model, x, y, loss name) of a workload."""
    from layerwise.models import build

    if name.startswith("LSTM"):
        g = torch.Generator().manual_seed(0)
        series = torch.randn(20_000, generator=g).cumsum(0) / 100  # a random walk, (20000,)
        windows = series.unfold(0, 31, 1)  # (19970, 31)
        x, y = windows[:, :30].unsqueeze(-1).contiguous(), windows[:, 30:].contiguous()  # (n, 30, 1), (n, 1)
        return build({"type": "lstm", "hidden": [64, 64]}, (30, 1), 1, seed=0), x, y, "mse"
    if name.startswith("DIGITS"):
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8)
        y = torch.tensor(digits.target, dtype=torch.long)
        return build({"type": "cnn2d"}, (1, 8, 8), 10, seed=0), x, y, "cross_entropy"
    torch.manual_seed(0)
    return make_model(), *make_data(WORKLOADS[name][0]), "mse"


def plain_loop(model, x, y, batch_size, epochs, optimizer, loss="mse", precision="32") -> None:
    """The loop a PyTorch user writes by hand, with one loss sync per epoch."""
    g = torch.Generator(device=x.device).manual_seed(0)
    loss_fn = nn.MSELoss() if loss == "mse" else nn.CrossEntropyLoss()
    cast = torch.autocast(x.device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    model.train()
    for _ in range(epochs):
        idx = torch.randperm(x.shape[0], generator=g, device=x.device)
        total = torch.zeros((), device=x.device)
        for i in range(0, x.shape[0], batch_size):
            b = idx[i : i + batch_size]
            with cast:
                loss = loss_fn(model(x[b]), y[b])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        total.item()


def run_variant(variant: str, template, x, y, batch_size, epochs, threads, loss="mse", precision="32") -> float:
    """Samples per second of one training run."""
    model = copy.deepcopy(template).to(x.device)
    start = time.perf_counter()
    if variant.startswith("layerwise"):
        forced = "auto" if variant == "layerwise" else int(variant.split("_t")[1])
        with tempfile.TemporaryDirectory() as folder:
            Trainer(
                model,
                loss=loss,
                optimizer="adam",
                lr=LR,
                batch_size=batch_size,
                epochs=epochs,
                device=x.device,
                threads=forced,
                seed=0,
                quiet=False,
                precision=precision,
                checkpoint_dir=folder,
                checkpoint_every=1,
            ).fit(x, y)
    elif variant == "plain":
        plain_loop(model, x, y, batch_size, epochs, torch.optim.Adam(model.parameters(), LR), loss, precision)
    else:  # plain_fused: the Trainer's optimizer implementation and thread count
        with thread_count(threads):
            plain_loop(
                model, x, y, batch_size, epochs, torch.optim.Adam(model.parameters(), LR, fused=True), loss, precision
            )
    return x.shape[0] * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu (the figures the targets are about) or cuda")
    parser.add_argument("--sweep", action="store_true", help="also time the Trainer at 1 and 2 threads")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--only", default=None, help="comma-separated workload name prefixes (A,B,LSTM,DIGITS)")
    args = parser.parse_args()
    for name, (_, batch_size) in WORKLOADS.items():
        if args.only and not any(name.startswith(p) for p in args.only.split(",")):
            continue
        template, x, y, loss = workload(name)
        n_params = sum(p.numel() for p in template.parameters())
        x, y = x.to(args.device), y.to(args.device)
        epochs = args.epochs * (10 if name.startswith("DIGITS") else 1)  # 1,797 rows: more epochs per timing
        threads = choose_threads("auto", x.device, n_params, batch_size, dense=is_dense(template)).n
        variants = ["layerwise", "plain", "plain_fused"]
        if args.sweep:
            variants += ["layerwise_t1", "layerwise_t2"]
        run_variant(
            "plain_fused", template, x[:2048], y[:2048], batch_size, 1, threads, loss, args.precision
        )  # warm-up
        rates: dict[str, list[float]] = {v: [] for v in variants}
        for rep in range(args.repeats):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                rates[variant].append(
                    run_variant(variant, template, x, y, batch_size, epochs, threads, loss, args.precision)
                )
        med = {v: statistics.median(r) for v, r in rates.items()}
        row = {
            "workload": name if args.device == "cpu" else f"{name}_{args.device}_{args.precision}",
            "layerwise_samples_per_s": round(med["layerwise"]),
            "plain_samples_per_s": round(med["plain"]),
            "ratio": round(med["layerwise"] / med["plain"], 3),
            "plain_fused_samples_per_s": round(med["plain_fused"]),
            "ratio_same_optimizer": round(med["layerwise"] / med["plain_fused"], 3),
            "threads": threads or torch.get_num_threads(),
            "default_threads": torch.get_num_threads(),
        }
        if args.sweep:
            row["layerwise_1_thread"] = round(med["layerwise_t1"])
            row["layerwise_2_threads"] = round(med["layerwise_t2"])
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
