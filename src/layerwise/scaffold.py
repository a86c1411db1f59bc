"""`layerwise init`: a commented starting config inferred from the data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .atomic import write_text
from .data import infer_kinds, read_examples, read_table, target_kind
from .data.images import is_image_folder, read_image_folder
from .errors import DataError, did_you_mean


def write_config(
    data: str | Path,
    *,
    target: str,
    task: str | None = None,
    time: str | None = None,
    out: str | Path,
    delimiter: str = ",",
) -> str:
    """Infer the task and column kinds of `data`, write a commented YAML to `out`, return it."""
    if task == "generation":
        text = _render_generation(data, out)
        write_text(out, text)
        return text
    if is_image_folder(data):
        text = _render_images(data, out)
        write_text(out, text)
        return text
    frame = read_table(data, delimiter=delimiter)
    for flag, column in (("--target", target), ("--time", time)):
        if column is not None and column not in frame.columns:
            raise DataError(
                f"{data}: {flag} {column!r} is not a column{did_you_mean(column, frame.columns)}",
                hint=f"columns are: {', '.join(map(str, frame.columns))}",
            )
    kinds = infer_kinds(frame, target=target, time=time)
    values = frame[target].dropna()
    kind = target_kind(values)
    if task is None:
        # Say what the guess rests on, so a wrong guess is easy to spot and to override.
        why = f"inferred: target '{target}' looks {kind}, {values.nunique()} distinct values; override with --task"
        task = "regression" if kind == "continuous" else "classification"
    else:
        why = "you chose it with --task"
    text = _render(frame, kinds, data=data, out=out, target=target, task=task, time=time,
                   delimiter=delimiter, why=why)
    write_text(out, text)
    return text


def _render(frame: pd.DataFrame, kinds: dict[str, str], *, data, out, target, task, time,
            delimiter, why) -> str:
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    columns = [c for c in frame.columns if c not in (target, time)]
    kind_lines = "\n".join(f"#   {c}: {kinds.get(c, '?')}" for c in columns)
    lines = [
        f"# layerwise experiment: {task} of '{target}' from {Path(data).name} ({len(frame)} rows).",
        f"# Task: {task} ({why}). Run it with: layerwise run {Path(out).name}",
        "# Column kinds as inferred (id-like, constant and free-text columns are dropped by cleaning):",
        kind_lines,
        "",
        "data:",
        f"  path: {rel}",
        f"  target: {_quote(target)}",
    ]
    if time:
        lines.append(f"  time: {_quote(time)}        # rows are ordered by this column; splits never shuffle time")
    if delimiter != ",":
        lines.append(f"  delimiter: {_quote(delimiter)}")
    if task == "forecast":
        lines += [
            "  split: {method: time, train: 0.7, val: 0.15, test: 0.15}  # gap defaults to lookback + horizon",
            "  window: {lookback: 30, horizon: 1, stride: 1}   # 30 past rows predict the next one",
            "  transform: log_return   # predict the change, not the level: none | diff | log_return",
        ]
    else:
        method = "time" if time else ("stratified" if task == "classification" else "random")
        lines.append(f"  split: {{method: {method}, train: 0.7, val: 0.15, test: 0.15}}")
    lines += [
        "  normalize: standard      # standard | minmax | robust | none (fitted on the training split only)",
        "",
        "task:",
        f"  type: {task}",
        "",
        "model:",
        "  type: mlp",
        "  hidden: [128, 64]        # widths of the hidden layers; add entries for depth",
        "  activation: relu         # relu | leaky_relu | elu | gelu | silu | tanh | sigmoid",
        "  dropout: 0.1",
        "  init: auto               # He for the ReLU family, Xavier for tanh/sigmoid",
        "",
        "train:",
        "  optimizer: adamw         # sgd | adam | adamw | rmsprop",
        "  lr: 0.001",
        "  batch_size: 64",
        "  epochs: 200",
        "  patience: 20             # early stopping on validation loss; best weights restored",
        "  weight_decay: 0.0001",
        "  seed: 0",
        "",
    ]
    return "\n".join(lines)


def _render_generation(data, out) -> str:
    examples = read_examples(data)
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    longest = max(len(e) for e in examples)
    return "\n".join([
        f"# layerwise experiment: generate text like the {len(examples)} lines of {Path(data).name} "
        f"(longest {longest} characters).",
        f"# Run it with: layerwise run {Path(out).name} --out runs/gen; then layerwise generate runs/gen/bundle",
        "# Judged against a bigram baseline (each character from the one before) on held-out lines.",
        "",
        "data:",
        f"  path: {rel}",
        "  text: {mode: lines}        # lines: one example per line; chunks: running text cut every `chunk` chars",
        "  split: {method: random, train: 0.8, val: 0.1, test: 0.1}",
        "",
        "task:",
        "  type: generation",
        "",
        "model:",
        "  type: lstm                 # lstm | gru | transformer (causal)",
        "  hidden: [128]",
        "  embedding: 32              # width of the character embedding",
        "  dropout: 0.1",
        "",
        "train:",
        "  optimizer: adamw",
        "  lr: 0.003",
        "  batch_size: 64",
        "  epochs: 40",
        "  patience: 5",
        "  seed: 0",
        "",
    ])


def _render_images(data, out) -> str:
    images = read_image_folder(data, max_corrupt=1.0)
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    h, w = images.size
    classes = sorted(set(images.labels.tolist()), key=str)
    skipped = images.log.rows_in - images.log.rows_out
    # Two pooling stages need 4x4 pixels at least; a smaller image gets one stage.
    channels = "[32, 64]" if min(h, w) >= 4 else "[32]"
    shown = ", ".join(map(str, classes[:10])) + (" ..." if len(classes) > 10 else "")
    return "\n".join([
        f"# layerwise experiment: classify the {images.log.rows_out} images of {Path(data).name} into "
        f"{len(classes)} classes ({shown}).",
        f"# Most common size {h}x{w}, {images.mode}" + (f"; {skipped} unreadable file(s) skipped." if skipped else "."),
        f"# Run it with: layerwise run {Path(out).name} --out runs/images; "
        "then layerwise predict runs/images/bundle FOLDER",
        "# Judged against the majority class on a stratified test split.",
        "",
        "data:",
        f"  path: {rel}",
        f"  image: {{size: [{h}, {w}], mode: {images.mode}, max_corrupt: 0.05}}   # every image is resized to size",
        "  split: {method: stratified, train: 0.7, val: 0.15, test: 0.15}",
        "  normalize: standard      # per channel, fitted on the training split only: standard | minmax | none",
        "",
        "task:",
        "  type: classification",
        "",
        "model:",
        "  type: cnn2d",
        f"  channels: {channels}       # one conv-norm-relu-pool stage per entry; each halves height and width",
        "  kernel_size: 3",
        "  dropout: 0.1",
        "  init: auto               # He for the ReLU family",
        "",
        "train:",
        "  optimizer: adamw",
        "  lr: 0.003",
        "  batch_size: 64",
        "  epochs: 30",
        "  patience: 5              # early stopping on validation loss; best weights restored",
        "  seed: 0",
        "",
    ])


def _quote(name: str) -> str:
    # JSON strings are valid YAML scalars, whatever characters the name holds.
    return name if name.replace("_", "").isalnum() else json.dumps(name)
