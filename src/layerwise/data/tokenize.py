"""Free text to fixed-width token ids: a tokenizer fitted on the training texts only.

`TextTokenizer(kind).fit(train_texts, column=...)` learns a vocabulary; `encode(texts, ...)`
turns any texts into one (rows, length) int64 array, the same way at training and prediction.

Ids: 0 is [PAD] and 1 is [UNK] in every vocabulary; the real tokens follow. A row is its
tokens from the left, then 0s. A text that holds the literal words "[PAD]" or "[UNK]" is
ordinary text: it is split like any other, never read as a special id.

Kinds:
    bpe        byte-pair merges learned on the training texts (Hugging Face BPE)
    wordpiece  BERT-style sub-words, "##" marking a piece inside a word (Hugging Face WordPiece)
    word       whole words and single punctuation marks, the `vocab_size` most frequent ones
    char       one token per character, spaces included (leading and trailing ones stripped)
Words and punctuation are split on whitespace and at each punctuation mark. `vocab_size`
counts [PAD] and [UNK]. For word and char, a word or character seen fewer than
`min_frequency` times in training is left out (ties in frequency go alphabetically), and one
left out, or never seen, is [UNK] (id 1). bpe and wordpiece keep every character seen in
training, whatever `vocab_size` (so a small one can end up larger), and merge a pair seen at
least `min_frequency` times; they split an unseen word into pieces they know, and only a
character no training text holds is [UNK] (wordpiece: the whole word holding it).

Defined behaviours (each tested in tests/data/test_tokenize.py):
- Normalization (Unicode NFKC or NFC, then lower-casing) happens inside the tokenizer, so
  fit, encode and `pieces` treat text identically; accents are kept.
- `length` = min(max_tokens, the most tokens any training text has), at least 1. A longer
  text keeps its first `length` tokens; `encode` reports how many rows were cut.
- A missing value (None, NaN, pd.NA) or an empty or whitespace-only text is a row of 0s
  (zero tokens), counted in the stats as "empty".
- A number (or any value that is not text) where text is expected is a DataError naming the
  column, the data row and the value. Bytes are decoded as UTF-8.
- Invalid Unicode (a str holding lone surrogates, as `bytes.decode(errors="surrogateescape")`
  makes from non-UTF-8 bytes, or bytes that are not UTF-8) is cleaned: each invalid code
  point (or byte sequence) becomes U+FFFD; the stats count the rows so cleaned as "replaced".
  A lone surrogate is one code point, so offsets into a cleaned str still index the original.
- Fitting refuses training texts that are all empty, or that give fewer than 2 distinct
  tokens besides [PAD] and [UNK] (the texts could not tell rows apart).

Why Hugging Face `tokenizers`: its BPE and WordPiece trainers are the standard algorithms
(the ones BERT- and GPT-style vocabularies come from), written in Rust with batch encoding,
so 10k texts fit and encode in about a second on 2 cores; it maps every token back to
character offsets in the original text (what per-token attributions need); and a tokenizer is
plain JSON (`to_str`/`from_str`), so a bundle holds no pickle. HF details handled here:
special tokens are kept out of its "added tokens" (which it would match in raw text);
WordPiece's "##" pieces are registered in sorted order before training, because HF creates
them in hash-map order and the trained vocabulary would change from run to run
(huggingface/tokenizers#1794); char's vocabulary is counted here into an HF WordLevel model
(HF's trainer is ten times slower at it), and a char text is cut to its start before HF
sees it (`_head`), as a word has no length bound but a character does.
"""

from __future__ import annotations

import json
import numbers
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, TypeGuard

import numpy as np
import pandas as pd
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

from ..errors import BundleError, ConfigError, DataError, did_you_mean

