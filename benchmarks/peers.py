"""Peers: the same MLP and LSTM trained by a plain loop, layerwise, Lightning, Keras 3 and skorch.

Training throughput (samples/s) of two of trainer_overhead.py's workloads, same model, same
data, same batch size and epochs, each framework with its own defaults:

  B_20k_batch32          MLP 32 -> 256 x 4 -> 1 (ReLU), 20,000 x 32 rows, batch 32, MSE
  LSTM_20k_w30_batch128  windows of 30 over a 20,000-step random walk, LSTM 64 x 2 (layerwise's
                         lstm block), batch 128, MSE

  plain        the loop most people write (trainer_overhead.plain_loop), torch.optim.Adam(lr=1e-3)
  plain_fused  the same loop with Adam(fused=True)
  layerwise    Trainer(...).fit(x, y): optimizer "adam", threads="auto", quiet, no checkpoints
  lightning    a LightningModule around the same module, lightning.Trainer(accelerator="cpu",
               logger, checkpoints, progress bar and summary off), DataLoader over a
               TensorDataset with shuffle=True
  keras        Keras 3 on its torch backend: Dense / LSTM layers of the same sizes, Adam(1e-3),
               model.fit(x, y, batch_size, epochs, shuffle=True, verbose=0) on NumPy arrays
  skorch       NeuralNetRegressor around the same module: Adam, lr 1e-3, train_split=None,
               iterator_train__shuffle=True (skorch's default is no shuffling)

Every run is a fresh Python process (this script with `--one VARIANT --workload W`); the
variants are interleaved, the order rotated each repeat, and the median is reported. Only the
call that trains is timed (fit, or the loop): imports, data and model building are not, and are
printed beside it. No thread count is forced on anyone: each framework trains with the threads
it chooses (layerwise: threads="auto"); the threads seen in the first forward pass are printed.
On a shared machine each run waits (up to --wait s) until other processes leave the CPUs nearly
idle, and is run again (up to --retries times, the least disturbed attempt kept) when they kept
more than QUIET_CPUS busy while it trained (2 threads on 2 cores slow down several-fold beside
one busy process); `others` prints the CPUs they kept busy (median): figures with `others` well
above 0 are noise.
Peers are never dependencies of layerwise: they live in build/peers-venv only.

Run: `make bench-peers` (or `build/peers-venv/bin/python benchmarks/peers.py [--repeats 3]
[--epochs 2] [--only B,LSTM] [--variants plain,keras] [--wait 60] [--retries 2]`). About 10 to
15 minutes on 2 CPU cores (12 min on 2026-12-04): 36 fresh processes and their retries, a third
of the time imports; the slowest is Keras's LSTM, which has no fused kernel on a CPU and runs
step by step in Python. Not a test: it prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORKLOAD_NAMES = ("B_20k_batch32", "LSTM_20k_w30_batch128")  # keys of trainer_overhead.WORKLOADS
VARIANTS = ("plain", "plain_fused", "layerwise", "lightning", "keras", "skorch")
IMPORTS = {  # what each variant imports before anything else, timed as its import cost
    "plain": "torch",
    "plain_fused": "torch",
    "layerwise": "layerwise.training",
    "lightning": "lightning",
    "keras": "keras",
    "skorch": "skorch",
}
PACKAGES = ("torch", "lightning", "keras", "skorch", "layerwise", "numpy")
HERE = Path(__file__).resolve().parent
QUIET_CPUS = 0.25  # CPUs other processes may keep busy: before a run starts, and while it trains (else it runs again)


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot, steal included (Linux's /proc/stat)."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(most_s: float) -> float:
    """Wait, up to `most_s`, until other processes leave the CPUs nearly idle; the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < most_s:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        after = busy_cpu_seconds()
        if before is None or after is None or after - before < QUIET_CPUS:
            break
    return time.perf_counter() - start


def record_threads(module, seen: dict) -> None:
    """Note torch's intra-op thread count at the first forward pass, then unhook."""
    import torch

    def hook(*_):
        seen["threads"] = torch.get_num_threads()
        handle.remove()  # no hook left on the module while the rest is timed

    handle = module.register_forward_pre_hook(hook)


def train_plain(template, x, y, batch_size: int, epochs: int, fused: bool, seen: dict) -> float:
    import torch
    from trainer_overhead import LR, plain_loop

    model = copy.deepcopy(template)
    record_threads(model, seen)
    optimizer = torch.optim.Adam(model.parameters(), LR, fused=fused)
    start = time.perf_counter()
    plain_loop(model, x, y, batch_size, epochs, optimizer)
    return time.perf_counter() - start


def train_layerwise(template, x, y, batch_size: int, epochs: int, seen: dict) -> float:
    from trainer_overhead import LR

    from layerwise.training import Trainer

    model = copy.deepcopy(template)
    record_threads(model, seen)
    trainer = Trainer(
        model,
        loss="mse",
        optimizer="adam",
        lr=LR,
        batch_size=batch_size,
        epochs=epochs,
        threads="auto",
        seed=0,
        device="cpu",
    )
    start = time.perf_counter()
    trainer.fit(x, y)
    train_s = time.perf_counter() - start
    seen["notes"] = trainer.thread_notes  # the counts threads="auto" chose during the fit, and why
    return train_s


