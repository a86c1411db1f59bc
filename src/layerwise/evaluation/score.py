"""The test split scored beside the naive baseline, and the finding in one sentence."""

from __future__ import annotations

from typing import Any

import numpy as np

from .baselines import constant_kind
from .metrics import (
    DEFAULT_PRIMARY,
    better,
    classification_metrics,
    generation_metrics,
    regression_metrics,
)

BASELINE_NAMES = {
    "classification": "the majority class",
    "forecast": "persistence ('tomorrow = today')",
    "generation": "the bigram baseline",
}


def default_baseline(task: str, metric: str) -> str:
    """The default baseline's name: regression's constant follows the deciding `metric`."""
    if task == "regression":
        return f"the training {constant_kind(metric)}"
    return BASELINE_NAMES[task]


def score(
    task: str,
    y_true: np.ndarray,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
    *,
    metric: str = "auto",
    baseline_name: str | None = None,
) -> dict[str, Any]:
    """Metrics of the model and of the baseline on the same test rows, and who wins.

    For classification `y_true` holds class codes and both outputs are (n, k) probabilities;
    for generation `y_true` holds the (n, steps) next-token ids (0 = padding) and both outputs
    each token's negative log-likelihood, (n, steps), 0 at padding; otherwise all three are
    values in the target's original units. `baseline_name` says what `baseline_out` is; by
    default `default_baseline(task, metric)`.
    """
    if task == "classification":
        test, notes = classification_metrics(y_true, model_out)
        base, _ = classification_metrics(y_true, baseline_out)
    elif task == "generation":
        test, base, notes = generation_metrics(model_out, y_true), generation_metrics(baseline_out, y_true), []
    else:
        test, notes = regression_metrics(y_true, model_out)
        base, _ = regression_metrics(y_true, baseline_out)
    primary = DEFAULT_PRIMARY[task] if metric == "auto" else metric
    if primary not in test:
        raise_unavailable(primary, task, sorted(test))
    beats = better(primary, test[primary], base[primary])
    name = baseline_name or default_baseline(task, primary)
    return {
        "task": task,
        "primary_metric": primary,
        "test": test,
        "baseline": base,
        "baseline_name": name,
        "beats_baseline": bool(beats),
        "notes": notes,
        "finding": finding(name, primary, test[primary], base[primary], beats),
    }


def finding(name: str, metric: str, model: float, baseline: float, beats: bool, *, shown: bool = True) -> str:
    """One plain sentence with the deciding numbers, beside the baseline called `name`. `shown`
    False: the model scored better on these rows, but the gate found that no evidence (an
    interval including zero, too few rows)."""
    figures = f"test {metric} {_fmt(model)} vs {_fmt(baseline)}"
    if baseline != 0 and np.isfinite(baseline) and np.isfinite(model):
        change = abs(model - baseline) / abs(baseline) * 100
        figures += f" ({change:.1f}% {'better' if beats else 'worse'})" if model != baseline else " (a tie)"
    if beats and not shown:
        return (
            f"The network scores better than {name} on this test split ({figures}), "
            "but the difference is not shown to be more than chance."
        )
    if beats:
        return f"The network beats {name}: {figures}."
    return f"The network does NOT beat {name}: {figures}. The naive rule is at least as good on this test split."


def raise_unavailable(metric: str, task: str, available: list[str]) -> None:
    from ..errors import ConfigError

    raise ConfigError(f"evaluate.metric: '{metric}' is not available for {task} here; choose one of {available}")


def _fmt(x: float) -> str:
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.1f}"