TOKENIZERS = ("bpe", "wordpiece", "word", "char")
NORMALIZATIONS = ("nfkc", "nfc", "none")
PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
OPTIONS = ("kind", "vocab_size", "min_frequency", "lowercase", "normalization", "max_tokens")
# The HF model each kind is saved as: a bundle whose tokenizer is another model is damaged.
MODEL_TYPES = {"bpe": "BPE", "wordpiece": "WordPiece", "word": "WordLevel", "char": "WordLevel"}
SURROGATE = re.compile("[\ud800-\udfff]")
FIT_BATCH = 8192  # training texts encoded at once when measuring `length` (bounds memory)


class TextTokenizer:
    """One text column -> (rows, length) int64 token ids; fitted on the training texts only."""

    def __init__(
        self,
        kind: str = "bpe",
        *,
        vocab_size: int = 16000,
        min_frequency: int = 2,
        lowercase: bool = True,
        normalization: str = "nfkc",
        max_tokens: int = 256,
    ):
        check_options(kind, vocab_size, min_frequency, lowercase, normalization, max_tokens)
        self.kind = kind
        self.vocab_size = int(vocab_size)
        self.min_frequency = int(min_frequency)
        self.lowercase = lowercase
        self.normalization = normalization
        self.max_tokens = int(max_tokens)
        self._hf: Tokenizer | None = None
        self._length = 0
        self._vocab: list[str] = []

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, texts: pd.Series, *, column: str) -> TextTokenizer:
        """Learn the vocabulary and `length` from the training texts."""
        cleaned, _ = clean_texts(texts, column=column, source="training data")
        present = [t for t in cleaned if t]
        if not present:
            raise DataError(
                f"column '{column}': every training text is empty",
                hint=f"check that '{column}' is the text column and that the training rows hold text",
            )
        hf = self._untrained()
        if self.kind == "char":
            longest, used = self._count_characters(hf, present)
        else:
            hf.train_from_iterator(present, self._trainer(hf, present), length=len(present))
            hf = _without_added_tokens(hf)
            longest, used = _measure(hf, present, self.max_tokens)
        if len(used) < 2:
            raise self._too_few_tokens(column, [str(hf.id_to_token(i)) for i in sorted(used)])
        self._use(hf, max(1, longest))
        return self

    def _untrained(self) -> Tokenizer:
        if self.kind == "bpe":
            # fuse_unk: a run of unseen characters is one [UNK], as one unseen word is for word
            model: Any = models.BPE(unk_token=UNK, fuse_unk=True)
        elif self.kind == "wordpiece":
            model = models.WordPiece(unk_token=UNK)
        else:
            model = models.WordLevel(unk_token=UNK)
        hf = Tokenizer(model)
        steps: list[Any] = []
        if self.normalization != "none":
            steps.append(normalizers.NFKC() if self.normalization == "nfkc" else normalizers.NFC())
        if self.lowercase:
            steps.append(normalizers.Lowercase())
        if self.kind == "char":
            steps.append(normalizers.Strip())  # spaces are tokens here: drop the ones around the text
            hf.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        else:
            hf.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
        if steps:
            hf.normalizer = normalizers.Sequence(steps)
        return hf

    def _trainer(self, hf: Tokenizer, texts: list[str]) -> Any:
        options: dict[str, Any] = {
            "vocab_size": self.vocab_size,
            "min_frequency": self.min_frequency,
            "show_progress": False,
        }
        if self.kind == "bpe":
            return trainers.BpeTrainer(special_tokens=[PAD, UNK], **options)
        if self.kind == "wordpiece":
            # "##c" for every character that can sit inside a word, in sorted order, so HF does
            # not number them in hash-map order (huggingface/tokenizers#1794).
            return trainers.WordPieceTrainer(special_tokens=[PAD, UNK, *_inner_pieces(hf, texts)], **options)
        return trainers.WordLevelTrainer(special_tokens=[PAD, UNK], **options)  # word

    def _count_characters(self, hf: Tokenizer, texts: list[str]) -> tuple[int, set[int]]:
        """Give `hf` the char vocabulary; return the most tokens a text has and the ids used.

        Counted here rather than by HF's WordLevelTrainer, which would first split every text
        into one piece per character: ten times slower for the same vocabulary.
        """
        assert hf.normalizer is not None  # char always strips
        normalized = [hf.normalizer.normalize_str(t) for t in texts]
        counts: Counter[str] = Counter()
        for text in normalized:
            counts.update(text)
        frequent = [c for c, n in counts.items() if n >= self.min_frequency]
        kept = sorted(frequent, key=lambda c: (-counts[c], c))[: self.vocab_size - 2]
        hf.model = models.WordLevel({PAD: PAD_ID, UNK: UNK_ID, **{c: i + 2 for i, c in enumerate(kept)}}, unk_token=UNK)
        return min(self.max_tokens, max(map(len, normalized))), set(range(2, len(kept) + 2))

    def _use(self, hf: Tokenizer, length: int) -> None:
        vocab = hf.get_vocab(with_added_tokens=False)
        tokens = [""] * len(vocab)
        for token, i in vocab.items():
            if not 0 <= i < len(tokens) or tokens[i]:
                raise RuntimeError(f"the tokenizer's ids are not 0 to {len(tokens) - 1}, one per token")
            tokens[i] = token
        if tokens[:2] != [PAD, UNK]:
            raise RuntimeError(f"the tokenizer's first ids are {tokens[:2]}, not [{PAD}, {UNK}]")
        # Truncating at length + 1 keeps the ids that tell a cut row (its last column is not PAD)
        # without building the tokens past it; padding to it makes one rectangular batch.
        hf.enable_truncation(max_length=length + 1)
        hf.enable_padding(pad_id=PAD_ID, pad_token=PAD, length=length + 1)
        self._hf, self._length, self._vocab = hf, length, tokens

    def _too_few_tokens(self, column: str, used: list[str]) -> DataError:
        if used:
            return DataError(
                f"column '{column}': a single-token vocabulary ({used[0]!r}): the texts cannot tell rows apart",
                hint=f"check that '{column}' holds free text; the training texts must hold more than one "
                "distinct word or character",
            )
        return DataError(
            f"column '{column}': an empty vocabulary: no token occurs {self.min_frequency} times in the "
            "training texts, so every text would be [UNK]",
            hint=f"lower data.text.min_frequency (now {self.min_frequency}) or train on more texts",
        )

    # -- encoding ----------------------------------------------------------------------------
    @property
    def length(self) -> int:
        """The fixed width of `encode`'s output."""
        self._fitted("length")
        return self._length

    @property
    def vocab(self) -> list[str]:
        """Token by id: vocab[0] is [PAD], vocab[1] is [UNK]."""
        self._fitted("vocab")
        return list(self._vocab)

    def encode(self, texts: pd.Series, *, column: str, source: str) -> tuple[np.ndarray, dict[str, int]]:
        """(rows, length) int64 ids, 0 after each row's last token, and counts of what happened.

        The counts: rows, empty (rows with no token), truncated (rows cut to `length`),
        unknown ([UNK] tokens kept), tokens (tokens kept), replaced (rows whose invalid
        Unicode became U+FFFD).
        """
        hf = self._fitted("encode")
        cleaned, replaced = clean_texts(texts, column=column, source=source)
        rows = [i for i, t in enumerate(cleaned) if t]
        out = np.zeros((len(cleaned), self._length), dtype=np.int64)  # (rows, length)
        truncated = 0
        if rows:
            encodings = hf.encode_batch_fast([self._head(cleaned[i]) for i in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)  # (present rows, length + 1)
            truncated = int((ids[:, self._length] != PAD_ID).sum())
            out[rows] = ids[:, : self._length]
        counts = (out != PAD_ID).sum(axis=1)
        stats = {
            "rows": len(cleaned),
            "empty": int((counts == 0).sum()),
            "truncated": truncated,
            "unknown": int((out == UNK_ID).sum()),
            "tokens": int(counts.sum()),
            "replaced": replaced,
        }
        return out, stats

    def pieces(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """The tokens of one text, each with its (start, end) character offsets into `text`.

        Cut to `length` like `encode`. Offsets index the text as given, before lower-casing or
        normalization (a wordpiece token inside a word keeps its "##").
        """
        hf = self._fitted("pieces")
        cleaned, _ = clean_texts([text], column="text", source="pieces")
        if not cleaned[0]:
            return []
        encoding = hf.encode(self._head(cleaned[0]))
        kept = [
            (token, (int(start), int(end)))
            for token, (start, end), real in zip(encoding.tokens, encoding.offsets, encoding.attention_mask)
            if real
        ]
        return kept[: self._length]

    def _head(self, text: str) -> str:
        """The start of a char text long enough for its first length + 1 tokens.

        Normalization joins at most 4 code points into one character (NFC composition), so
        8 per token, after the leading whitespace Strip removes, leave the first tokens as
        they are; a 1 MB text is then not split into a million pieces only to be cut. A word
        has no such bound, so the other kinds give HF the whole text.
        """
        limit = 8 * (self._length + 1) + 64
        if self.kind != "char" or len(text) <= limit:
            return text
        return text[: len(text) - len(text.lstrip()) + limit]

    def _fitted(self, method: str) -> Tokenizer:
        if self._hf is None:
            raise RuntimeError(f"TextTokenizer.{method} called before fit")
        return self._hf

    # -- saving ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the options, `length`, and the HF tokenizer as its JSON string."""
        hf = self._fitted("to_dict")
        return {**{key: getattr(self, key) for key in OPTIONS}, "length": self._length, "tokenizer": hf.to_str()}

    @classmethod
    def from_dict(cls, d: dict, *, where: str = "preprocessing") -> TextTokenizer:
        """The tokenizer `to_dict` saved; a BundleError naming `where` if `d` is not one."""
        hint = "the bundle is damaged or was not written by layerwise: restore it or train again"
        if not isinstance(d, dict):
            raise BundleError(f"{where}: the text tokenizer is {type(d).__name__}, not a JSON object", hint=hint)
        missing = [key for key in (*OPTIONS, "length", "tokenizer") if key not in d]
        if missing:
            raise BundleError(f"{where}: the text tokenizer lacks {', '.join(missing)}", hint=hint)
        try:
            self = cls(**{key: d[key] for key in OPTIONS})
        except ConfigError as err:
            raise BundleError(f"{where}: the text tokenizer's options: {'; '.join(err.problems)}", hint=hint) from None
        length, text = d["length"], d["tokenizer"]
        if not _whole(length) or not 1 <= length <= self.max_tokens:
            raise BundleError(f"{where}.length: {length!r} is not a width from 1 to {self.max_tokens}", hint=hint)
        try:
            model_type = json.loads(text)["model"]["type"]
            hf = Tokenizer.from_str(text)
        except Exception as err:  # tokenizers raises plain Exception on a malformed JSON
            raise BundleError(f"{where}.tokenizer: not a Hugging Face tokenizer ({err})", hint=hint) from None
        if model_type != MODEL_TYPES[self.kind]:
            raise BundleError(
                f"{where}.tokenizer: a {model_type} model, where the kind '{self.kind}' needs {MODEL_TYPES[self.kind]}",
                hint=hint,
            )
        try:
            self._use(hf, int(length))
        except RuntimeError as err:
            raise BundleError(f"{where}.tokenizer: {err}", hint=hint) from None
        return self


# -- options and values ------------------------------------------------------------------------
def check_options(
    kind: object,
    vocab_size: object,
    min_frequency: object,
    lowercase: object,
    normalization: object,
    max_tokens: object,
) -> None:
    """A ConfigError listing every bad option, each by its config key."""
    problems = []
    if kind not in TOKENIZERS:
        problems.append(
            f"data.text.tokenizer: unknown tokenizer {kind!r}{did_you_mean(str(kind), TOKENIZERS)}; "
            f"choose one of {', '.join(TOKENIZERS)}"
        )
    for key, value, least in (
        ("data.text.vocab_size", vocab_size, 10),
        ("data.text.min_frequency", min_frequency, 1),
        ("data.text.max_tokens", max_tokens, 1),
    ):
        if not _whole(value) or value < least:
            problems.append(f"{key}: {value!r} must be a whole number of at least {least}")
    if not isinstance(lowercase, bool):
        problems.append(f"data.text.lowercase: {lowercase!r} must be true or false")
    if normalization not in NORMALIZATIONS:
        problems.append(
            f"data.text.normalization: unknown normalization {normalization!r}"
            f"{did_you_mean(str(normalization), NORMALIZATIONS)}; choose one of {', '.join(NORMALIZATIONS)}"
        )
    if problems:
        raise ConfigError(problems)


def clean_texts(texts: Iterable, *, column: str, source: str) -> tuple[list[str], int]:
    """Each value as text ("" for a missing, empty or whitespace-only one) and the number of
    values whose invalid Unicode became U+FFFD; a value that is not text is a DataError."""
    values = texts.tolist() if isinstance(texts, pd.Series) else list(texts)
    out: list[str] = []
    replaced = 0
    for row, value in enumerate(values):
        if isinstance(value, str):
            text = value
            if not text.isascii() and SURROGATE.search(text):
                text = SURROGATE.sub("\ufffd", text)
                replaced += 1
        elif isinstance(value, (bytes, bytearray)):
            try:
                text = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                text = bytes(value).decode("utf-8", errors="replace")
                replaced += 1
        elif _missing(value):
            text = ""
        else:
            raise _not_text(values, row, column, source)
        out.append(text if text and not text.isspace() else "")
    return out, replaced


def _missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, (float, np.floating)) and bool(np.isnan(value)))
    )


