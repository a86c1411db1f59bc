"""NeuralTextClassifier and NeuralTextRegressor: text in as a list or a DataFrame column, through
scikit-learn's tools, its estimator conventions, and a bundle that predicts as the estimator does."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

import layerwise
from layerwise.errors import ConfigError, DataError
from layerwise.sklearn import InvalidInput, InvalidParameter, NeuralTextClassifier, NeuralTextRegressor
from layerwise.sklearn.text import TEXT_MODELS

SMALL = {"embedding": 8, "hidden": (8,), "lr": 0.01, "batch_size": 16, "epochs": 10, "random_state": 0}
FILLER = ["the", "box", "came", "with", "a", "cable", "and", "manual"]


def reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Short reviews whose last word carries the label: filler words, then a pos or neg word."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["neg", "pos"], n)
    words = {"pos": ["great", "superb"], "neg": ["awful", "broken"]}
    texts = [" ".join([*rng.choice(FILLER, 4), rng.choice(words[y])]) for y in labels]
    return texts, labels


@pytest.fixture(scope="module")
def table():
    texts, labels = reviews(240)
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"review": texts, "stars": rng.normal(3, 1, len(texts)), "shop": rng.choice(["north", "south"], len(texts))}
    )
    return frame, labels


def test_a_list_of_strings_trains_and_predicts_labels_and_probabilities():
    texts, labels = reviews(240)
    model = NeuralTextClassifier(**SMALL).fit(texts, labels)
    assert model.classes_.tolist() == ["neg", "pos"]
    assert model.n_features_in_ == 1 and not hasattr(model, "feature_names_in_")
    new, truth = reviews(60, seed=5)
    predicted, proba = model.predict(new), model.predict_proba(new)
    assert predicted.shape == (60,) and proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (predicted == model.classes_[proba.argmax(axis=1)]).all()
    assert model.decision_function(new).shape == (60,)
    assert (predicted == truth).mean() >= 0.9  # the last word decides, and the bag of words sees it


@pytest.mark.parametrize("model", TEXT_MODELS)
def test_every_text_encoder_reads_a_dataframe_with_other_columns(table, model):
    frame, labels = table
    fitted = NeuralTextClassifier(text="review", model=model, **{**SMALL, "epochs": 2}).fit(frame, labels)
    assert fitted.feature_names_in_.tolist() == ["review", "stars", "shop"]
    assert fitted.predict_proba(frame.head(5)).shape == (5, 2)
    assert fitted.module_.inputs["dense"] > 0  # stars scaled, shop encoded, beside the token ids
    assert [t["name"] for t in fitted.module_.inputs["texts"]] == ["review"]


def test_pipeline_cross_val_score_and_grid_search(table):
    texts, labels = reviews(240)
    scores = cross_val_score(NeuralTextClassifier(**SMALL), np.array(texts, dtype=object), labels, cv=3)
    assert scores.shape == (3,) and scores.min() >= 0.8
    frame, y = table
    search = GridSearchCV(
        Pipeline([("model", NeuralTextClassifier(text="review", **SMALL))]),
        {"model__model": ["text_bag", "text_cnn"]},
        cv=2,
    ).fit(frame, y)
    assert search.best_params_["model__model"] in ("text_bag", "text_cnn")
    assert search.predict(frame.head(3)).shape == (3,)


def test_clone_keeps_the_parameters_and_random_state_reproduces():
    texts, labels = reviews(120)
    model = NeuralTextClassifier(text="body", tokenizer="word", max_tokens=16, **SMALL)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    a = model.fit(pd.DataFrame({"body": texts}), labels).predict_proba(pd.DataFrame({"body": texts}))
    b = copy.fit(pd.DataFrame({"body": texts}), labels).predict_proba(pd.DataFrame({"body": texts}))
    np.testing.assert_array_equal(a, b)


def test_bundle_predicts_as_the_estimator(table, tmp_path):
    frame, labels = table
    model = NeuralTextClassifier(text="review", **SMALL).fit(frame, labels)
    predictor = layerwise.load(model.to_bundle(tmp_path / "bundle"))
    out = predictor.predict(frame)
    np.testing.assert_allclose(out[["proba_neg", "proba_pos"]].to_numpy(), model.predict_proba(frame), atol=1e-5)
    assert (out["prediction"].to_numpy() == model.predict(frame)).all()
    assert predictor.input_schema()["review"]["kind"] == "text"


def test_a_list_estimator_bundle_takes_the_text_column_by_its_name(tmp_path):
    texts, labels = reviews(120)
    model = NeuralTextClassifier(**SMALL).fit(texts, labels)
    out = layerwise.load(model.to_bundle(tmp_path / "b")).predict(pd.DataFrame({"text": texts}))
    assert (out["prediction"].to_numpy() == model.predict(texts)).all()


def test_the_tokenizer_is_fitted_on_the_training_rows_only(tmp_path):
    # every row holds a word of its own, twice (min_frequency 2): the vocabulary holds the words of
    # the rows that train, and none of the held-out early-stopping rows'
    texts, labels = reviews(100)
    marked = [f"{t} row{i} row{i}" for i, t in enumerate(texts)]
    model = NeuralTextClassifier(tokenizer="word", early_stopping=True, validation_fraction=0.2, **SMALL)
    model.fit(marked, labels)
    vocab = layerwise.load(model.to_bundle(tmp_path / "b")).features.tokenizer("text").vocab
    rows = [t for t in vocab if t.startswith("row")]
    assert len(rows) == 80  # 100 rows, 20 held out for early stopping


def test_pickle_round_trip_keeps_predictions():
    texts, labels = reviews(120)
    model = NeuralTextClassifier(**SMALL).fit(texts, labels)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


def test_missing_and_empty_texts_have_no_tokens_and_still_predict():
    texts, labels = reviews(120)
    model = NeuralTextClassifier(**SMALL).fit(texts, labels)
    proba = model.predict_proba(["", None, np.nan, "   "])
    np.testing.assert_allclose(proba, np.repeat(proba[:1], 4, axis=0), rtol=1e-12)


def test_regressor_fits_text_and_saves_a_bundle(table, tmp_path):
    frame, labels = table
    y = np.where(labels == "pos", 10.0, 0.0) + frame["stars"].to_numpy()
    model = NeuralTextRegressor(text="review", **{**SMALL, "epochs": 30}).fit(frame, y)
    assert model.predict(frame).shape == (len(frame),)
    assert model.score(frame, y) > 0.8
    out = layerwise.load(model.to_bundle(tmp_path / "r")).predict(frame)
    np.testing.assert_allclose(out["prediction"].to_numpy(), model.predict(frame), rtol=1e-4, atol=1e-4)


# -- what a user gets wrong -----------------------------------------------------------------


def test_predicting_before_fit_is_a_not_fitted_error():
    with pytest.raises(NotFittedError):
        NeuralTextClassifier().predict(["a text"])


def test_a_missing_text_column_is_named():
    texts, labels = reviews(40)
    with pytest.raises(InvalidInput, match="no column 'review'") as error:
        NeuralTextClassifier(text="review", **SMALL).fit(pd.DataFrame({"body": texts}), labels)
    assert isinstance(error.value, ValueError) and isinstance(error.value, DataError)
    assert "'body'" in str(error.value)  # the hint lists the columns there are


def test_a_column_missing_at_prediction_is_named(table):
    frame, labels = table
    model = NeuralTextClassifier(text="review", **SMALL).fit(frame, labels)
    with pytest.raises(InvalidInput, match="no column 'stars'"):
        model.predict(frame.drop(columns="stars"))


def test_a_number_where_text_is_expected_is_read_as_its_text():
    """As a file's digits-only texts are (data/transforms.py as_text): 42.0 is the text "42"."""
    texts, labels = reviews(40)
    model = NeuralTextClassifier(text="review", **SMALL).fit(pd.DataFrame({"review": texts}), labels)
    numbers = model.predict_proba(pd.DataFrame({"review": ["fine words", 42.0]}))
    words = model.predict_proba(pd.DataFrame({"review": ["fine words", "42"]}))
    np.testing.assert_array_equal(numbers, words)


def test_a_single_string_or_a_2d_array_is_not_a_list_of_texts():
    texts, labels = reviews(40)
    with pytest.raises(InvalidInput, match="single string"):
        NeuralTextClassifier(**SMALL).fit("one text", ["pos"])
    with pytest.raises(InvalidInput, match=r"shape \(40, 2\)"):
        NeuralTextClassifier(**SMALL).fit(np.array([texts, texts], dtype=object).T, labels)


def test_bad_parameters_read_as_the_config_does():
    texts, labels = reviews(40)
    with pytest.raises(InvalidParameter) as error:
        NeuralTextClassifier(model="mlp", **{k: v for k, v in SMALL.items()}).fit(texts, labels)
    assert "model: 'mlp' reads no text" in str(error.value)
    with pytest.raises(InvalidParameter, match="tokenizer") as error:
        NeuralTextClassifier(tokenizer="spaces", **SMALL).fit(texts, labels)
    assert isinstance(error.value, ConfigError) and isinstance(error.value, ValueError)
    assert "data.text" not in str(error.value)  # told in the estimator's parameter names
