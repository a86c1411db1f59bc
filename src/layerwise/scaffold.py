"""`layerwise init`: a commented starting config inferred from the data.

Column, class and file names come from the data, and data can be hostile: a header
"z\nevaluate: {gates: ...}" must not become live YAML. Every name goes through `_quote`
(a value that reads back as exactly that string) or `_printable` (comment text on one line).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import yaml

from .atomic import write_text
from .data import infer_kinds, read_examples, read_table, target_kind
from .data.images import is_image_folder, read_image_folder
from .data.kinds import detect_decimal
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
            # names escaped: a message is one line, and sends no control characters to the terminal
            close = did_you_mean(_printable(column), [_printable(str(c)) for c in frame.columns])
            raise DataError(
                f"{_printable(str(data))}: {flag} {_shown(column)} is not a column{close}",
                hint=f"columns are: {', '.join(_quote(str(c)) for c in frame.columns)}",
            )
    decimal = detect_decimal(frame)   # "2228,66": numbers with decimal commas, not 300 classes
    kinds = infer_kinds(frame, target=target, time=time, decimal=decimal)
    values = frame[target].dropna()
    kind = target_kind(values, decimal=decimal)
    if task is None:
        # Say what the guess rests on, so a wrong guess is easy to spot and to override.
        why = (f"inferred: target {_shown(target)} looks {kind}, {values.nunique()} distinct values; "
               "override with --task")
        task = "regression" if kind == "continuous" else "classification"
    else:
        why = "you chose it with --task"
    text = _render(frame, kinds, data=data, out=out, target=target, task=task, time=time,
                   delimiter=delimiter, why=why, decimal=decimal)
    write_text(out, text)
    return text


def _render(frame: pd.DataFrame, kinds: dict[str, str], *, data, out, target, task, time,
            delimiter, why, decimal=".") -> str:
    rel = os.path.relpath(Path(data).resolve(), Path(out).resolve().parent)
    columns = [c for c in frame.columns if c not in (target, time)]
    # each line reads as YAML `name: kind`, so a name shows exactly as a key would hold it
    kind_lines = "\n".join(f"#   {_quote(str(c))}: {kinds.get(c, '?')}" for c in columns)
    lines = [
        f"# layerwise experiment: {task} of {_shown(target)} from {_printable(Path(data).name)} ({len(frame)} rows).",
        f"# Task: {task} ({why}). Run it with: layerwise run {_printable(Path(out).name)}",
        "# Column kinds as inferred (id-like, constant and free-text columns are dropped by cleaning):",
        kind_lines,
        "",
        "data:",
        f"  path: {_quote(rel)}",
        f"  target: {_quote(target)}",
    ]
    if time:
        lines.append(f"  time: {_quote(time)}        # rows are ordered by this column; splits never shuffle time")
    if delimiter != ",":
        lines.append(f"  delimiter: {_quote(delimiter)}")
    if decimal != ".":
        lines.append(f"  decimal: {_quote(decimal)}            # numbers are written 1.234,5: a decimal comma")
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
        f"# layerwise experiment: generate text like the {len(examples)} lines of {_printable(Path(data).name)} "
        f"(longest {longest} characters).",
        f"# Run it with: layerwise run {_printable(Path(out).name)} --out runs/gen; "
        "then layerwise generate runs/gen/bundle",
        "# Judged against a bigram baseline (each character from the one before) on held-out lines.",
        "",
        "data:",
        f"  path: {_quote(rel)}",
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
    shown = ", ".join(_printable(str(c)) for c in classes[:10]) + (" ..." if len(classes) > 10 else "")
    return "\n".join([
        f"# layerwise experiment: classify the {images.log.rows_out} images of {_printable(Path(data).name)} into "
        f"{len(classes)} classes ({shown}).",
        f"# Most common size {h}x{w}, {images.mode}" + (f"; {skipped} unreadable file(s) skipped." if skipped else "."),
        f"# Run it with: layerwise run {_printable(Path(out).name)} --out runs/images; "
        "then layerwise predict runs/images/bundle FOLDER",
        "# Judged against the majority class on a stratified test split.",
        "",
        "data:",
        f"  path: {_quote(rel)}",
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


# Written bare only when YAML cannot read it as anything else: word characters, dots, slashes, dashes.
_BARE = re.compile(r"[\w./-]+")


def _quote(name: str) -> str:
    """`name` as a YAML scalar that reads back as exactly `name`, on one line."""
    if _BARE.fullmatch(name) and name.isprintable() and _reads_as(name) == name and not _number(name):
        return name
    # A JSON string is a YAML double-quoted scalar; JSON leaves some line breaks YAML knows
    # (U+0085, U+2028) and characters YAML refuses (DEL, C1 controls) raw: those are escaped too.
    return _printable(json.dumps(name, ensure_ascii=False))


def _reads_as(text: str) -> object:
    try:
        return yaml.safe_load(text)  # `true`, `null`, `12`, `...`, `-` read as other things
    except yaml.YAMLError:
        return None


def _number(text: str) -> bool:
    # `1e3` is a string to PyYAML but a number to YAML 1.2 readers (and to a person)
    try:
        float(text)
    except ValueError:
        return False
    return True


def _shown(name: str) -> str:
    """A name inside a comment sentence: 'name', or its escaped YAML form when it has unprintable characters."""
    return f"'{name}'" if name.isprintable() else _quote(name)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _printable(text: str) -> str:
    """`text` with every unprintable character (line breaks, controls, odd spaces) as a YAML escape."""
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
