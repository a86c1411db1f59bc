"""Digits with the 2-D CNN: test accuracy and seconds, from Python with layerwise.Trainer.

scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes, pixel
values 0..16) are scaled to [0, 1] and shaped (n, 1, 8, 8); a fixed stratified
20% test split (random_state 0) is held out and never seen in training. The
block is `cnn2d` with its defaults (channels [32, 64], 3x3 'same' convs, batch
norm, ReLU, 2x2 max pooling, global mean readout), He-initialized by `auto`;
Adam lr 3e-3, batch 64, a fixed number of epochs and no validation split, so
nothing is tuned on the test set.

Run: `.venv/bin/python benchmarks/digits_cnn.py [--epochs 30] [--seed 0] [--threads 2]`.
Prints one JSON line: accuracy, seconds (training only), epochs, parameters. Asserts nothing;
tests/models/test_digits.py asserts >= 95% on a shorter run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from layerwise import Trainer
from layerwise.models import build


def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, x_test, y_train, y_test); images (n, 1, 8, 8) float32 in [0, 1]."""
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]  # (1797, 8, 8) -> (1797, 1, 8, 8)
    return train_test_split(x, data.target, test_size=0.2, stratify=data.target, random_state=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    parser.add_argument("--threads", default="auto", help="'auto' or a count")
    args = parser.parse_args()
    threads = args.threads if args.threads == "auto" else int(args.threads)

    x_train, x_test, y_train, y_test = digits()
    model = build({"type": "cnn2d"}, x_train.shape[1:], 10, seed=args.seed)
    trainer = Trainer(
        model, loss="cross_entropy", lr=3e-3, batch_size=64, epochs=args.epochs, seed=args.seed, threads=threads
    )
    start = time.perf_counter()
    trainer.fit(x_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = float((trainer.predict(x_test).argmax(1).numpy() == y_test).mean())
    print(
        json.dumps(
            {
                "benchmark": "digits_cnn2d",
                "accuracy": round(accuracy, 4),
                "seconds": round(seconds, 2),
                "epochs": args.epochs,
                "train": len(y_train),
                "test": len(y_test),
                "parameters": sum(p.numel() for p in model.parameters()),
                "threads": threads,
            }
        )
    )


if __name__ == "__main__":
    main()
