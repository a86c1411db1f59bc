"""Pretrained word vectors (`model.init.embedding: PATH`) copied into a text model's token embeddings.

The file is GloVe, word2vec-text or fastText `.vec`: one token and its floats per line,
separated by spaces; word2vec and fastText start with a "count dim" header line, which is
skipped. The file is read once, streaming (such files run to gigabytes), and only the vectors
of the vocabularies' tokens are kept.

What matches: a vocabulary token takes the vector of the same word in the file; with
`lowercase`, the file's words are lowercased first (where two words fold to one, the one that
was already lowercase wins, else the first in the file). A subword piece whose only difference
from a word is a marker — WordPiece's "##" continuation prefix, byte-level BPE's "Ġ" or
SentencePiece's "▁" word-start prefix — takes that word's vector when the piece itself is not
in the file. PAD (id 0) stays zero and UNK (id 1) keeps its initial vector; every other token
not found keeps its initial vector too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from ..errors import ConfigError, DataError

KEY = "model.init.embedding"
MARKERS = ("##", "Ġ", "▁")  # subword markers stripped when the piece itself is not in the file
FIRST_REAL_ID = 2  # 0 is PAD, 1 is UNK


def vector_width(path: str | Path) -> int:
    """The vectors' dimension, from the first lines of the file."""
    with _open(path) as f:
        for number, line, header in _lines(f):
            if header is not None:
                return header
            return _width(line, number, path)
    raise _no_vectors(path)


def fill_embeddings(
    module: nn.Module, vocabularies: dict[str, list[str]], path: str | Path, *, lowercase: bool
) -> dict[str, dict]:
    """Copy the file's vector of each vocabulary token into `module.token_embeddings()[column]`.

    Args:
        vocabularies: each text column's tokens by id (vocabulary[0] is PAD, [1] UNK).
        lowercase: the tokenizer lowercases, so the file's words are lowercased to match.

    Returns:
        {column: {"tokens": vocab size, "found": n, "coverage": n / (vocab size - 2)}}
    """
    embeddings = _embeddings(module, path)
    widths = {e.embedding_dim for e in embeddings.values()}
    unknown = sorted(set(vocabularies) - set(embeddings))
    if unknown:
        raise ConfigError(
            f"{KEY}: no token embedding for text column(s) {unknown}; the model embeds {sorted(embeddings)}",
            hint="the vocabularies must come from the same run as the model",
        )
    wanted: dict[str, list[tuple[str, int]]] = {}  # file word -> (column, id) it fills, exact matches
    fallback: dict[str, list[tuple[str, int]]] = {}  # file word -> (column, id) of a marked piece
    for column, tokens in vocabularies.items():
        for i, token in enumerate(tokens[FIRST_REAL_ID:], start=FIRST_REAL_ID):
            wanted.setdefault(token, []).append((column, i))
            bare = _unmarked(token)
            if bare:
                fallback.setdefault(bare, []).append((column, i))
    found: dict[tuple[str, int], tuple[int, torch.Tensor]] = {}  # (column, id) -> (rank, vector)
    width = None
    with _open(path) as f:
        for number, line, header in _lines(f):
            if header is not None or width is None:  # the header, or else the first vector, sets the width
                width = header if header is not None else _width(line, number, path)
                _check_width(width, widths, path, module)
                if header is not None:
                    continue
            word, _, rest = line.partition(" ")
            count = len(rest.split(" "))
            if count != width:
                raise DataError(
                    f"{KEY}: {path} line {number}: {count} numbers after {word!r}, but the file's vectors have {width}",
                    hint="the file is cut or corrupt; download it again, or remove that line",
                )
            folded = word.lower() if lowercase else word
            # rank: an exact (already lowercase) word beats a folded one; a piece's own word beats its bare form
            exact = folded == word
            targets = [(t, 0 if exact else 1) for t in wanted.get(folded, [])]
            targets += [(t, 2 if exact else 3) for t in fallback.get(folded, [])]
            if not targets:
                continue
            vector = _floats(rest, number, word, path)
            for target, rank in targets:
                if target not in found or rank < found[target][0]:
                    found[target] = (rank, vector)
    if width is None:
        raise _no_vectors(path)
    report = {}
    with torch.no_grad():
        for column, tokens in vocabularies.items():
            weight = embeddings[column].weight
            hits = [(i, v) for (c, i), (_, v) in found.items() if c == column]
            for i, vector in hits:
                weight[i] = vector.to(weight.dtype)
            weight[0].zero_()  # PAD
            real = max(len(tokens) - FIRST_REAL_ID, 0)
            report[column] = {"tokens": len(tokens), "found": len(hits), "coverage": len(hits) / real if real else 0.0}
    return report


def _embeddings(module: nn.Module, path: str | Path) -> dict[str, nn.Embedding]:
    token_embeddings = getattr(module, "token_embeddings", None)
    embeddings = token_embeddings() if callable(token_embeddings) else {}
    if not embeddings:
        kind = getattr(module, "block_type", type(module).__name__)
        raise ConfigError(
            f"{KEY}: {path}: model type '{kind}' has no token embeddings to fill",
            hint="pretrained word vectors need a text model: model.type text_bag, text_cnn, text_gru, "
            "text_lstm or text_transformer",
        )
    return dict(embeddings)


def _no_vectors(path: str | Path) -> DataError:
    return DataError(f"{KEY}: {path} holds no vectors", hint="point it at a GloVe, word2vec-text or fastText .vec file")


def _open(path: str | Path) -> TextIO:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"{KEY}: no file {str(path)!r}",
            hint="point it at a local GloVe, word2vec-text or fastText .vec file (nothing is downloaded)",
        )
    return p.open(encoding="utf-8", errors="replace", newline="\n")


def _lines(f: TextIO) -> Iterator[tuple[int, str, int | None]]:
    """(line number, line, header width or None): the header is a first line of two integers."""
    for number, raw in enumerate(f, start=1):
        line = raw.rstrip("\r\n").rstrip(" ")  # fastText ends its lines with a space
        if not line:
            continue
        if number == 1:
            parts = line.split()
            if len(parts) == 2 and all(p.isdigit() for p in parts):
                yield number, line, int(parts[1])
                continue
        yield number, line, None


def _width(line: str, number: int, path: str | Path) -> int:
    width = len(line.split(" ")) - 1
    if width < 1 or line.startswith(" "):
        raise DataError(
            f"{KEY}: {path} line {number}: a word without a vector", hint="the file must hold 'word f1 f2 ...' lines"
        )
    return width


def _check_width(width: int, widths: set[int], path: str | Path, module: nn.Module) -> None:
    if widths != {width}:
        key = "model.d_model" if hasattr(module, "d_model") else "model.embedding"
        raise ConfigError(
            f"{KEY}: {path} holds vectors of width {width}, but the model's token embeddings have width "
            f"{', '.join(str(w) for w in sorted(widths))}",
            hint=f"set {key}: {width}, the file's width",
        )


def _floats(rest: str, number: int, word: str, path: str | Path) -> torch.Tensor:
    try:
        return torch.tensor([float(v) for v in rest.split(" ")], dtype=torch.float32)
    except ValueError:
        raise DataError(
            f"{KEY}: {path} line {number}: the vector of {word!r} holds a value that is not a number",
            hint="the file is corrupt; download it again, or remove that line",
        ) from None


def _unmarked(token: str) -> str | None:
    for marker in MARKERS:
        if token.startswith(marker) and len(token) > len(marker):
            return token[len(marker) :]
    return None
