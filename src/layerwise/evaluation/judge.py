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
    reference: dict[str, Any] | None = None,
    reference_missing: str | None = None,
    beat_reference: bool = False,
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
        reference: {"name": str, "out": outputs} of a classical model fitted on the same training
            rows (gradient-boosted trees for tables, TF-IDF + a linear model for text): reported in
            `reference` with the paired interval of network - reference and said in the headline;
            it answers "should another kind of model be considered?", and decides only with
            `beat_reference`.
        reference_missing: why a run that would have a reference has none (its fit ran past the
            budget, its texts hold no word, the table was streamed): a note, and the reason of a
            failed beat_reference check.
        beat_reference: the gate's `beat_reference` check: the paired interval of network -
            reference on the deciding metric must exclude zero in the network's favour; with no
            reference, it fails and says why.
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
    if reference is not None:
        out["reference"], versus_reference = _reference(
            task, y_true, model_out, reference, primary, samples=samples, level=level, block=block, seed=seed
        )
        if beat_reference:
            checks.append(versus_reference)
    else:
        if reference_missing:
            out["notes"].append(f"no classical reference: {reference_missing}")
        if beat_reference:
            checks.append(gate.no_reference(reference_missing))
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
    """The verdict in one sentence with the deciding numbers (and the classical reference's, where there is one)."""
    if not decision.checks:
        text = f"{decision.verdict}: no gate is configured. {out['finding']}"
    else:
        text = f"{decision.verdict}: {'; '.join(decision.reasons)}."
    reference = out.get("reference")
    return text if reference is None else f"{text} {reference['finding']}"


def _reference(
    task: str,
    y_true: np.ndarray,
    model_out: np.ndarray,
    reference: dict[str, Any],
    primary: str,
    **bootstrap: Any,
) -> tuple[dict[str, Any], gate.Check]:
    """The classical reference on the same rows: its metrics, the paired interval of network - reference on
    the deciding metric, and one sentence that says plainly when the network does not beat it; the
    beat_reference check on the same interval."""
    name, other = str(reference["name"]), reference["out"]
    found = score(task, y_true, model_out, other, metric=primary, baseline_name=name)
    paired = paired_bootstrap(task, y_true, model_out, other, [primary], **bootstrap)
    # as beside the baseline: no resamples, no interval; resamples that gave none, NaNs
    interval = paired.difference.get(primary, [float("nan")] * 2) if bootstrap.get("samples", 1) >= 1 else None
    check = gate.beat_reference(
        primary, found["test"][primary], found["baseline"][primary], interval, name, bootstrap.get("level", 0.95)
    )
    if check.passed:
        sentence = f"The network {check.detail}."
    elif found["beats_baseline"]:  # better on these rows, by no more than chance
        sentence = (
            f"The network is not shown to beat the classical reference: {check.detail}. "
            f"Consider the simpler model, {name}: the network's edge may be chance."
        )
    else:
        sentence = (
            f"The network does NOT beat the classical reference: {check.detail}. "
            f"Consider the simpler model instead: {name}, faster to fit and at least as good here."
        )
    return {
        "name": name,
        "test": found["baseline"],
        "difference": interval,
        "beats_reference": check.passed,
        "finding": sentence,
    }, check


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
