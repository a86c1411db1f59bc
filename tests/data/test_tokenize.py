"""TextTokenizer: ids, padding, the defined behaviours for bad text, train-only vocabularies, JSON."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layerwise.data.tokenize import PAD, TOKENIZERS, UNK, TextTokenizer
from layerwise.errors import BundleError, ConfigError, DataError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "debian-descriptions.csv"

REVIEWS = pd.Series(
    [
        "The film was great, a great story!",
        "A dull film; the story was thin.",
        "Great acting and a great story.",
        "The acting was dull and the film was long",
        "Thin story, dull acting.",
        "A long film, but a great one.",
    ]
    * 3
)
# words the reviews never use, and a character ('z') they never hold
UNSEEN = pd.Series(["zebra quiz", "the zebra was great"])


def fitted(kind: str, texts: pd.Series = REVIEWS, **options) -> TextTokenizer:
    return TextTokenizer(kind, vocab_size=200, min_frequency=1, **options).fit(texts, column="review")


def token_count(row: np.ndarray) -> int:
    return int((row != 0).sum())


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_each_kind_gives_padded_ids(kind):
    tok = fitted(kind)
    ids, stats = tok.encode(REVIEWS, column="review", source="train.csv")
    assert ids.dtype == np.int64 and ids.shape == (len(REVIEWS), tok.length)
    assert tok.vocab[:2] == [PAD, UNK] and ids.max() < len(tok.vocab)
    for row in ids:  # the tokens, then only PAD
        n = token_count(row)
        assert n > 0 and (row[:n] != 0).all() and (row[n:] == 0).all()
    assert stats == {
        "rows": len(REVIEWS),
        "empty": 0,
        "truncated": 0,
        "unknown": 0,
        "tokens": int((ids != 0).sum()),
        "replaced": 0,
    }


def test_word_and_char_tokens_are_what_they_say():
    word = fitted("word")
    assert [t for t, _ in word.pieces("The film, great!")] == ["the", "film", ",", "great", "!"]
    char = fitted("char")
    assert [t for t, _ in char.pieces("  Dull film ")] == list("dull film")


def test_length_is_the_longest_training_text_capped_by_max_tokens():
    texts = pd.Series(["one two three", "one two three four five", "two one"])
    assert fitted("word", texts).length == 5
    assert fitted("word", texts, max_tokens=4).length == 4
    assert fitted("char", texts, max_tokens=1000).length == len("one two three four five")


def test_missing_and_empty_texts_are_rows_of_pad():
    tok = fitted("word")
    texts = pd.Series(["great film", None, np.nan, pd.NA, "", "  \t\n "], dtype=object)
    ids, stats = tok.encode(texts, column="review", source="new.csv")
    assert token_count(ids[0]) == 2 and (ids[1:] == 0).all()
    assert stats["empty"] == 5 and stats["rows"] == 6 and stats["tokens"] == 2
    strings = tok.encode(pd.Series(["great", None], dtype="string"), column="review", source="new.csv")[0]
    assert token_count(strings[0]) == 1 and token_count(strings[1]) == 0


def test_long_texts_keep_their_first_tokens_and_are_counted():
    tok = fitted("word", max_tokens=3)
    assert tok.length == 3
    ids, stats = tok.encode(pd.Series(["great film", "the film was dull and long"]), column="review", source="x")
    index = {t: i for i, t in enumerate(tok.vocab)}
    assert ids[1].tolist() == [index["the"], index["film"], index["was"]]
    assert stats["truncated"] == 1 and stats["tokens"] == 5


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_a_megabyte_text_is_truncated(kind):
    tok = fitted(kind, max_tokens=8)
    huge = "  " + "great story " * 90_000  # about 1 MB
    ids, stats = tok.encode(pd.Series([huge]), column="review", source="request")
    assert stats["truncated"] == 1 and token_count(ids[0]) == tok.length == 8
    short = tok.encode(pd.Series([huge[:200]]), column="review", source="request")[0]
    assert ids.tolist() == short.tolist()  # the same first tokens as the text's start gives


def test_unknown_words_and_characters_are_unk():
    word = fitted("word")
    ids, stats = word.encode(pd.Series(["the zebra was great"]), column="review", source="x")
    assert ids[0, 1] == 1 and stats["unknown"] == 1 and token_count(ids[0]) == 4
    char = fitted("char")
    ids, stats = char.encode(pd.Series(["zz"]), column="review", source="x")
    assert ids[0, :2].tolist() == [1, 1] and stats["unknown"] == 2


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_the_vocabulary_is_fitted_on_training_texts_only(kind):
    tok = fitted(kind)
    before, saved = tok.vocab, json.dumps(tok.to_dict())
    ids, stats = tok.encode(UNSEEN, column="review", source="test.csv")
    assert tok.vocab == before and json.dumps(tok.to_dict()) == saved
    assert not any("z" in token for token in before) and stats["unknown"] >= 1
    if kind in ("word", "char"):
        assert [t for t, _ in tok.pieces("zzz")] == [UNK] * (1 if kind == "word" else 3)


def test_literal_special_tokens_in_text_are_plain_text():
    tok = fitted("word")
    ids, stats = tok.encode(pd.Series(["great [PAD] film [UNK]"]), column="review", source="x")
    n = token_count(ids[0])
    assert n == 8 and (ids[0, :n] != 0).all()  # great [ pad ] film [ unk ]


def test_a_number_where_text_is_expected_names_row_column_and_value():
    tok = fitted("word")
    with pytest.raises(DataError) as err:
        tok.encode(pd.Series(["great film", "dull", np.int64(42)], dtype=object), column="review", source="new.csv")
    message = str(err.value)
    assert "new.csv" in message and "column 'review'" in message and "data row 3" in message
    assert "42 (a number" in message and "np.int64" not in message and "text" in err.value.hint
    for column, row, shown in (
        (pd.Series([7, 8]), "data row 1", "7"),
        (pd.Series([np.nan, 2.5]), "data row 2", "2.5"),
        (pd.Series(["good", True], dtype=object), "data row 2", "True"),
    ):
        with pytest.raises(DataError, match=f"{row} holds {shown} \\(a number"):
            tok.encode(column, column="review", source="new.csv")
    with pytest.raises(DataError, match="training data: column 'review'.*data row 2"):
        TextTokenizer("word", min_frequency=1).fit(pd.Series(["a b", 3.5], dtype=object), column="review")


def test_invalid_unicode_becomes_the_replacement_character():
    tok = fitted("char")
    broken = b"caf\xe9 great".decode("utf-8", errors="surrogateescape")  # '\udce9' where é was
    # object dtype: pandas' own string dtype cannot hold a lone surrogate
    values = pd.Series([broken, b"dull \xff", b"great"], dtype=object)
    ids, stats = tok.encode(values, column="review", source="x")
    assert stats["replaced"] == 2 and ids[0, 3] == 1  # U+FFFD is not in the vocabulary
    pieces = tok.pieces(broken)
    assert len(pieces) == len(broken) and pieces[3] == (UNK, (3, 4))
    # training on it works too, and learns U+FFFD as a character
    trained = fitted("char", pd.Series([broken, "great café", broken], dtype=object))
    assert "\ufffd" in trained.vocab


def test_a_single_token_vocabulary_is_refused():
    with pytest.raises(DataError, match="column 'review': a single-token vocabulary \\('a'\\)") as err:
        fitted("word", pd.Series(["a", "a a", "A", None]))
    assert "cannot tell rows apart" in str(err.value) and err.value.hint
    with pytest.raises(DataError, match="single-token vocabulary \\('x'\\)"):
        fitted("char", pd.Series(["xxx", "xx"]))
    with pytest.raises(DataError, match="an empty vocabulary") as err:
        TextTokenizer("word", min_frequency=5).fit(pd.Series(["one two", "three four"]), column="review")
    assert "data.text.min_frequency" in err.value.hint


def test_all_empty_training_texts_are_refused():
    with pytest.raises(DataError, match="column 'review': every training text is empty") as err:
        fitted("bpe", pd.Series([None, "", "   ", np.nan], dtype=object))
    assert "review" in err.value.hint


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_json_round_trip_gives_identical_ids(kind):
    tok = fitted(kind)
    texts = pd.concat([REVIEWS, UNSEEN, pd.Series([None, "[PAD]"])], ignore_index=True)
    loaded = TextTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert loaded.vocab == tok.vocab and loaded.length == tok.length and loaded.kind == kind
    expected, loaded_ids = tok.encode(texts, column="r", source="x"), loaded.encode(texts, column="r", source="x")
    assert expected[0].tolist() == loaded_ids[0].tolist() and expected[1] == loaded_ids[1]
    assert loaded.pieces("The zebra film!") == tok.pieces("The zebra film!")


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_fitting_twice_gives_the_same_vocabulary_and_ids(kind):
    texts = pd.read_csv(FIXTURE, encoding="utf-8", keep_default_na=False)["description"].iloc[:1500]
    runs = [TextTokenizer(kind, vocab_size=2000).fit(texts, column="description") for _ in range(3)]
    encoded = [tok.encode(texts, column="description", source="x")[0] for tok in runs]
    assert all(tok.to_dict() == runs[0].to_dict() for tok in runs)
    assert all((ids == encoded[0]).all() for ids in encoded)


@pytest.mark.parametrize("kind", TOKENIZERS)
def test_pieces_map_back_to_the_input(kind):
    tok = fitted(kind, pd.concat([REVIEWS, pd.Series(["Naïve café, ﬁlm!"] * 2)]))
    text = "The GREAT ﬁlm, naïve café!  Ｆilm 🤗 story"
    pieces = tok.pieces(text)
    for token, (start, end) in pieces:
        # offsets index the text as given, before NFKC and lower-casing ('ﬁ' is one character
        # of the text and two tokens of char)
        if token != UNK:
            assert token.removeprefix("##") in unicodedata.normalize("NFKC", text[start:end]).lower()
    assert any(start == 4 and token.startswith("g") for token, (start, _) in pieces)  # 'GREAT'
    ids = tok.encode(pd.Series([text]), column="review", source="x")[0][0]
    assert [tok.vocab.index(t) for t, _ in pieces] == ids[: token_count(ids)].tolist()
    short = fitted(kind, max_tokens=3)
    assert len(short.pieces(text)) == 3 and short.pieces("   ") == []


def test_lowercase_and_normalization_options():
    texts = pd.Series(["GREAT film", "great story", "ＧＲＥＡＴ acting"])
    ids = fitted("word", texts).encode(texts, column="r", source="x")[0]
    assert ids[0, 0] == ids[1, 0] == ids[2, 0]
    cased = fitted("word", texts, lowercase=False).encode(texts, column="r", source="x")[0]
    assert len({cased[0, 0], cased[1, 0]}) == 2 and cased[2, 0] == cased[0, 0]  # NFKC: 'ＧＲＥＡＴ' -> 'GREAT'
    raw = fitted("word", texts, normalization="none").encode(texts, column="r", source="x")[0]
    assert raw[2, 0] != raw[0, 0] == raw[1, 0]
    accents = fitted("char", pd.Series(["café", "cafe"]))
    assert "é" in accents.vocab  # accents are kept


def test_word_vocabulary_keeps_the_most_frequent_words():
    texts = pd.Series(["a b c d e f g h i j k"] + ["common words here"] * 3 + ["a b"])
    tok = TextTokenizer("word", vocab_size=10, min_frequency=1).fit(texts, column="r")
    assert len(tok.vocab) == 10 and {"common", "words", "here", "a", "b"} <= set(tok.vocab)
    frequent = TextTokenizer("word", min_frequency=2).fit(texts, column="r")
    assert set(frequent.vocab) == {PAD, UNK, "common", "words", "here", "a", "b"}


def test_unknown_options_name_their_config_key():
    with pytest.raises(
        ConfigError, match="data.text.tokenizer: unknown tokenizer 'wordpeice' \\(did you mean 'wordpiece'"
    ):
        TextTokenizer("wordpeice")
    with pytest.raises(ConfigError, match="data.text.normalization.*\\(did you mean 'nfc'"):
        TextTokenizer(normalization="nfd")
    with pytest.raises(ConfigError) as err:
        TextTokenizer(vocab_size=5, min_frequency=0, max_tokens=0, lowercase="yes")  # type: ignore[arg-type]
    keys = ("data.text.vocab_size", "data.text.min_frequency", "data.text.max_tokens", "data.text.lowercase")
    assert len(err.value.problems) == 4 and all(k in str(err.value) for k in keys)


def test_a_malformed_saved_tokenizer_is_a_bundle_error():
    saved = fitted("word").to_dict()
    state = json.loads(saved["tokenizer"])
    state["model"]["vocab"].update({PAD: 1, UNK: 0})
    renumbered = json.dumps(state)
    for broken, found in (
        ([], "not a JSON object"),
        ({k: v for k, v in saved.items() if k != "tokenizer"}, "lacks tokenizer"),
        ({**saved, "tokenizer": "{not json"}, "not a Hugging Face tokenizer"),
        ({**saved, "kind": "bpe"}, "a WordLevel model, where the kind 'bpe' needs BPE"),
        ({**saved, "length": 0}, "length"),
        ({**saved, "normalization": "nfd"}, "data.text.normalization"),
        ({**saved, "tokenizer": renumbered}, "first ids are ['[UNK]', '[PAD]']"),
    ):
        with pytest.raises(BundleError, match="preprocessing.text.review") as err:
            TextTokenizer.from_dict(broken, where="preprocessing.text.review")  # type: ignore[arg-type]
        assert found in str(err.value)


def test_using_it_before_fit_is_a_programming_error():
    with pytest.raises(RuntimeError, match="encode called before fit"):
        TextTokenizer().encode(REVIEWS, column="review", source="x")
