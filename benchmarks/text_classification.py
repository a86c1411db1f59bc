"""Text classification: layerwise's text encoders beside TF-IDF + logistic regression, on Debian packages.

The task is to predict a Debian package's archive section ("libs", "games", "python", ...) from
its one-line description; the data set is built by benchmarks/debian_descriptions.py from this
machine's `apt-cache dumpavail` (12,000 rows of 51 sections by default, written to a temporary
folder), or read from `--csv`.

One split serves every model. The rows are split here, stratified by section (scikit-learn's
train_test_split, seed 0) into 70% train, 15% validation and 15% test, with the part sizes
layerwise itself would compute. layerwise is then handed the rows in the order train, validation,
test with `data.split.method: time` and gap 0: with no `data.time` column that means "the rows
in the order given, cut into contiguous blocks", which is exactly this predefined split. Each
model is scored with scikit-learn on the same test rows (the networks through `Result.predict`),
and the run checks that layerwise's own test split (`Result.test_rows`) holds those rows.

  tfidf       TfidfVectorizer(word 1-2-grams, sublinear_tf, min_df 2) + LogisticRegression (saga
              solver: about ten times faster than lbfgs here, same accuracy), fitted on the
              training rows; C picked from {1, 3, 10, 30} by validation accuracy (the networks use
              the validation rows too, for early stopping). Time: all four fits and the choice,
              i.e. what a person would spend.
  majority    the most frequent section of the training rows
  text_*      `layerwise.Experiment(config, data=frame).run()` with model.type set to each text
              encoder and layerwise's defaults otherwise: the word tokenizer (at most 16,000 ids,
              at most 32 tokens) fitted on the training rows, Adam lr 3e-3, batch 64, at most EPOCHS epochs,
              early stopping after 4 epochs without a lower validation loss, seed 0. Time: the
              whole run() (tokenizer, training, evaluation with its intervals and its own
              reference), no run folder written.

32 tokens: a description has 9 BPE tokens at the median and 24 at the 99.9th percentile (words
and marks are fewer), so fewer than 1 in 1,000 is cut; texts are padded to the longest training
text up to max_tokens, and 64 made the convolutional, recurrent and attention encoders slower
for nothing. `--tokenizer bpe` (or wordpiece, char) compares another tokenizer.

layerwise judges each network beside its own classical reference too (metrics "reference"):
TF-IDF + logistic regression (saga) with C picked from the same grid on the same validation rows
(evaluation/classical.py), so it should match the `tfidf` row here.

Printed: one table row per model (test accuracy, macro F1, train seconds, seconds / tfidf's),
then layerwise's verdict line for the first network and what its metrics (those metrics.json
holds) say under "reference" when present. Ratios are within one run on one machine.

Run: `.venv/bin/python benchmarks/text_classification.py [--rows 12000] [--epochs 20]
[--models text_bag,text_cnn,text_gru,text_transformer] [--tokenizer word] [--csv FILE]`. The
default run takes about 2 minutes on a quiet 2-core CPU machine (13 with the machine shared).
Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from debian_descriptions import build, stratified_sample
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline

import layerwise
from layerwise.errors import LayerwiseError

ENCODERS = ("text_bag", "text_cnn", "text_gru", "text_transformer", "text_lstm")
DEFAULT_ENCODERS = ENCODERS[:4]
FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}
C_GRID = (1.0, 3.0, 10.0, 30.0)


def half_up(x: float) -> int:
    return int(np.floor(x + 0.5))  # as layerwise.data.split rounds part sizes


def split_rows(frame: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Stratified train / val / test parts, sized as layerwise sizes a split of len(frame) rows."""
    n_val, n_test = half_up(len(frame) * FRACTIONS["val"]), half_up(len(frame) * FRACTIONS["test"])
    rest, test = train_test_split(frame, test_size=n_test, stratify=frame["section"], random_state=seed)
    train, val = train_test_split(rest, test_size=n_val, stratify=rest["section"], random_state=seed)
    return {"train": train, "val": val, "test": test}


def config(encoder: str, epochs: int, tokenizer: str = "word") -> dict[str, Any]:
    return {
        "task": {"type": "classification"},
        "data": {
            "target": "section",
            "features": ["description"],
            "columns": {"description": "text"},
            # the rows come in the order train, val, test (see the module docstring)
            "split": {"method": "time", "gap": 0, **FRACTIONS},
            "text": {"tokenizer": tokenizer, "max_tokens": 32},
        },
        "model": {"type": encoder},
        "train": {"epochs": epochs, "batch_size": 64, "lr": 0.003, "patience": 4, "seed": 0},
        "evaluate": {"metric": "accuracy"},
    }


def scores(truth: pd.Series, predicted: Any) -> dict[str, float]:
    predicted = np.asarray(predicted, dtype=object).astype(str)
    return {
        "accuracy": accuracy_score(truth.astype(str), predicted),
        "macro_f1": f1_score(truth.astype(str), predicted, average="macro", zero_division=0),
    }


def tfidf(parts: dict[str, pd.DataFrame]) -> tuple[dict[str, Any], Pipeline]:
    def fit(c: float) -> Pipeline:
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            LogisticRegression(C=c, solver="saga", max_iter=2000),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a cap on iterations is part of the budget
            return model.fit(parts["train"]["description"], parts["train"]["section"])

    start = time.perf_counter()
    fitted = {c: fit(c) for c in C_GRID}
    chosen = max(
        C_GRID, key=lambda c: accuracy_score(parts["val"]["section"], fitted[c].predict(parts["val"]["description"]))
    )
    model = fitted[chosen]
    seconds = time.perf_counter() - start
    row = {"model": f"tfidf (C={chosen:g})", "seconds": seconds}
    return row | scores(parts["test"]["section"], model.predict(parts["test"]["description"])), model


