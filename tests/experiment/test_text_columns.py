"""Tables with free-text columns, as a user meets them: which runs read text, data.columns overriding
inference for every kind, the tokenizer fitted on the training rows only, the classical reference
beside the baseline, and the bad inputs of issue #15 through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import layerwise
from layerwise import tasks
from layerwise.config.schema import ExperimentConfig
from layerwise.errors import ConfigError, DataError

FAST = {"train": {"epochs": 3, "seed": 0, "batch_size": 32}, "evaluate": {"report": False, "bootstrap": 50}}
SMALL = {"hidden": [8], "embedding": 8}


def reviews(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A review whose words say the label, a number of stars and a shop (a category)."""
    rng = np.random.default_rng(seed)
    good, bad = ["great", "lovely", "superb"], ["awful", "broken", "poor"]
    neutral = ["the", "box", "came", "with", "a", "manual", "and", "cable"]
    labels = rng.choice(["pos", "neg"], size=n)
    texts = [
        " ".join([*rng.choice(neutral, 4), str(rng.choice(good if y == "pos" else bad)), *rng.choice(neutral, 2)])
        for y in labels
    ]
    return pd.DataFrame(
        {"review": texts, "stars": rng.normal(3, 1, n).round(1), "shop": rng.choice(["a", "b"], n), "y": labels}
    )


def config(**sections) -> ExperimentConfig:
    base = {"data": {"target": "y"}, "model": dict(SMALL), **FAST}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return ExperimentConfig.from_dict(base)


def test_free_text_is_found_without_being_declared_and_drop_text_leaves_it_out():
    frame = reviews()
    assert tasks.resolve(config(), frame) is tasks.get("text")
    dropped = config(data={"target": "y", "clean": {"drop_text": True}})
    assert tasks.resolve(dropped, frame) is tasks.get("rows")
    # a table without prose stays a plain table
    assert tasks.resolve(config(), frame.drop(columns="review")) is tasks.get("rows")


def test_data_columns_declares_text_on_short_labels_and_overrides_inference_for_every_kind(tmp_path):
    frame = reviews()
    frame["zip"] = np.where(frame["y"] == "pos", 1000, 2000) + np.arange(len(frame)) % 3  # numbers, meant as codes
    frame["flag"] = np.where(np.arange(len(frame)) % 2 == 0, "yes", "no")
    cfg = config(
        data={
            "target": "y",
            "columns": {"shop": "text", "zip": "categorical", "stars": "numeric", "flag": "boolean"},
        }
    )
    _, _, prepared = tasks.prepare_again(cfg, frame)
    assert prepared.kinds["shop"] == "text"  # one-word labels, read as text because the user said so
    assert prepared.kinds["review"] == "text"  # and the prose column, found as before
    assert prepared.kinds["zip"] == "categorical"
    assert prepared.kinds["flag"] == "boolean"
    assert prepared.features.input_schema()["zip"]["categories"] == ["1000", "1001", "1002", "2000", "2001", "2002"]


def test_a_column_declared_numeric_is_read_as_numbers_in_a_plain_table():
    frame = reviews().drop(columns="review")
    frame["stars"] = frame["stars"].astype(str)
    frame.loc[3, "stars"] = "n/a"
    _, _, prepared = tasks.prepare_again(config(data={"target": "y", "columns": {"stars": "numeric"}}), frame)
    assert prepared.kinds["stars"] == "numeric"
    stars = prepared.table["stars"]
    assert stars.dtype.kind == "f" and stars.isna().sum() == 1  # "n/a" read as missing, the rest as numbers
    assert set(stars.dropna()) <= set(frame["stars"].drop(index=3).astype(float))  # (duplicate rows dropped)


def test_data_columns_naming_no_input_is_refused_with_the_column_and_a_suggestion():
    frame = reviews()
    cfg = config(data={"target": "y", "columns": {"reviw": "text", "y": "text"}})
    with pytest.raises(ConfigError) as caught:
        layerwise.Experiment(cfg, data=frame).run()
    text = str(caught.value)
    assert "data.columns.reviw" in text and "did you mean 'review'" in text
    assert "data.columns.y" in text