def train_lightning(template, x, y, batch_size: int, epochs: int, seen: dict) -> float:
    import lightning
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    from trainer_overhead import LR

    class Regressor(lightning.LightningModule):
        def __init__(self, net: torch.nn.Module):
            super().__init__()
            self.net = net

        def training_step(self, batch, batch_idx):
            inputs, targets = batch
            return torch.nn.functional.mse_loss(self.net(inputs), targets)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=LR)

    model = copy.deepcopy(template)
    record_threads(model, seen)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    trainer = lightning.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    trainer.fit(Regressor(model), loader)
    return time.perf_counter() - start


def train_keras(name: str, x, y, batch_size: int, epochs: int, seen: dict) -> float:
    import keras
    import torch
    from trainer_overhead import DEPTH, FEATURES, LR, WIDTH

    keras.utils.set_random_seed(0)
    if name.startswith("LSTM"):  # layerwise's lstm block: LSTM 64, LSTM 64, the last step, Dense 1
        layers = [keras.Input(tuple(x.shape[1:])), keras.layers.LSTM(64, return_sequences=True), keras.layers.LSTM(64)]
    else:
        layers = [keras.Input((FEATURES,))] + [keras.layers.Dense(WIDTH, activation="relu") for _ in range(DEPTH)]
    model = keras.Sequential([*layers, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LR), loss="mse")
    x, y = x.numpy(), y.numpy()
    seen["threads"] = torch.get_num_threads()  # Keras sets none (its fit runs in this thread)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    return time.perf_counter() - start


def train_skorch(template, x, y, batch_size: int, epochs: int, seen: dict) -> float:
    import torch
    from skorch import NeuralNetRegressor
    from trainer_overhead import LR

    model = copy.deepcopy(template)
    record_threads(model, seen)
    net = NeuralNetRegressor(
        model,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    x, y = x.numpy(), y.numpy()
    start = time.perf_counter()
    net.fit(x, y)
    return time.perf_counter() - start


def one(variant: str, name: str, epochs: int) -> dict:
    """Train one variant once, in this process; its timings as a dict."""
    if variant == "keras":
        os.environ["KERAS_BACKEND"] = "torch"  # read by Keras at import, so set before it
    start = time.perf_counter()
    importlib.import_module(IMPORTS[variant])
    imported = time.perf_counter()
    import torch

    sys.path.insert(0, str(HERE))
    from trainer_overhead import WORKLOADS, workload

    template, x, y, _ = workload(name)
    batch_size = WORKLOADS[name][1]
    default_threads = torch.get_num_threads()
    seen: dict = {}
    machine, own = busy_cpu_seconds(), own_cpu_seconds()
    window = time.perf_counter()
    if variant in ("plain", "plain_fused"):
        train_s = train_plain(template, x, y, batch_size, epochs, variant == "plain_fused", seen)
    elif variant == "layerwise":
        train_s = train_layerwise(template, x, y, batch_size, epochs, seen)
    elif variant == "lightning":
        train_s = train_lightning(template, x, y, batch_size, epochs, seen)
    elif variant == "keras":
        train_s = train_keras(name, x, y, batch_size, epochs, seen)
    else:
        train_s = train_skorch(template, x, y, batch_size, epochs, seen)
    window = time.perf_counter() - window
    machine_after = busy_cpu_seconds()
    others = None if machine is None or machine_after is None else machine_after - machine - (own_cpu_seconds() - own)
    return {
        "samples_per_s": x.shape[0] * epochs / train_s,
        "train_s": train_s,
        "import_s": imported - start,
        "setup_s": time.perf_counter() - imported - train_s,  # data, model, framework objects
        "threads": seen.get("threads"),
        "default_threads": default_threads,
        "threads_after": torch.get_num_threads(),
        "thread_notes": seen.get("notes", []),
        # CPUs other processes (and the hypervisor, as steal) kept busy while this one trained
        "others_cpus": None if others is None else max(0.0, others / window),
    }


def run_one(variant: str, name: str, epochs: int) -> tuple[dict, str]:
    """One variant in a fresh process: its timings and its stderr."""
    command = [sys.executable, __file__, "--one", variant, "--workload", name, "--epochs", str(epochs)]
    # every framework on the CPU, also on a machine with a GPU (Keras and layerwise would take it)
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=os.environ | {"CUDA_VISIBLE_DEVICES": ""}
    )
    if done.returncode != 0:
        sys.exit(f"{variant} on {name} failed (exit {done.returncode}):\n{done.stderr}")
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), done.stderr


