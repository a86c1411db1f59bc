"""Pretrained word vectors copied into a text model's token embeddings (models/vectors.py),
from small vector files written here."""

import pytest
import torch

from layerwise.errors import ConfigError, DataError
from layerwise.models import build
from layerwise.models.vectors import fill_embeddings, vector_width

VOCAB = ["[PAD]", "[UNK]", "the", "movie", "##ing", "Ġgreat", "zzz"]  # zzz is in no file
TITLES = ["[PAD]", "[UNK]", "movie", "bad"]


def write(tmp_path, lines: list[str], name: str = "vectors.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def model(width: int = 3, kind: str = "text_bag"):
    texts = [{"name": "review", "length": 5, "vocab": len(VOCAB)}, {"name": "title", "length": 2, "vocab": len(TITLES)}]
    key = "d_model" if kind == "text_transformer" else "embedding"
    extra = {"heads": 1} if kind == "text_transformer" else {}
    section = {"type": kind, key: width, **extra, "inputs": {"dense": 1, "texts": texts}}
    return build(section, (8,), 2, seed=0)


GLOVE = [
    "the 0.1 0.2 0.3",
    "Movie 9 9 9",
    "movie 1.0 2.0 3.0",
    "ing -1 -2 -3",
    "great 0.5 0.5 0.5",
    "bad 4 5 6",
    "unused 7 7 7",
]


def test_glove_vectors_fill_found_tokens_and_leave_pad_zero(tmp_path):
    path = write(tmp_path, GLOVE)
    m = model()
    before = {k: e.weight.detach().clone() for k, e in m.token_embeddings().items()}
    report = fill_embeddings(m, {"review": VOCAB, "title": TITLES}, path, lowercase=False)
    review = m.token_embeddings()["review"].weight
    assert torch.equal(review[2], torch.tensor([0.1, 0.2, 0.3]))
    assert torch.equal(review[3], torch.tensor([1.0, 2.0, 3.0]))  # the exact word, not "Movie"
    assert torch.equal(review[4], torch.tensor([-1.0, -2.0, -3.0]))  # "##ing" takes "ing"
    assert torch.equal(review[5], torch.tensor([0.5, 0.5, 0.5]))  # "Ġgreat" takes "great"
    assert torch.equal(review[0], torch.zeros(3))
    assert torch.equal(review[1], before["review"][1]) and torch.equal(review[6], before["review"][6])
    assert torch.equal(m.token_embeddings()["title"].weight[3], torch.tensor([4.0, 5.0, 6.0]))
    assert report == {
        "review": {"tokens": 7, "found": 4, "coverage": 4 / 5},
        "title": {"tokens": 4, "found": 2, "coverage": 1.0},
    }


def test_lowercase_folds_the_files_words_and_an_exact_lowercase_word_wins(tmp_path):
    path = write(tmp_path, ["THE 1 1 1", "The 2 2 2", "MOVIE 3 3 3", "movie 4 4 4"])
    m = model()
    report = fill_embeddings(m, {"review": VOCAB}, path, lowercase=True)
    review = m.token_embeddings()["review"].weight
    assert torch.equal(review[2], torch.ones(3))  # the first of the folded ones
    assert torch.equal(review[3], torch.full((3,), 4.0))  # already lowercase: wins over MOVIE
    assert report["review"]["found"] == 2
    fill_embeddings(m, {"review": VOCAB}, write(tmp_path, ["THE 5 5 5"], "cased.txt"), lowercase=False)
    assert torch.equal(m.token_embeddings()["review"].weight[2], torch.ones(3))  # no folding: not found


def test_word2vec_and_fasttext_headers_are_skipped(tmp_path):
    # fastText .vec: "count dim" first, and a space at the end of every line
    path = write(tmp_path, ["2 3", "the 1 2 3 ", "movie 4 5 6 "], "crawl.vec")
    assert vector_width(path) == 3
    m = model()
    report = fill_embeddings(m, {"review": VOCAB}, path, lowercase=False)
    assert report["review"]["found"] == 2
    assert torch.equal(m.token_embeddings()["review"].weight[3], torch.tensor([4.0, 5.0, 6.0]))


def test_the_transformer_takes_vectors_of_its_d_model(tmp_path):
    m = model(width=4, kind="text_transformer")
    report = fill_embeddings(m, {"title": TITLES}, write(tmp_path, ["bad 1 2 3 4"]), lowercase=False)
    assert report["title"]["found"] == 1
    with pytest.raises(ConfigError, match=r"width 3.*width 4") as info:
        fill_embeddings(m, {"title": TITLES}, write(tmp_path, GLOVE), lowercase=False)
    assert "model.d_model: 3" in str(info.value)


def test_vector_width_reads_glove_without_a_header(tmp_path):
    assert vector_width(write(tmp_path, GLOVE)) == 3


def test_a_missing_file_names_the_key_and_the_path(tmp_path):
    missing = tmp_path / "glove.6B.50d.txt"
    with pytest.raises(ConfigError, match=r"model\.init\.embedding: no file .*glove\.6B\.50d\.txt"):
        fill_embeddings(model(), {"review": VOCAB}, missing, lowercase=True)
    with pytest.raises(ConfigError, match=r"model\.init\.embedding"):
        vector_width(missing)


def test_a_line_with_the_wrong_number_of_floats_names_its_line(tmp_path):
    path = write(tmp_path, ["the 1 2 3", "movie 1 2 3", "great 1 2", "bad 1 2 3"])
    with pytest.raises(DataError, match=r"model\.init\.embedding: .*vectors\.txt line 3: 2 numbers after 'great'"):
        fill_embeddings(model(), {"review": VOCAB}, path, lowercase=False)


def test_a_value_that_is_not_a_number_names_its_line(tmp_path):
    path = write(tmp_path, ["the 1 2 3", "movie 1 x 3"])
    with pytest.raises(DataError, match=r"line 2: the vector of 'movie' holds a value that is not a number"):
        fill_embeddings(model(), {"review": VOCAB}, path, lowercase=False)


def test_a_width_unlike_the_embeddings_says_both_and_what_to_set(tmp_path):
    with pytest.raises(ConfigError) as info:
        fill_embeddings(model(width=5), {"review": VOCAB}, write(tmp_path, GLOVE), lowercase=False)
    message = str(info.value)
    assert "model.init.embedding" in message and "width 3" in message and "width 5" in message
    assert info.value.hint == "set model.embedding: 3, the file's width"


def test_a_model_without_token_embeddings_is_refused(tmp_path):
    mlp = build({"type": "mlp", "hidden": [4]}, (3,), 1)
    with pytest.raises(ConfigError, match=r"model\.init\.embedding: .*'mlp' has no token embeddings") as info:
        fill_embeddings(mlp, {"review": VOCAB}, write(tmp_path, GLOVE), lowercase=False)
    assert "text_bag" in (info.value.hint or "")


def test_a_column_the_model_does_not_embed_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"no token embedding for text column\(s\) \['summary'\]"):
        fill_embeddings(model(), {"summary": VOCAB}, write(tmp_path, GLOVE), lowercase=False)


def test_an_empty_file_holds_no_vectors(tmp_path):
    with pytest.raises(DataError, match="holds no vectors"):
        fill_embeddings(model(), {"review": VOCAB}, write(tmp_path, [""]), lowercase=False)
    with pytest.raises(DataError, match="holds no vectors"):
        vector_width(write(tmp_path, [""], "empty.txt"))