def majority(parts: dict[str, pd.DataFrame]) -> dict[str, Any]:
    start = time.perf_counter()
    most = parts["train"]["section"].mode().iloc[0]
    seconds = time.perf_counter() - start
    return {"model": f"majority ({most})", "seconds": seconds} | scores(
        parts["test"]["section"], [most] * len(parts["test"])
    )


def network(
    encoder: str, parts: dict[str, pd.DataFrame], epochs: int, tokenizer: str = "word"
) -> tuple[dict[str, Any], Any]:
    """layerwise on the rows in split order; (table row, Result), or (row with the error, None)."""
    frame = pd.concat([parts[p][["description", "section"]] for p in ("train", "val", "test")], ignore_index=True)
    start = time.perf_counter()
    try:
        result = layerwise.Experiment(config(encoder, epochs, tokenizer), data=frame).run()
    except LayerwiseError as error:
        return {"model": encoder, "error": str(error).splitlines()[0]}, None
    seconds = time.perf_counter() - start
    test = parts["test"]
    row = {"model": encoder, "seconds": seconds, "epochs_run": len(result.history)}
    row |= scores(test["section"], result.predict(test[["description"]])["prediction"])
    held = result.test_rows
    same = held is not None and held["description"].astype(str).tolist() == test["description"].tolist()
    row["same_test_rows"] = same
    row["layerwise_accuracy"] = result.metrics.get("test", {}).get("accuracy")
    return row, result


def table(rows: list[dict[str, Any]], reference_seconds: float) -> str:
    """The models as aligned columns; a model that failed gets its error on a line of its own."""
    lines = [("model", "accuracy", "macro F1", "train s", "x tfidf", "epochs", "same test rows")]
    failed = []
    for r in rows:
        if "error" in r:
            failed.append(f"{r['model']}: failed: {r['error']}")
            continue
        same = r.get("same_test_rows")
        lines.append(
            (
                r["model"],
                f"{r['accuracy']:.4f}",
                f"{r['macro_f1']:.4f}",
                f"{r['seconds']:.2f}",
                f"{r['seconds'] / reference_seconds:.2f}",
                str(r.get("epochs_run", "-")),
                "-" if same is None else ("yes" if same else "NO"),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    aligned = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    ]
    return "\n".join(aligned + failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=12_000, help="rows of the data set (sampled by section)")
    parser.add_argument("--epochs", type=int, default=20, help="most epochs per network (patience 4)")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_ENCODERS),
        help=f"comma-separated layerwise encoders, of {', '.join(ENCODERS)}; 'none' for only the references",
    )
    parser.add_argument(
        "--tokenizer", default="word", choices=("word", "bpe", "wordpiece", "char"), help="data.text.tokenizer"
    )
    parser.add_argument("--csv", type=Path, help="a package,description,section CSV instead of building one")
    args = parser.parse_args()
    encoders = [] if args.models == "none" else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(encoders) - set(ENCODERS))
    if unknown:
        parser.error(f"--models: unknown {unknown}; choose from {', '.join(ENCODERS)}")

    if args.csv is None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "debian-descriptions.csv"
            build(rows=args.rows, say=lambda _: None).to_csv(path, index=False, encoding="utf-8")
            frame = pd.read_csv(path, encoding="utf-8", keep_default_na=False)
    else:
        frame = pd.read_csv(args.csv, encoding="utf-8", keep_default_na=False)
        if len(frame) > args.rows:
            frame = stratified_sample(frame, args.rows, seed=0)
    parts = split_rows(frame)
    print(
        f"Debian descriptions -> section: {len(frame):,} rows, {frame['section'].nunique()} sections; "
        + ", ".join(f"{name} {len(part):,}" for name, part in parts.items())
        + f"; torch threads {torch.get_num_threads()}, {platform.machine()}",
        flush=True,
    )

    reference, _ = tfidf(parts)
    rows = [reference, majority(parts)]
    first: tuple[str, Any] | None = None  # (encoder, Result) of the first network that ran
    for encoder in encoders:
        row, result = network(encoder, parts, args.epochs, args.tokenizer)
        rows.append(row)
        if first is None and result is not None:
            first = (encoder, result)
        print(f"  {encoder}: " + ("failed" if result is None else f"{row['seconds']:.1f} s"), flush=True)
    print()
    print(table(rows, reference["seconds"]))
    if first is not None:
        m = first[1].metrics
        print(f"\nlayerwise's verdict ({first[0]}): {m.get('headline')}")
        print(f"layerwise's test accuracy (its metrics): {m.get('test', {}).get('accuracy')}")
        reference_metrics = m.get("reference")
        if reference_metrics is None:
            print('metrics "reference": absent')
        else:
            figures = ", ".join(f"{k} {v:.4f}" for k, v in reference_metrics.get("test", {}).items())
            print(
                f'metrics "reference": {reference_metrics.get("name")} (layerwise\'s own): {figures}; '
                f"beats_reference {reference_metrics.get('beats_reference')}"
            )


if __name__ == "__main__":
    main()
