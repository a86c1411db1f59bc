"""Overfitting diagnosis from the curves: constructed curves, and real runs that do and do not overfit."""

from sklearn.datasets import load_diabetes

import layerwise
from layerwise.evaluation import diagnose


def _history(train, val):
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val))]


def test_rising_validation_with_falling_training_is_overfitting():
    d = diagnose(_history([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.9, 0.5, 0.6, 0.7, 0.8, 0.9]), restored=2)
    assert d.overfitting and d.best_epoch == 2
    assert d.findings[0].startswith("validation loss rose after epoch 2 (0.5 to 0.8, +60%)")
    assert "early stopping restored epoch 2" in d.findings[0]
    assert d.gap[-1] == 0.9 - 0.1


def test_noise_around_the_best_is_no_finding():
    d = diagnose(_history([1.0, 0.6, 0.5, 0.45, 0.44, 0.43], [0.9, 0.52, 0.5, 0.51, 0.52, 0.51]))
    assert not d.overfitting and d.findings == []


def test_still_falling_at_the_end_says_so():
    d = diagnose(_history([1.0, 0.8, 0.6], [1.1, 0.9, 0.7]))
    assert d.still_improving and "still falling at the last epoch (3)" in d.findings[0]
    assert diagnose([]).findings == []


def test_a_large_network_on_tiny_data_overfits_and_a_regularized_one_does_not():
    frame = load_diabetes(as_frame=True).frame
    over = {
        "data": {"target": "target"},
        "model": {"hidden": [256, 256]},
        "train": {"epochs": 200, "patience": 30, "lr": 0.0003, "batch_size": 16},
        "evaluate": {"bootstrap": 50},
    }
    d = layerwise.Experiment(over, data=frame.iloc[:100]).run().metrics["diagnosis"]
    assert d["overfitting"] and "overfitting; early stopping restored epoch" in d["findings"][0]
    regular = {  # standard scaling pinned: the regularization was chosen for it
        "data": {"target": "target", "normalize": "standard"},
        "model": {"hidden": [16], "dropout": 0.2},
        "train": {"epochs": 150, "patience": 30, "lr": 0.01, "weight_decay": 0.01, "batch_size": 32},
        "evaluate": {"bootstrap": 50},
    }
    d = layerwise.Experiment(regular, data=frame).run().metrics["diagnosis"]
    assert not d["overfitting"]
    assert not any("overfitting" in f for f in d["findings"])


def test_a_loss_still_falling_when_early_stopping_on_the_metric_ended_the_run_is_not_told_to_train_longer():
    history = _history([1.0, 0.8, 0.6, 0.5], [0.9, 0.8, 0.7, 0.6])
    assert "try more epochs" in diagnose(history).findings[0]
    stopped = diagnose(history, restored=1, metric_stopped=True)
    assert stopped.still_improving and "try more epochs" not in stopped.findings[0]
    assert (
        "early stopping ended the run on the validation metric (train.stop_on: metric), best at epoch 1"
        in (stopped.findings[0])
    )
