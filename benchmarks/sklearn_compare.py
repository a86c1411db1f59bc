"""layerwise's scikit-learn estimators beside scikit-learn's own MLPs, on its bundled data.

For breast_cancer (classification, accuracy) and diabetes (regression, R^2): 5-fold
cross-validated score (shuffled folds, seed 0; stratified for classification) and mean
fit time per fold, of

  layerwise   Pipeline(StandardScaler, NeuralClassifier / NeuralRegressor()), defaults
  sklearn     Pipeline(StandardScaler, MLPClassifier / MLPRegressor(max_iter=EPOCHS)), defaults
              otherwise, so both get the same budget of epochs (scikit-learn's MLP may stop
              sooner: it stops when the training loss stalls for 10 epochs)

Both add `layerwise_early_stopping` (early_stopping=True: 10% of the training rows held out,
patience 10, best epoch's weights kept). Regression adds `sklearn_scaled_y`: MLPRegressor with its target
standardized too (TransformedTargetRegressor), as NeuralRegressor does inside, to separate that choice from
the rest. One JSON line per model and data set; `epochs_run` is the mean over folds.

Run: `.venv/bin/python benchmarks/sklearn_compare.py [--epochs 100]` (about a minute on 2
CPU cores). Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings

import numpy as np
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from layerwise.sklearn import NeuralClassifier, NeuralRegressor


def models(task: str, epochs: int) -> dict:
    if task == "classification":
        return {
            "layerwise": NeuralClassifier(epochs=epochs, random_state=0),
            "layerwise_early_stopping": NeuralClassifier(epochs=epochs, early_stopping=True, random_state=0),
            "sklearn": MLPClassifier(max_iter=epochs, random_state=0),
        }
    return {
        "layerwise": NeuralRegressor(epochs=epochs, random_state=0),
        "layerwise_early_stopping": NeuralRegressor(epochs=epochs, early_stopping=True, random_state=0),
        "sklearn": MLPRegressor(max_iter=epochs, random_state=0),
        "sklearn_scaled_y": TransformedTargetRegressor(
            MLPRegressor(max_iter=epochs, random_state=0), transformer=StandardScaler()
        ),
    }


def epochs_run(estimator) -> int:
    """Epochs the fitted estimator trained for (`n_iter_`), through a pipeline and target wrapper."""
    last = estimator.steps[-1][1]
    return getattr(last, "regressor_", last).n_iter_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=NeuralClassifier().epochs)
    args = parser.parse_args()
    data = {
        "breast_cancer": (
            load_breast_cancer(return_X_y=True),
            "classification",
            "accuracy",
            StratifiedKFold(5, shuffle=True, random_state=0),
        ),
        "diabetes": (load_diabetes(return_X_y=True), "regression", "r2", KFold(5, shuffle=True, random_state=0)),
    }
    for name, ((x, y), task, scoring, folds) in data.items():
        for label, estimator in models(task, args.epochs).items():
            with warnings.catch_warnings():
                # scikit-learn's MLP warns when it uses the whole budget; that is the setting compared
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = cross_validate(
                    make_pipeline(StandardScaler(), estimator), x, y, cv=folds, scoring=scoring, return_estimator=True
                )
            scores = result["test_score"]
            print(
                json.dumps(
                    {
                        "data": name,
                        "rows": len(x),
                        "model": label,
                        "metric": scoring,
                        "cv_mean": round(float(scores.mean()), 4),
                        "cv_std": round(float(scores.std()), 4),
                        "fit_seconds": round(float(result["fit_time"].mean()), 3),
                        "epochs_budget": args.epochs,
                        "epochs_run": float(np.mean([epochs_run(e) for e in result["estimator"]])),
                        "torch_threads": torch.get_num_threads(),
                        "machine": platform.machine(),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
