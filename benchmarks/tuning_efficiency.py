"""TPE with pruning against exhaustive grid search, on a fixed real data set.

scikit-learn's diabetes table (442 rows, regression), a discrete space of 24 points
(4 learning rates x 3 widths x 2 dropouts), 30 epochs per trial, objective the
validation loss. The grid trains every point for every epoch; TPE with the median
pruner gets a third of the trials' epochs at most. Prints both searches' best value
and epochs spent, and whether TPE came within 1% of the grid's best.

    .venv/bin/python benchmarks/tuning_efficiency.py [--trials 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from sklearn.datasets import load_diabetes

from layerwise import Experiment

SPACE = {
    "train.lr": {"choice": [0.0003, 0.001, 0.003, 0.01]},
    "model.hidden": {"choice": [[16], [64], [64, 64]]},
    "model.dropout": {"choice": [0.0, 0.2]},
}


def config(method: str, pruner: str, trials: int | None, seed: int) -> dict:
    return {
        "data": {"target": "target"},
        "model": {"hidden": [16]},
        "train": {"epochs": 30, "patience": None, "batch_size": 32, "seed": 0},
        "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
        "tune": {"method": method, "pruner": pruner, "trials": trials, "metric": "loss", "seed": seed, "space": SPACE},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = load_diabetes(as_frame=True).frame
    rows = {}
    for name, method, pruner, trials in (("grid", "grid", "none", None), ("tpe+median", "tpe", "median", args.trials)):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            found = Experiment(config(method, pruner, trials, args.seed), data=frame).tune(out)
            s = found.summary
            rows[name] = (found.best_value, s["epochs_spent"], s["trials"], time.perf_counter() - started)
    print(f"{'search':<12} {'best val loss':>14} {'epochs':>7}  trials")
    for name, (best, epochs, trials, seconds) in rows.items():
        print(f"{name:<12} {best:>14.5f} {epochs:>7}  {trials} ({seconds:.0f}s)")
    grid, tpe = rows["grid"], rows["tpe+median"]
    within = tpe[0] <= grid[0] * 1.01
    print(
        f"TPE+pruning within 1% of the grid's best: {within} ({tpe[0] / grid[0] - 1:+.2%}); "
        f"epochs {tpe[1]} / {grid[1]} = {tpe[1] / grid[1]:.2f} of the grid's (target <= 0.33)"
    )


if __name__ == "__main__":
    main()