def measure(name: str, variants: list[str], args: argparse.Namespace, tally: dict) -> dict[str, list[dict]]:
    """Every variant's runs on one workload, interleaved, the order rotated each repeat."""
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for rep in range(args.repeats):
        order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
        for variant in order:
            kept: tuple[dict, str] | None = None
            for attempt in range(1 + args.retries):  # a run that others disturbed is run again
                tally["retried"] += attempt > 0
                tally["waited"] += wait_for_quiet(args.wait)
                result, stderr = run_one(variant, name, args.epochs)
                quiet = (result["others_cpus"] or 0.0) < QUIET_CPUS
                if kept is None or (result["others_cpus"] or 0.0) < (kept[0]["others_cpus"] or 0.0):
                    kept = (result, stderr)  # the least disturbed attempt
                print(
                    f"{name} repeat {rep + 1}/{args.repeats} {variant}: {result['samples_per_s']:,.0f} samples/s, "
                    f"others kept {result['others_cpus'] or 0.0:.2f} CPUs busy" + ("" if quiet else " (disturbed)"),
                    file=sys.stderr,
                    flush=True,
                )
                if quiet:
                    break
            assert kept is not None
            result, stderr = kept
            runs[variant].append(result)
            for line in stderr.splitlines():
                if line.strip():
                    tally["notes"].setdefault(line.strip(), set()).add(variant)
    return runs


def summarize(name: str, runs: dict[str, list[dict]]) -> list[dict]:
    """One row per variant: medians over its runs, ratios to the plain loop and to layerwise."""
    rows = []
    rates = {v: statistics.median(r["samples_per_s"] for r in runs[v]) for v in runs}
    for variant, done in runs.items():
        timed = ("train_s", "import_s", "setup_s", "others_cpus")
        median = {k: statistics.median(r[k] or 0.0 for r in done) for k in timed}
        threads = sorted({r["threads"] for r in done}, key=str)  # one value unless runs differ
        rows.append(
            {
                "workload": name,
                "variant": variant,
                "samples_per_s": round(rates[variant]),
                "ratio_to_plain": round(rates[variant] / rates["plain"], 3) if "plain" in rates else None,
                "ratio_to_layerwise": round(rates[variant] / rates["layerwise"], 3) if "layerwise" in rates else None,
                **{k: round(v, 2) for k, v in median.items()},
                "runs_samples_per_s": [round(r["samples_per_s"]) for r in done],
                "runs_others_cpus": [round(r["others_cpus"] or 0.0, 2) for r in done],
                "threads": threads[0] if len(threads) == 1 else threads,
                "default_threads": done[0]["default_threads"],
                "threads_after": sorted({r["threads_after"] for r in done}),
                "thread_notes": list(dict.fromkeys(n for r in done for n in r["thread_notes"])),
            }
        )
    return rows


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True)
    found["layerwise_commit"] = commit.stdout.strip() or None
    return found


def table(rows: list[dict]) -> str:
    head = (
        f"{'workload':<22} {'variant':<12} {'samples/s':>10} {'x plain':>8} {'x layerwise':>12} "
        f"{'train s':>8} {'import s':>9} {'setup s':>8} {'threads':>8} {'others':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        to_plain, to_layerwise = (
            f"{r[k]:.3f}" if r[k] is not None else "-" for k in ("ratio_to_plain", "ratio_to_layerwise")
        )
        lines.append(
            f"{r['workload']:<22} {r['variant']:<12} {r['samples_per_s']:>10,} {to_plain:>8} "
            f"{to_layerwise:>12} {r['train_s']:>8.2f} {r['import_s']:>9.2f} {r['setup_s']:>8.2f} "
            f"{r['threads']!s:>8} {r['others_cpus']:>7.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--only", default=None, help="comma-separated workload name prefixes (B,LSTM)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from " + ",".join(VARIANTS))
    parser.add_argument("--wait", type=float, default=60, help="most seconds to wait for a quiet machine per run")
    parser.add_argument("--retries", type=int, default=2, help="runs again a run that other processes disturbed")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child: one variant, one run
    parser.add_argument("--workload", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.workload, args.epochs)), flush=True)
        return

    began = time.perf_counter()
    variants = args.variants.split(",")
    print(
        json.dumps(
            {
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                **versions(),
                "cpus": os.cpu_count(),
                "thread_env": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")},
                "epochs": args.epochs,
                "repeats": args.repeats,
            }
        ),
        flush=True,
    )
    rows: list[dict] = []
    tally: dict = {"notes": {}, "waited": 0.0, "retried": 0}  # stderr lines, seconds waited, runs run again
    for name in WORKLOAD_NAMES:
        if args.only and not any(name.startswith(p) for p in args.only.split(",")):
            continue
        runs = measure(name, variants, args, tally)
        for row in summarize(name, runs):
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(table(rows))
    if tally["notes"]:
        print("\nstderr of the runs (each distinct line once, with the variants that wrote it):")
        for line, who in tally["notes"].items():
            print(f"  [{','.join(sorted(who))}] {line}")
    print(
        f"\nwall time: {time.perf_counter() - began:.0f} s, {tally['waited']:.0f} s of it waiting for a quiet machine; "
        f"{tally['retried']} runs run again because other processes kept over {QUIET_CPUS} CPUs busy while they trained"
    )


if __name__ == "__main__":
    main()
