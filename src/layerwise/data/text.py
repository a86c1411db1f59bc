"""Text for generation: examples read from a file, a character vocabulary, padded id arrays.

Each example becomes `<s> c1 c2 ... cn </s>`, padded with `<pad>` (id 0) to one length, so a
batch is one (batch, length) int64 array. The vocabulary is fitted on the training examples
only and saved as JSON with the bundle; a character it lacks is an error at prediction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .sources import decode_utf8

PAD, START, END = "<pad>", "<s>", "</s>"
SPECIALS = (PAD, START, END)


def read_examples(path: str | Path, *, mode: str = "lines", chunk: int = 64) -> list[str]:
    """The examples of a text file: its non-empty lines, or its running text cut into chunks."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (tried {path.resolve()})", hint="check data.path")
    text = decode_utf8(path.read_bytes(), str(path))
    if mode == "lines":
        examples = [line.strip() for line in text.splitlines()]
        examples = [line for line in examples if line]
    else:
        flat = " ".join(text.split())
        examples = [flat[i : i + chunk] for i in range(0, len(flat), chunk)]
    if not examples:
        raise DataError(f"{path}: holds no text", hint="one example per line (mode lines) or running text (chunks)")
    return examples


class Vocabulary:
    """Characters <-> ids; ids 0, 1, 2 are <pad>, <s>, </s>."""

    def __init__(self, chars: list[str]):
        self.tokens = [*SPECIALS, *chars]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def fit(cls, examples: list[str]) -> Vocabulary:
        return cls(sorted(set("".join(examples))))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def start(self) -> int:
        return self.index[START]

    @property
    def end(self) -> int:
        return self.index[END]

    def unknown(self, text: str) -> list[str]:
        """Characters of `text` that the vocabulary lacks, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, examples: list[str], length: int, *, source: str = "text") -> np.ndarray:
        """(n, length) int64 ids of `<s> text </s>` padded with 0; longer examples are cut."""
        out = np.zeros((len(examples), length), dtype=np.int64)
        for row, text in enumerate(examples):
            missing = self.unknown(text)
            if missing:
                raise DataError(f"{source}: example {row + 1} holds characters the vocabulary lacks: {missing}")
            ids = [self.start, *(self.index[c] for c in text), self.end][:length]
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids) -> str:
        """Text of an id sequence, stopping at </s> and skipping the specials."""
        chars = []
        for i in ids:
            token = self.tokens[int(i)]
            if token == END:
                break
            if token not in SPECIALS:
                chars.append(token)
        return "".join(chars)

    def to_dict(self) -> dict:
        return {"tokens": self.tokens}

    @classmethod
    def from_dict(cls, state: dict) -> Vocabulary:
        tokens = list(state["tokens"])
        if tuple(tokens[:3]) != SPECIALS:
            raise DataError("vocabulary state does not start with <pad>, <s>, </s>")
        return cls(tokens[3:])
