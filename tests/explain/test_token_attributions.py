"""A table with text columns is explained per token: IG on each text's embedding (and the dense
features) adds up to f(x) - f(every text empty), each token maps back to its characters, padding
gets nothing, and no method treats a token id as a number."""

import json

import numpy as np
import pandas as pd
import pytest

import layerwise
from layerwise.explain import Explanation
from layerwise.explain.baseline import training_baseline
from layerwise.explain.checks import COMPLETENESS_LIMIT
from layerwise.explain.output import of_predictor
from layerwise.explain.tokens import TOKEN_COLUMNS, text_inputs

WORDS = ["the", "box", "came", "with", "a", "cable"]


def reviews(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.choice(["pos", "neg"], n)
    texts = [
        " ".join(
            [
                *rng.choice(WORDS, rng.integers(1, 5)),
                rng.choice(["great", "superb"] if y == "pos" else ["awful", "broken"]),
            ]
        )
        for y in labels
    ]
    return pd.DataFrame({"review": texts, "stars": rng.normal(3, 1, n), "y": labels})


def trained(block: str, tmp_path_factory) -> layerwise.bundle.predictor.Predictor:
    model = {"type": block, "hidden": [8], "embedding": 8}
    cfg = {
        "data": {"target": "y", "columns": {"review": "text"}},
        "model": model,
        "train": {"epochs": 4, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 20},
    }
    folder = tmp_path_factory.mktemp(block)
    return layerwise.Experiment(cfg, data=reviews(200, 0)).run(folder / "run").predictor


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    return trained("text_bag", tmp_path_factory)


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    return trained("text_cnn", tmp_path_factory)


def rows() -> pd.DataFrame:
    frame = reviews(12, 1)
    frame.loc[0, "review"] = "The box came with a cable, superb"  # punctuation, capitals; cut at the run's length
    frame.loc[1, "review"] = ""  # no text: no token at all
    frame.loc[2, "review"] = "awful"
    return frame


def logit_of(predictor, frame: pd.DataFrame, target: np.ndarray) -> np.ndarray:
    """The explained output (the target class's logit), straight from the model."""
    x = predictor.features.transform(frame[predictor.task.features])
    out = of_predictor(predictor).values(x)
    return out[np.arange(len(x)), target]


@pytest.mark.parametrize("block", ["bag", "cnn"])
def test_ig_tokens_dense_and_presence_add_up_to_the_output_minus_every_text_empty(block, request):
    predictor = request.getfixturevalue(block)
    frame = rows()
    e = layerwise.explain(predictor, frame, method="ig", steps=64)
    targets = of_predictor(predictor).target(predictor.features.transform(frame[["review", "stars"]]))
    # the baseline is the row with its text empty and its dense features at the training fill
    empty = frame.assign(review="", stars=predictor.features.columns["stars"]["fill"])
    np.testing.assert_allclose(e.baseline_output, logit_of(predictor, empty, targets), atol=1e-5)
    np.testing.assert_allclose(e.output, logit_of(predictor, frame, targets), atol=1e-5)
    gap = e.output - e.baseline_output
    # every feature (review = its tokens + its presence) together ...
    leftover = np.abs(e.attributions.sum(axis=1) - gap).sum() / np.abs(gap).sum()
    assert leftover < COMPLETENESS_LIMIT
    # ... and the tokens' table, the presence and the dense feature, apart
    tokens = e.tokens.groupby("row")["attribution"].sum().reindex(e.rows, fill_value=0.0).to_numpy()
    presence = np.array([p["review"] for p in e.presence])
    stars = e.attributions[:, e.names.index("stars")]
    np.testing.assert_allclose(tokens + presence + stars, e.attributions.sum(axis=1), atol=1e-6)
    check = next(c for c in e.checks if c["check"] == "completeness")
    assert check["passed"], check
    if block == "bag":  # a mean of embeddings: where the tokens are does nothing by itself
        np.testing.assert_allclose(presence, 0.0, atol=1e-6)
    else:  # a conv's bias acts at every token position: the presence carries it
        assert np.abs(presence).max() > 1e-5


def test_tokens_map_back_to_their_words_and_padding_is_dropped(bag):
    frame = rows()
    e = layerwise.explain(bag, frame, method="ig", checks=False)
    assert list(e.tokens.columns) == TOKEN_COLUMNS
    length = text_inputs(bag)[0].length
    x = bag.features.transform(frame[["review", "stars"]])
    for i, label in enumerate(e.rows):
        text = frame["review"].iloc[label]
        mine = e.tokens[e.tokens["row"] == label]
        real = int((x[i, text_inputs(bag)[0].offset :] != 0).sum())
        assert len(mine) == real <= length  # one line per real token, none for padding
        assert mine["position"].tolist() == list(range(real))
        for t in mine.to_dict("records"):
            assert text[t["start"] : t["end"]].lower() == t["token"]
        words = [w for w in text.replace(",", " , ").lower().split()][:length]
        assert mine["token"].tolist() == words
    assert e.tokens[e.tokens["row"] == 1].empty  # the empty review
    assert e.tokens[e.tokens["row"] == 0]["token"].tolist()[:3] == ["the", "box", "came"]
    assert e.texts[0]["review"] == frame["review"].iloc[0]


def test_ablation_is_each_token_replaced_by_pad_and_no_method_perturbs_an_id(bag):
    frame = rows().iloc[:4]
    e = layerwise.explain(bag, frame, method="ablation", checks=False)
    x = bag.features.transform(frame[["review", "stars"]])
    offset = text_inputs(bag)[0].offset
    targets = of_predictor(bag).target(x)
    forward = of_predictor(bag)
    full = forward.values(x)[np.arange(len(x)), targets]
    for t in e.tokens.to_dict("records"):
        i = e.rows.index(t["row"])
        without = x[i : i + 1].copy()
        without[0, offset + t["position"]] = 0  # the token becomes [PAD]
        expected = full[i] - forward.values(without)[0, targets[i]]
        assert t["attribution"] == pytest.approx(expected, abs=1e-5)
    # saliency: finite, and a text column is one feature of the user's, never 'review[3]'
    s = layerwise.explain(bag, frame, method="saliency", checks=False)
    assert np.isfinite(s.tokens["attribution"]).all() and s.names == ["review", "stars"]
    p = layerwise.explain(bag, reviews(60, 2), method="permutation")
    assert sorted(p.importance["feature"]) == ["review", "stars"]
    assert p.tokens is None


def test_the_folder_holds_tokens_and_their_importance_and_reads_back(bag, tmp_path):
    e = layerwise.explain(bag, rows(), method="ig", out=tmp_path / "explain")
    folder = tmp_path / "explain"
    tokens = pd.read_csv(folder / "tokens.csv", keep_default_na=False)
    assert list(tokens.columns) == TOKEN_COLUMNS and len(tokens) == len(e.tokens)
    top = pd.read_csv(folder / "token_importance.csv")
    assert list(top.columns) == ["column", "token", "importance", "mean", "count", "rows"]
    assert (top["importance"].diff().dropna() <= 0).all()  # most important first
    first = top.iloc[0]
    by_hand = e.tokens[(e.tokens["token"] == first["token"])]["attribution"].abs().mean()
    assert first["importance"] == pytest.approx(by_hand)
    meta = json.loads((folder / "explain.json").read_text())
    assert meta["rows"][0]["texts"]["review"] == rows()["review"].iloc[0]
    assert set(meta["rows"][0]["presence"]) == {"review"}
    back = Explanation.read(folder)
    pd.testing.assert_frame_equal(back.tokens, e.tokens, check_dtype=False)
    assert back.texts == [{"review": t} for t in rows()["review"]]
    assert e.describe() and "tokens by mean |attribution|" in e.describe()[0]


def test_the_baseline_row_has_every_token_pad(bag):
    base, said = training_baseline(bag)
    t = text_inputs(bag)[0]
    assert (base[t.offset :] == 0).all() and len(base) == t.offset + t.length
    assert "[PAD]" in said
    # the row of an empty text at the fill values, through the bundle's own preprocessing
    empty = bag.features.transform(pd.DataFrame({"review": [""], "stars": [bag.features.columns["stars"]["fill"]]}))
    np.testing.assert_allclose(empty[0], base, atol=1e-6)
