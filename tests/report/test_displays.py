"""Every display plots from numbers alone, without a run folder."""

import numpy as np

from layerwise.evaluation import fit_trend
from layerwise.report import DataCurveDisplay, DifferenceDisplay, ForecastDisplay, LossCurveDisplay, TargetDisplay
from layerwise.report.figure import png_data_uri


def test_loss_curve_marks_the_best_epoch_and_a_changing_rate():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e + 0.1, "lr": 0.1 / e} for e in range(1, 6)]
    d = LossCurveDisplay.from_history(history, best_epoch=3)
    labels = [line.get_label() for line in d.ax_.lines]
    assert labels == ["training loss", "validation loss", "best epoch 3"]
    assert d.lr_ax_.lines[0].get_ydata().tolist() == [0.1 / e for e in range(1, 6)]
    assert png_data_uri(d.figure_).startswith("data:image/png;base64,")


def test_forecast_display_values_and_rolling_error():
    t = np.arange("2024-01-01", "2024-01-31", dtype="datetime64[D]")
    actual = np.linspace(1, 2, 30)
    d = ForecastDisplay.from_predictions(t, actual, actual + 0.1, actual - 0.2)
    assert [line.get_label() for line in d.ax_.lines] == ["actual", "persistence", "network"]
    e = ForecastDisplay.from_predictions(t, actual, actual + 0.1, actual - 0.2, kind="error", window=5)
    assert np.allclose(e.ax_.lines[0].get_ydata(), 0.1) and np.allclose(e.ax_.lines[1].get_ydata(), 0.2)


def test_difference_data_curve_and_target_displays():
    metrics = {
        "primary_metric": "mae",
        "test": {"mae": 9.0},
        "baseline": {"mae": 10.0},
        "baseline_name": "the training mean",
        "ci": {
            "level": 0.95,
            "model": {"mae": [8, 10]},
            "baseline": {"mae": [9, 11]},
            "difference": {"mae": [-1.5, -0.5]},
        },
    }
    d = DifferenceDisplay.from_metrics(metrics)
    assert "better: left of 0" in d.diff_ax_.get_xlabel()
    assert d.diff_ax_.lines[0].get_xdata().tolist() == [-1.0]  # the point estimate, 9 - 10
    curve = DataCurveDisplay.from_curve(fit_trend([10, 20, 40], [3.0, 2.0, 1.0], metric="mae").to_dict())
    assert curve.ax_.get_xscale() == "log" and len(curve.ax_.lines) == 2
    bars = TargetDisplay.from_summary({"classes": {"train": {"a": 3, "b": 1}, "test": {"a": 1, "b": 1}}})
    assert [p.get_height() for p in bars.ax_.patches] == [0.75, 0.25, 0.5, 0.5]
    hist = TargetDisplay.from_summary({"histogram": {"edges": [0, 1, 2], "counts": {"train": [1, 3]}}})
    assert hist.ax_.get_title() == "Target distribution per split"
