"""Explaining 1,000 tabular rows with Integrated Gradients at 50 steps (issue 7: at most 10 s on
2 CPU cores). Trains a small MLP on breast_cancer (30 features), then times attributions alone.

With --run-cost: what `evaluate.explain: true` adds to a whole run (the figures behind its
default in EvaluateConfig): the run's own "explain: ... in N s" step, on a digits image run
(16 test images, IG, randomization check, heatmap PNG) and a breast_cancer run (permutation
importance on every test row, IG on 16 rows, plots).

    .venv/bin/python benchmarks/explain_speed.py [--threads 2] [--run-cost]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer

import layerwise
from layerwise.explain import attribute
from layerwise.explain.baseline import training_baseline
from layerwise.explain.inputs import model_inputs
from layerwise.explain.output import of_predictor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--run-cost", action="store_true", help="time evaluate.explain inside whole runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.run_cost:
        run_cost(args.threads)
        return
    frame = load_breast_cancer(as_frame=True).frame
    result = layerwise.Experiment(
        {"data": {"target": "target"}, "train": {"epochs": 20, "threads": args.threads}}, data=frame
    ).run()
    predictor = result.predictor
    rows = frame.sample(args.rows, replace=True, random_state=0)  # 1,000 rows from the 569
    x = model_inputs(predictor, rows).x
    output = of_predictor(predictor)
    base, _ = training_baseline(predictor)
    target = output.target(x)
    for _pass in ("warm-up", "timed"):
        started = time.perf_counter()
        a = attribute(output, x, target, method="ig", baseline=base, steps=args.steps)
        seconds = time.perf_counter() - started
    relative = np.abs(a.delta).sum() / np.abs(a.output - a.baseline_output).sum()
    print(
        f"IG, {args.steps} steps, {len(x)} rows x {x.shape[1]} model columns, {args.threads} threads: "
        f"{seconds:.2f} s, {len(x) / seconds:,.0f} rows/s; completeness |delta| {relative:.3%} (limit 1%)"
    )


def run_cost(threads: int) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:600]
    cases = {
        "digits (cnn2d, 600 images)": (
            {
                "data": {},
                "model": {"type": "cnn2d", "channels": [8, 16]},
                "train": {"epochs": 5, "lr": 0.01, "threads": threads},
            },
            (images, digits.target[:600]),
        ),
        "breast_cancer (mlp, 30 features)": (
            {"data": {"target": "target"}, "train": {"epochs": 20, "threads": threads}},
            load_breast_cancer(as_frame=True).frame,
        ),
    }
    for name, (cfg, data) in cases.items():
        cfg = {**cfg, "evaluate": {"bootstrap": 200, "explain": True}}
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            layerwise.Experiment(cfg, data=data).run(out=Path(folder) / "run")
            total = time.perf_counter() - started
            line = next(x for x in (Path(folder) / "run" / "run.log").read_text().splitlines() if "explain:" in x)
        step = float(re.search(r" in ([0-9.]+)s", line).group(1))
        print(f"{name}: run {total:.1f} s, of which evaluate.explain {step:.1f} s ({threads} threads)")


if __name__ == "__main__":
    main()