def test_the_tokenizer_is_fitted_on_the_training_rows_only():
    frame = reviews()
    cfg = config(data={"target": "y", "split": {"method": "random"}})
    _, _, prepared = tasks.prepare_again(cfg, frame)
    changed = frame.copy()
    test_rows = prepared.index["test"]
    # words nowhere in training, a different text on each row (so no row becomes a duplicate)
    changed.loc[test_rows, "review"] = [f"zebra quokka narwhal {i}" for i in range(len(test_rows))]
    _, _, again = tasks.prepare_again(cfg, changed)
    assert np.array_equal(again.index["test"], test_rows)
    assert again.features.tokenizer("review").vocab == prepared.features.tokenizer("review").vocab
    assert again.features.to_dict() == prepared.features.to_dict()


def test_a_text_run_stands_beside_the_baseline_and_the_tfidf_reference(tmp_path):
    result = layerwise.Experiment(config(train={"epochs": 30, "lr": 0.01}), data=reviews(300)).run(tmp_path / "run")
    reference = result.metrics["reference"]
    assert reference["name"] == "TF-IDF + logistic regression"
    assert set(reference) == {"name", "test", "difference", "beats_reference", "finding"}
    assert reference["test"]["accuracy"] > 0.9  # the words say the label: the linear model reads them
    lo, hi = reference["difference"]
    assert lo <= hi
    assert "classical reference" in result.summary()
    assert reference["finding"] in result.metrics["headline"]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert saved["reference"]["name"] == reference["name"]
    # the network learns the words too (a bag of embeddings over 30 epochs)
    assert result.metrics["test"]["accuracy"] > 0.8


def test_a_model_that_reads_no_text_is_refused_for_a_text_table():
    with pytest.raises(ConfigError, match="model.type: 'mlp' reads no text"):
        layerwise.Experiment(config(model={"type": "mlp", "hidden": [8]}), data=reviews()).run()


def test_generation_keys_and_streaming_are_refused_for_text_columns():
    cfg = config(data={"target": "y", "text": {"mode": "chunks"}, "stream": {"enabled": True}})
    with pytest.raises(ConfigError) as caught:
        layerwise.Experiment(cfg, data=reviews()).run()
    assert "data.text.mode" in str(caught.value) and "data.stream.enabled" in str(caught.value)


def test_word_vectors_are_refused_where_there_are_no_tokens(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("good 0.1 0.2\n", encoding="utf-8")
    frame = reviews().drop(columns="review")
    cfg = config(model={"hidden": [8], "embedding": None, "init": {"embedding": str(vectors)}})
    with pytest.raises(ConfigError, match="model.init.embedding"):
        layerwise.Experiment(cfg, data=frame).run()


def test_a_declared_text_column_with_no_values_is_a_data_error():
    frame = reviews()
    frame["note"] = None
    with pytest.raises(DataError, match="column 'note' is declared text in data.columns, but every value is missing"):
        layerwise.Experiment(config(data={"target": "y", "columns": {"note": "text"}}), data=frame).run()


def _write(tmp_path, frame: pd.DataFrame, extra: str = "") -> tuple:
    data = tmp_path / "reviews.csv"
    frame.to_csv(data, index=False)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"data: {{path: {data}, target: y}}\nmodel: {{hidden: [8], embedding: 8}}\n"
        "train: {epochs: 2, seed: 0}\nevaluate: {report: false, bootstrap: 20}\n" + extra,
        encoding="utf-8",
    )
    return data, cfg


def test_a_text_table_through_the_cli_then_predict(cli, tmp_path):
    frame = reviews()
    data, cfg = _write(tmp_path, frame)
    code, _, err = cli("run", cfg, "--out", tmp_path / "run")
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["reference"]["name"] == "TF-IDF + logistic regression"
    code, _, err = cli("predict", tmp_path / "run" / "bundle", data, "-o", tmp_path / "pred.csv")
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "pred.csv")
    assert len(predicted) == len(frame) and set(predicted["prediction"]) <= {"pos", "neg"}


