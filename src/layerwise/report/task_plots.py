"""The plots that belong to a task: scikit-learn's displays for classification and regression,
ours for forecasts. Each returns (title, figure) pairs; none computes what it shows twice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, SubFigure

from .figure import new_axes
from .forecast import ForecastDisplay

Plot = tuple[str, Figure | SubFigure]


def task_plots(
    predictions: pd.DataFrame, classes: list[Any], time: str | None, baseline_name: str, *, forecast: bool = False
) -> list[Plot]:
    """A classifier's plots where there are `classes`, a forecast's where `forecast`, else a regression's."""
    if classes:
        return classification_plots(predictions, classes)
    if forecast:
        return forecast_plots(predictions, time, baseline_name)
    return regression_plots(predictions)


def classification_plots(p: pd.DataFrame, classes: list[Any]) -> list[Plot]:
    from sklearn.calibration import CalibrationDisplay  # scikit-learn (and scipy) only for the kinds that plot with it
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    labels = [str(c) for c in classes]
    actual, predicted = p["actual"].astype(str), p["prediction"].astype(str)
    ax = new_axes(size=(5.2, 4.4))
    ConfusionMatrixDisplay.from_predictions(actual, predicted, labels=labels, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix (test split)")
    plots = [("Confusion matrix", ax.figure)]
    proba = p[[f"proba_{c}" for c in classes]].to_numpy(dtype=np.float64)
    if len(classes) == 2:
        positive = labels[1]
        truth, score = (actual == positive).to_numpy(), proba[:, 1]
        if truth.any() and not truth.all():
            ax = new_axes(size=(4.6, 4.2))
            RocCurveDisplay.from_predictions(truth, score, name="network", ax=ax, plot_chance_level=True)
            ax.set_title(f"ROC curve (positive class {positive})")
            plots.append(("ROC curve", ax.figure))
            ax = new_axes(size=(4.6, 4.2))
            PrecisionRecallDisplay.from_predictions(truth, score, name="network", ax=ax, plot_chance_level=True)
            ax.set_title(f"Precision-recall curve (positive class {positive})")
            plots.append(("Precision-recall curve", ax.figure))
        ax = new_axes(size=(4.6, 4.2))
        CalibrationDisplay.from_predictions(truth, score, n_bins=10, name="network", ax=ax)
        ax.set_title(f"Calibration (positive class {positive})")
    else:
        # Several classes: is the model right as often as its top probability claims?
        ax = new_axes(size=(4.6, 4.2))
        CalibrationDisplay.from_predictions(
            (actual == predicted).to_numpy(), proba.max(axis=1), n_bins=10, name="network", ax=ax
        )
        ax.set_title("Calibration of the top-class probability")
    plots.append(("Calibration", ax.figure))
    return plots


def regression_plots(p: pd.DataFrame) -> list[Plot]:
    from sklearn.metrics import PredictionErrorDisplay

    actual, predicted = _first(p, "actual"), _first(p, "prediction")
    plots = []
    for kind, title in (("actual_vs_predicted", "Predicted vs actual"), ("residual_vs_predicted", "Residuals")):
        ax = new_axes(size=(4.8, 4.2))
        PredictionErrorDisplay.from_predictions(
            actual, predicted, kind=kind, ax=ax, subsample=min(1000, len(actual)), random_state=0
        )
        ax.set_title(f"{title} (test split)")
        plots.append((title, ax.figure))
    return plots


def forecast_plots(p: pd.DataFrame, time: str | None, baseline_name: str) -> list[Plot]:
    stamps = p[time] if time is not None and time in p.columns else np.arange(len(p))
    display = ForecastDisplay(
        stamps,
        _first(p, "actual"),
        _first(p, "prediction"),
        _first(p, "baseline"),
        baseline_name=baseline_name.split(" (")[0],
    )
    values = display.plot(kind="values").figure_
    errors = (
        ForecastDisplay(
            display.time, display.actual, display.prediction, display.baseline, baseline_name=display.baseline_name
        )
        .plot(kind="error")
        .figure_
    )
    return [("Actual vs forecast over the test period", values), ("Forecast error over time", errors)]


def _first(p: pd.DataFrame, name: str) -> np.ndarray:
    """The column, or its first step (`name_1`) when the model forecasts several."""
    return p[name if name in p.columns else f"{name}_1"].to_numpy(dtype=np.float64)
