"""GPU (issue 19, item 4): small batches through torch.compile and CUDA graphs, and bf16 against
fp32 at batch 4096, measured on the Trainer as a user calls it.

1. Small batches: the W2 MLP (32 -> 256x4 -> 1, 20,000 rows) at batch 32 and 256, Trainer with
   `compile` false / true / "reduce-overhead" (torch.compile replaying each step as a CUDA graph),
   beside the plain loop with fused Adam. A step of this MLP is microseconds of GPU work and many
   kernel launches, so launching is the cost that CUDA graphs remove.
2. Precision: the W1 MLP (100,000 rows) at batch 4096, fp32 against bf16 autocast, eager and
   compiled.

Each variant trains `--epochs` epochs, `--repeats` times, interleaved; printed: the first epoch's
seconds (compiling and graph capture fall there) and samples/s over the later epochs (median of the
repeats), and each variant's ratio to the eager Trainer. One JSON line per variant, also written to
`--out` when given. Needs CUDA; `--device cpu` runs the same code paths (reduce-overhead is refused
there with a ConfigError, printed as that variant's error) for a check before a GPU is lent.

Run: `python benchmarks/gpu_small_batch.py [--repeats 3] [--epochs 4] [--out results.jsonl]`.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time

import torch
from trainer_overhead import plain_loop, workload

from layerwise.errors import LayerwiseError
from layerwise.training import Callback, Trainer


class EpochClock(Callback):
    """Each epoch's seconds, the device synchronised at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.seconds, self._start = device, [], 0.0

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def on_epoch_start(self, trainer, epoch) -> None:
        self._start = self.now()

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.seconds.append(self.now() - self._start)


def trainer_epochs(template, x, y, batch_size, epochs, device, **settings) -> list[float]:
    clock = EpochClock(device)
    trainer = Trainer(
        copy.deepcopy(template),
        loss="mse",
        optimizer="adam",
        lr=1e-3,
        batch_size=batch_size,
        epochs=epochs,
        device=str(device),
        seed=0,
        callbacks=[clock],
        **settings,
    )
    trainer.fit(x, y)
    return clock.seconds


def plain_epochs(template, x, y, batch_size, epochs, device) -> list[float]:
    model = copy.deepcopy(template).to(device)
    xd, yd = x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    clock = EpochClock(device)
    for _ in range(epochs):
        start = clock.now()
        plain_loop(model, xd, yd, batch_size, 1, optimizer)
        clock.seconds.append(clock.now() - start)
    return clock.seconds


def measure(name, variants, template, x, y, batch_size, args, device, out) -> None:
    firsts: dict[str, list[float]] = {v: [] for v in variants}
    rates: dict[str, list[float]] = {v: [] for v in variants}
    errors: dict[str, str] = {}
    for rep in range(args.repeats):
        order = list(variants)[rep % len(variants) :] + list(variants)[: rep % len(variants)]
        for v in order:
            if v in errors:
                continue
            try:
                if v == "plain loop, fused Adam":
                    seconds = plain_epochs(template, x, y, batch_size, args.epochs, device)
                else:
                    seconds = trainer_epochs(template, x, y, batch_size, args.epochs, device, **variants[v])
            except (LayerwiseError, RuntimeError) as error:  # one variant failing leaves the others' figures
                errors[v] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                continue
            firsts[v].append(seconds[0])
            rates[v].append(x.shape[0] * (len(seconds) - 1) / sum(seconds[1:]))
    base = statistics.median(rates["Trainer eager"]) if rates["Trainer eager"] else None
    for v in variants:
        row: dict[str, object] = {"part": name, "batch": batch_size, "variant": v}
        if v in errors:
            row["error"] = errors[v]
        if rates[v]:
            rate = statistics.median(rates[v])
            row.update(
                first_epoch_s=round(statistics.median(firsts[v]), 2),
                samples_per_s=round(rate),
                over_eager_trainer=round(rate / base, 3) if base else None,
            )
        line = json.dumps(row)
        print(line, flush=True)
        if out is not None:
            out.write(line + "\n")
            out.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=float, default=1.0, help="share of each workload's rows (a quick check)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: run it where one is, or pass --device cpu", file=sys.stderr)
        return 2
    out = open(args.out, "a", encoding="utf-8") if args.out else None
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "device": str(device),
                "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            }
        ),
        flush=True,
    )
    small = {
        "Trainer eager": {},
        "Trainer compile": {"compile": True},
        "Trainer compile reduce-overhead": {"compile": "reduce-overhead"},
        "plain loop, fused Adam": {},
    }
    template, x, y, _ = workload("B_20k_batch32")
    n = max(512, int(x.shape[0] * args.rows))
    for batch in (32, 256):
        measure("small batches, W2 MLP", small, template, x[:n], y[:n], batch, args, device, out)
    precision = {
        "Trainer eager": {},
        "Trainer bf16": {"precision": "bf16"},
        "Trainer compile": {"compile": True},
        "Trainer compile bf16": {"compile": True, "precision": "bf16"},
    }
    template, x, y, _ = workload("A_100k_batch256")
    n = max(8192, int(x.shape[0] * args.rows))
    measure("precision, W1 MLP", precision, template, x[:n], y[:n], 4096, args, device, out)
    if out is not None:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
