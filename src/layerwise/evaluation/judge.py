"""From test predictions to the verdict: score, intervals, gate, on plain arrays.

`judge` is step 8 usable alone: any model's test outputs and a baseline's in, the numbers
of metrics.json out (`test`, `baseline`, `ci`, `verdict`, `reasons`, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import gate
from .bootstrap import paired_bootstrap
from .score import finding, score


def judge(
    task: str,
    y_true: np.ndarray,
    model_out: np.ndarray,
    baseline_out: np.ndarray,
    *,
    metric: str = "auto",
    samples: int = 1000,
    level: float = 0.95,
    block: int = 1,
    seed: int = 0,
    beat_baseline: bool = True,
    minimum: dict[str, float] | None = None,
    maximum: dict[str, float] | None = None,
    champion: dict[str, Any] | None = None,
    baseline_name: str | None = None,
    beside: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Score the model beside the baseline, with intervals, and decide DEPLOY or DO NOT DEPLOY.

    Args:
        task: what the three arrays hold:
            classification: `y_true` class codes (n,), the outputs (n, k) probabilities;
            regression / forecast: values in the target's units, (n,) or (n, outputs);
            generation: `y_true` the (n, steps) next-token ids of the test examples (0 = padding),
            the outputs each token's negative log-likelihood (n, steps), 0 at padding (e.g. the
            network's and the bigram's). Its metrics are per character: cross_entropy (summed
            losses / non-padding targets, nats), perplexity and bits_per_char; auto decides on
            cross_entropy, the bootstrap resamples whole examples, a row is an example.
        samples, level, block: the paired bootstrap (block > 1 for series).
        champion: {"path": str, "out": outputs of the champion model on the same rows}.
        baseline_name: what `baseline_out` is (default: score's `default_baseline`).
        beside: other baselines' outputs on the same rows, by name: reported in
            `other_baselines` (their metrics, whether the network beats them); they decide nothing.
    """
    out = score(task, y_true, model_out, baseline_out, metric=metric, baseline_name=baseline_name)
    primary = out["primary_metric"]
    names = sorted(out["test"])
    ci = paired_bootstrap(
        task, y_true, model_out, baseline_out, names, samples=samples, level=level, block=block, seed=seed
    )
    out["ci"] = ci.to_dict()
    # No resamples, no interval (None: the gate says so); resamples that gave none: NaNs.
    no_interval = None if samples < 1 else [float("nan")] * 2
    checks = []
    if beat_baseline:
        checks.append(
            gate.beat_baseline(
                primary,
                out["test"][primary],
                out["baseline"][primary],
                ci.difference.get(primary, no_interval),
                out["baseline_name"],
                level,
            )
        )
    for kind, bounds in (("min", minimum or {}), ("max", maximum or {})):
        for name, limit in bounds.items():
            checks.append(gate.bound(name, out["test"].get(name), limit, kind, ci.model.get(name)))
    if champion is not None:
        versus = score(task, y_true, model_out, champion["out"], metric=primary)
        paired = paired_bootstrap(
            task, y_true, model_out, champion["out"], [primary], samples=samples, level=level, block=block, seed=seed
        )
        out["champion"] = {
            "path": str(champion["path"]),
            "test": versus["baseline"],
            "difference": paired.difference.get(primary, no_interval),
        }
        checks.append(
            gate.champion(
                primary,
                versus["test"][primary],
                versus["baseline"][primary],
                paired.difference.get(primary, no_interval),
                str(champion["path"]),
            )
        )
    if beside:
        out["other_baselines"] = [
            _beside(task, y_true, model_out, name, other, primary) for name, other in beside.items()
        ]
    rows = len(y_true)
    unit = "example" if task == "generation" else "row"
    out["ci"]["degenerate"] = rows < gate.MIN_TEST_ROWS
    if out["ci"]["degenerate"]:
        out["notes"].append(
            f"only {rows} test {unit}s: the intervals are degenerate, not evidence "
            f"(at least {gate.MIN_TEST_ROWS} are needed)"
        )
        short = gate.enough_rows(rows, unit=unit)
        if checks and short is not None:  # a gate is configured: it cannot pass on so little
            checks.insert(0, short)
    decision = gate.decide(checks)
    out.update(verdict=decision.verdict, reasons=decision.reasons, checks=decision.to_dict()["checks"])
    beat = next((c for c in checks if c.gate == "beat_baseline"), None)
    if out["beats_baseline"] and (out["ci"]["degenerate"] or (beat is not None and not beat.passed)):
        # better on these rows, but the gate found no evidence: the finding must not read as a win
        out["finding"] = finding(
            out["baseline_name"], primary, out["test"][primary], out["baseline"][primary], True, shown=False
        )
    out["headline"] = headline(decision, out)
    return out


def headline(decision: gate.Decision, out: dict[str, Any]) -> str:
    """The verdict in one sentence with the deciding numbers."""
    if not decision.checks:
        return f"{decision.verdict}: no gate is configured. {out['finding']}"
    return f"{decision.verdict}: {'; '.join(decision.reasons)}."


def _beside(
    task: str, y_true: np.ndarray, model_out: np.ndarray, name: str, other: np.ndarray, primary: str
) -> dict[str, Any]:
    """One more baseline on the same rows: its metrics and the finding on the deciding metric."""
    found = score(task, y_true, model_out, other, metric=primary, baseline_name=name)
    return {
        "name": name,
        "baseline": found["baseline"],
        "beats_baseline": found["beats_baseline"],
        "finding": found["finding"],
    }