def _not_text(values: list, row: int, column: str, source: str) -> DataError:
    bad = sum(1 for v in values if not isinstance(v, (str, bytes, bytearray)) and not _missing(v))
    value = values[row]
    shown = value.item() if isinstance(value, np.generic) else value
    what = "a number" if isinstance(value, (numbers.Number, np.bool_)) else f"a {type(value).__name__}"
    return DataError(
        f"{source}: column '{column}' must hold text, but data row {row + 1} holds {repr(shown)[:60]} ({what}; "
        f"{bad} such value{'s' if bad > 1 else ''})",
        hint=f"'{column}' is a text column: write each value as text (in JSON, quote it), correct the file, "
        f"or give '{column}' another kind in data.columns if it holds numbers",
    )


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# -- Hugging Face details -------------------------------------------------------------------
def _without_added_tokens(hf: Tokenizer) -> Tokenizer:
    """The tokenizer with [PAD], [UNK] (and "##c") only in its model's vocabulary: HF matches
    "added tokens" in the raw text, so a review quoting "[PAD]" would become id 0."""
    state = json.loads(hf.to_str())
    state["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(state))


def _inner_pieces(hf: Tokenizer, texts: list[str]) -> list[str]:
    """'##c' for each character of the normalized texts that can continue a word."""
    joined = "\n".join(texts)
    if hf.normalizer is not None:
        joined = hf.normalizer.normalize_str(joined)
    assert hf.pre_tokenizer is not None
    split = hf.pre_tokenizer.pre_tokenize_str
    # a character continues a word when two of it stay one piece (not whitespace, not punctuation)
    return [f"##{c}" for c in sorted(set(joined)) if len(split(c + c)) == 1]


def _measure(hf: Tokenizer, texts: list[str], max_tokens: int) -> tuple[int, set[int]]:
    """The most tokens (up to max_tokens) any text has, and the real token ids the texts use."""
    hf.enable_truncation(max_length=max_tokens)
    hf.enable_padding(pad_id=PAD_ID, pad_token=PAD)
    longest, used = 0, set[int]()
    for start in range(0, len(texts), FIT_BATCH):
        encodings = hf.encode_batch_fast(texts[start : start + FIT_BATCH])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)  # (batch, longest in batch)
        longest = max(longest, int((ids != PAD_ID).sum(axis=1).max()))
        used.update(int(i) for i in np.unique(ids) if i > UNK_ID)
    return longest, used
