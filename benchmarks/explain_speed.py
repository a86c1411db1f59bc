"""Explaining 1,000 tabular rows with Integrated Gradients at 50 steps (issue 7: at most 10 s on
2 CPU cores). Trains a small MLP on breast_cancer (30 features), then times attributions alone.

    .venv/bin/python benchmarks/explain_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frame = load_breast_cancer(as_frame=True).frame
    result = layerwise.Experiment({"data": {"target": "target"}, "train": {"epochs": 20, "threads": args.threads}},
                                  data=frame).run()
    predictor = result.predictor
    rows = frame.sample(args.rows, replace=True, random_state=0)       # 1,000 rows from the 569
    x = model_inputs(predictor, rows).x
    output = of_predictor(predictor)
    base, _ = training_baseline(predictor)
    target = output.target(x)
    for label in ("warm-up", "timed"):
        started = time.perf_counter()
        a = attribute(output, x, target, method="ig", baseline=base, steps=args.steps)
        seconds = time.perf_counter() - started
    relative = np.abs(a.delta).sum() / np.abs(a.output - a.baseline_output).sum()
    print(f"IG, {args.steps} steps, {len(x)} rows x {x.shape[1]} model columns, {args.threads} threads: "
          f"{seconds:.2f} s, {len(x) / seconds:,.0f} rows/s; completeness |delta| {relative:.3%} (limit 1%)")


if __name__ == "__main__":
    main()