def test_a_single_token_vocabulary_is_refused_through_the_cli(cli, tmp_path):
    frame = reviews()
    frame["review"] = "same same same"
    _, cfg = _write(tmp_path, frame, "")
    (tmp_path / "exp.yaml").write_text(
        (tmp_path / "exp.yaml")
        .read_text(encoding="utf-8")
        .replace("target: y}", "target: y, columns: {review: text}}"),
        encoding="utf-8",
    )
    code, _, err = cli("run", cfg, "--out", tmp_path / "run")
    assert code != 0
    assert "review" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "bundle").exists()  # nothing half-written


def test_a_search_tries_encoders_and_tokenizers(tmp_path):
    cfg = config(
        train={"epochs": 2},
        tune={
            "method": "grid",
            "trials": None,
            "pruner": "none",
            "space": {"model.type": ["text_bag", "text_cnn"], "data.text.tokenizer": ["word", "bpe"]},
        },
    )
    result = layerwise.Experiment(cfg, data=reviews()).run(tmp_path / "tuned")
    trials = pd.read_csv(tmp_path / "tuned" / "tuning.csv")
    assert len(trials) == 4
    tried = {(t, k) for t, k in zip(trials["model.type"], trials["data.text.tokenizer"])}
    assert tried == {("text_bag", "word"), ("text_bag", "bpe"), ("text_cnn", "word"), ("text_cnn", "bpe")}
    assert result.metrics["reference"]["name"] == "TF-IDF + logistic regression"


def test_column_names_that_are_not_strings_are_read_as_their_text():
    frame = reviews().rename(columns={"shop": 7})
    assert tasks.resolve(config(), frame) is tasks.get("text")


@pytest.mark.parametrize(
    ("settings", "data", "named"),
    [
        # a plain table (its text dropped) given tokenizer settings
        (
            {"data": {"target": "y", "clean": {"drop_text": True}, "text": {"tokenizer": "bpe"}}},
            "reviews",
            "data.text.tokenizer",
        ),
        # a forecast told to read a text column
        (
            {"task": {"type": "forecast"}, "data": {"target": "stars", "columns": {"review": "text"}}},
            "reviews",
            "data.columns.review",
        ),
        # generation reads a file, not columns
        (
            {"task": {"type": "generation"}, "data": {"path": "names.txt", "columns": {"x": "text"}}},
            None,
            "data.columns.x",
        ),
    ],
)
def test_text_settings_a_kind_cannot_honour_are_refused(settings, data, named, tmp_path):
    if data is None:
        (tmp_path / "names.txt").write_text("ann\nbob\ncleo\n", encoding="utf-8")
        settings["data"]["path"] = str(tmp_path / "names.txt")
    raw = {**FAST, **settings, "model": {"hidden": [8]}}
    if settings.get("task", {}).get("type") == "generation":
        raw["model"] = {"type": "lstm", "hidden": [8], "embedding": 8}
    with pytest.raises(ConfigError, match=named):
        layerwise.Experiment(ExperimentConfig.from_dict(raw), data=reviews() if data else None).run(tmp_path / "r")


def test_the_refusal_of_a_model_that_reads_no_text_says_how_to_leave_the_text_out():
    with pytest.raises(ConfigError) as caught:
        layerwise.Experiment(config(model={"type": "mlp", "hidden": [8]}), data=reviews()).run()
    assert "data.clean.drop_text: true" in str(caught.value)


def test_word_vectors_start_the_embeddings_and_the_log_says_how_many_tokens_they_cover(tmp_path):
    vectors = tmp_path / "glove.txt"
    rng = np.random.default_rng(0)
    words = ["great", "lovely", "superb", "awful", "broken", "poor", "the", "box"]  # 8 of the toy's 14 words
    vectors.write_text("".join(f"{w} {' '.join(f'{v:.4f}' for v in rng.normal(size=6))}\n" for w in words))
    cfg = config(model={"hidden": [8], "embedding": None, "init": {"embedding": str(vectors)}})
    result = layerwise.Experiment(cfg, data=reviews()).run(tmp_path / "run")
    line = next(line for line in result.log if line.startswith("model.init.embedding:"))
    assert "8 of " in line and "tokens of 'review' found in glove.txt" in line
    assert result.predictor.module.get_config()["embedding"] == 6  # the file's width, model.embedding unset
