"""NeuralClassifier and NeuralRegressor, judged by scikit-learn's own estimator checks, by its
tools (Pipeline, cross_val_score, GridSearchCV across processes), and against the Trainer
they are built on."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import layerwise
from layerwise.config.schema import ExperimentConfig
from layerwise.errors import ConfigError, LayerwiseError
from layerwise.models import build
from layerwise.sklearn import InvalidParameter, NeuralClassifier, NeuralRegressor
from layerwise.training import Trainer

# Small and quick, yet trained enough for the checks that demand a score (blobs, R^2 > 0.5).
SMALL = {"hidden": (16,), "lr": 0.01, "batch_size": 16, "epochs": 20, "random_state": 0}


@parametrize_with_checks([NeuralClassifier(**SMALL), NeuralRegressor(**SMALL)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return x[:300], y[:300]


@pytest.fixture(scope="module")
def diabetes():
    x, y = load_diabetes(return_X_y=True)
    return x, y


# -- the Trainer underneath ---------------------------------------------------------------
def test_regressor_weights_equal_the_trainer_on_standardized_targets(diabetes):
    # Reference oracle: the estimator is build(...) + Trainer.fit on y standardized with the
    # training mean and std; same seed, same thread count -> bit-identical weights.
    x, y = diabetes
    est = NeuralRegressor(hidden=(8,), lr=0.01, batch_size=32, epochs=3, random_state=5).fit(x, y)
    module = build(
        {"type": "mlp", "hidden": [8], "activation": "relu", "dropout": 0.0, "norm": "none", "init": "auto"},
        (x.shape[1],),
        1,
        seed=5,
    )
    trainer = Trainer(module, loss="mse", lr=0.01, batch_size=32, epochs=3, seed=5, device="cpu")
    target = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)
    trainer.fit(x.astype(np.float32), target)
    for (name, a), b in zip(est.module_.state_dict().items(), trainer.module.state_dict().values()):
        assert torch.equal(a.cpu(), b), name
    expected = trainer.predict(x.astype(np.float32)).double().numpy()[:, 0] * y.std() + y.mean()
    np.testing.assert_allclose(est.predict(x), expected, rtol=1e-5)  # float64 vs float32 evaluation
    assert [row["epoch"] for row in est.history_] == [1, 2, 3] and est.n_iter_ == 3


def test_binary_probabilities_are_the_sigmoid_of_the_decision_function(cancer):
    x, y = cancer
    xs = StandardScaler().fit_transform(x)
    est = NeuralClassifier(**SMALL).fit(xs, y)
    z = est.decision_function(xs)
    head = [m for m in est.module_.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert z.shape == (len(x),) and head.out_features == 1  # one logit, bce
    np.testing.assert_allclose(est.predict_proba(xs)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_array_equal(est.predict(xs), est.classes_[(z > 0).astype(int)])


def test_multiclass_probabilities_are_the_softmax_of_the_logits():
    x, y = load_iris(return_X_y=True)
    est = NeuralClassifier(**SMALL).fit(x, np.array(["setosa", "versicolor", "virginica"])[y])
    z = est.decision_function(x)
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(x), expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    assert est.classes_.tolist() == ["setosa", "versicolor", "virginica"] and est.score(x, est.classes_[y]) > 0.9


# -- scikit-learn's tools -------------------------------------------------------------------
def test_pipeline_cross_val_score_and_grid_search_in_two_processes(cancer):
    x, y = cancer
    pipe = Pipeline([("scale", StandardScaler()), ("net", NeuralClassifier(**SMALL))])
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.mean() > 0.9
    # nested settings by double underscore reach the optimizer; n_jobs=2 runs in loky processes,
    # which unpickle the estimator: the same search in one process gives the same results
    grid = {"net__optimizer": ["sgd"], "net__optimizer__momentum": [0.0, 0.9]}
    one = GridSearchCV(pipe, grid, cv=2, n_jobs=1).fit(x, y)
    two = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(x, y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])
    assert (
        two.best_estimator_.named_steps["net"].get_params()["optimizer__momentum"]
        == two.best_params_["net__optimizer__momentum"]
    )
    assert two.score(x, y) > 0.9


def test_set_params_takes_the_double_underscore_names():
    est = NeuralClassifier().set_params(optimizer="sgd", optimizer__momentum=0.5, optimizer__nesterov=True)
    assert (est.optimizer, est.optimizer__momentum, est.optimizer__nesterov) == ("sgd", 0.5, True)
    pipe = Pipeline([("net", NeuralRegressor())]).set_params(net__optimizer__momentum=0.1)
    assert pipe.named_steps["net"].optimizer__momentum == 0.1
    with pytest.raises(ValueError, match="Invalid parameter"):
        NeuralClassifier().set_params(optimizer__betas=(0.9, 0.99))


def test_clones_are_independent_and_random_state_reproduces(diabetes):
    x, y = diabetes
    est = NeuralRegressor(**SMALL)
    a, b = clone(est), clone(est)
    a.fit(x, y)
    assert not hasattr(b, "module_") and not hasattr(est, "module_")
    b.set_params(hidden=(4,))
    assert a.hidden == (16,) and est.hidden == (16,)
    np.testing.assert_array_equal(a.predict(x), clone(est).fit(x, y).predict(x))
    assert not np.array_equal(a.predict(x), clone(est).set_params(random_state=1).fit(x, y).predict(x))


def test_dataframes_in_give_feature_names(cancer):
    x, y = cancer
    frame = pd.DataFrame(x, columns=load_breast_cancer().feature_names)
    est = NeuralClassifier(**SMALL).fit(frame, pd.Series(y, name="malignant"))
    assert list(est.feature_names_in_) == list(frame.columns) and est.n_features_in_ == x.shape[1]
    np.testing.assert_array_equal(est.predict_proba(frame), NeuralClassifier(**SMALL).fit(x, y).predict_proba(x))


# -- bundles and pickles --------------------------------------------------------------------
def test_classifier_bundle_predicts_as_the_estimator(cancer, tmp_path):
    x, y = cancer
    frame = pd.DataFrame(x, columns=load_breast_cancer().feature_names)
    labels = np.where(y == 1, "benign", "malignant")
    pipe = Pipeline([("scale", StandardScaler()), ("net", NeuralClassifier(**SMALL))])
    pipe.set_output(transform="pandas").fit(frame, labels)  # the net sees the column names
    net, scaled = pipe.named_steps["net"], pipe.named_steps["scale"].transform(frame)
    net.to_bundle(tmp_path / "bundle")
    out = layerwise.load(tmp_path / "bundle").predict(scaled)
    np.testing.assert_array_equal(out["prediction"].to_numpy(), net.predict(scaled))
    # the bundle runs in float32, the estimator in float64 (see _raw): equal to float32 precision
    proba = net.predict_proba(scaled)
    for j, label in enumerate(net.classes_):
        np.testing.assert_allclose(out[f"proba_{label}"], proba[:, j], rtol=1e-5, atol=1e-7)


def test_regressor_bundle_names_array_columns_x0_to_xn(diabetes, tmp_path):
    x, y = diabetes
    est = NeuralRegressor(**SMALL).fit(x, y)
    predictor = layerwise.load(est.to_bundle(tmp_path / "bundle"))
    assert predictor.task.features == [f"x{i}" for i in range(x.shape[1])]
    out = predictor.predict(pd.DataFrame(x, columns=predictor.task.features))
    np.testing.assert_allclose(out["prediction"], est.predict(x), rtol=1e-5)


def test_a_multi_target_regressor_fits_but_has_no_bundle(tmp_path):
    x, y = make_regression(n_samples=80, n_features=3, n_targets=2, random_state=0)
    est = NeuralRegressor(**SMALL).fit(x, y * [1, 100])
    assert est.predict(x).shape == (80, 2) and est.score(x, y * [1, 100]) > 0.5
    with pytest.raises(LayerwiseError, match="one target; this regressor was fitted on 2"):
        est.to_bundle(tmp_path / "bundle")


def test_pickle_round_trip_keeps_predictions_and_partial_fit_state(diabetes):
    x, y = diabetes
    a = NeuralRegressor(**SMALL).partial_fit(x, y)
    b = pickle.loads(pickle.dumps(a))
    assert "_trainer" not in a.__getstate__() and "_trainer" in vars(a)  # the live estimator is untouched
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    # the optimizer's moments and the batch order carry over: one more epoch each, same weights
    a.partial_fit(x, y)
    b.partial_fit(x, y)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert [row["epoch"] for row in b.history_] == [1, 2]


# -- partial_fit, early stopping, validation -------------------------------------------------
def test_partial_fit_epochs_equal_one_fit(diabetes):
    x, y = diabetes
    params = {**SMALL, "epochs": 3}
    stepped = NeuralRegressor(**params)
    for _ in range(3):
        stepped.partial_fit(x, y)
    np.testing.assert_array_equal(stepped.predict(x), NeuralRegressor(**params).fit(x, y).predict(x))


def test_partial_fit_needs_classes_first_and_refuses_new_labels(cancer):
    x, y = cancer
    with pytest.raises(ValueError, match="classes must be passed"):
        NeuralClassifier(**SMALL).partial_fit(x, y)
    est = NeuralClassifier(**SMALL).partial_fit(x, y, classes=[0, 1])
    with pytest.raises(ValueError, match="label 2, which is not in classes_"):
        est.partial_fit(x[:3], [0, 1, 2])


def test_early_stopping_holds_out_rows_and_keeps_the_best_epoch(cancer):
    x, y = cancer
    est = NeuralClassifier(hidden=(32,), lr=0.05, epochs=200, early_stopping=True, patience=3, random_state=0).fit(
        StandardScaler().fit_transform(x), y
    )
    losses = [row["val_loss"] for row in est.history_]
    assert est.n_iter_ < 200 and est.best_epoch_ == int(np.argmin(losses)) + 1
    assert est.n_iter_ == est.best_epoch_ + 3


def test_bad_parameters_read_as_the_config_does_and_are_value_errors(diabetes):
    x, y = diabetes
    est = NeuralRegressor(lr=-1.0, hidden=(0,), optimizer="adm", validation_fraction=1.5, activation="rleu")
    with pytest.raises(InvalidParameter) as caught:
        est.fit(x, y)  # the constructor stored them without a word
    problems = caught.value.problems
    with pytest.raises(ConfigError) as config:
        ExperimentConfig.from_dict(
            {
                "data": {"target": "y"},
                "train": {"lr": -1.0, "optimizer": "adm"},
                "model": {"hidden": [0], "activation": "rleu"},
            }
        )
    renamed = [p.replace("train.", "").replace("model.", "") for p in config.value.problems]
    assert set(renamed) <= set(problems)
    assert "validation_fraction: 1.5 must be in (0, 1)" in problems and len(problems) == 5
    assert "(did you mean 'adam'?)" in str(caught.value) and isinstance(caught.value, ValueError)
    with pytest.raises(ValueError, match="optimizer__nesterov: needs optimizer 'sgd'"):
        NeuralClassifier(optimizer__nesterov=True).fit(x[:20], y[:20] > 150)
    with pytest.raises(ValueError, match="loss: 'bce' is a classification loss"):
        NeuralRegressor(loss="bce").fit(x, y)


def test_sparse_input_is_refused_with_a_clear_message(cancer):
    x, y = cancer
    with pytest.raises(TypeError, match="dense data is required"):
        NeuralClassifier(**SMALL).fit(scipy.sparse.csr_matrix(x), y)


def test_verbose_prints_one_line_per_epoch(diabetes, capsys):
    x, y = diabetes
    NeuralRegressor(**{**SMALL, "epochs": 2}, verbose=True).fit(x, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("threads: ")  # the thread count the fit chose, and why
    assert len(lines) == 3 and lines[2].startswith("epoch 2/2 train_loss")
