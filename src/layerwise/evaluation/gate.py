"""The deploy gate: DEPLOY or DO NOT DEPLOY, and the reasons, from the test evidence.

Checks, each configured under `evaluate.gates`:
- beat_baseline: the paired-bootstrap interval of (model - baseline) on the primary metric
  excludes zero on the model's side: a win the test rows cannot explain by chance. With
  `evaluate.bootstrap: 0` there is no interval; the check then compares the point estimates
  and says so, since chance is not ruled out;
- min / max: a metric's test value at least / at most a bound;
- compare_to: the model (challenger) at least as good as a champion bundle on the same test rows;
- beat_reference: as beat_baseline, against the classical reference fitted on the same training
  rows (gradient-boosted trees for tables, TF-IDF + a linear model for text); without one it fails
  and says why there is none.

Whatever the gates, a test split of fewer than MIN_TEST_ROWS rows (windows, for a series;
examples, for generation) is no evidence: a bootstrap over a handful of rows gives an interval
of nearly one value, which would look decisive. Below it the `test_rows` check fails and the verdict is DO NOT DEPLOY.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .metrics import HIGHER_IS_BETTER

DEPLOY, DO_NOT_DEPLOY = "DEPLOY", "DO NOT DEPLOY"
# The fewest test rows a verdict is drawn from. With 20 rows one row moves accuracy by 5 points,
# and a 95% percentile interval rests on its 2.5% tails: far fewer and it is mostly ties.
MIN_TEST_ROWS = 20


@dataclass
class Check:
    gate: str
    passed: bool
    detail: str


@dataclass
class Decision:
    verdict: str
    checks: list[Check] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Why: the failed checks when any failed, else every passed one."""
        failed = [c.detail for c in self.checks if not c.passed]
        return failed or [c.detail for c in self.checks]

    @property
    def deploy(self) -> bool:
        return self.verdict == DEPLOY

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reasons": self.reasons, "checks": [asdict(c) for c in self.checks]}


def decide(checks: list[Check]) -> Decision:
    return Decision(DEPLOY if all(c.passed for c in checks) else DO_NOT_DEPLOY, list(checks))


def favours(metric: str, interval: list[float]) -> str:
    """'model' or 'baseline' when the interval of (model - other) excludes zero on one side, else 'neither'."""
    lo, hi = interval
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "neither"
    higher = HIGHER_IS_BETTER[metric]
    if (lo > 0) if higher else (hi < 0):
        return "model"
    if (hi < 0) if higher else (lo > 0):
        return "baseline"
    return "neither"


def beat_baseline(
    metric: str,
    model: float,
    baseline: float,
    interval: list[float] | None,
    baseline_name: str,
    level: float = 0.95,
    *,
    other: str = "baseline",
) -> Check:
    """Passes when the paired interval of the difference excludes zero in the model's favour.

    `interval` None means no resampling was asked for (bootstrap 0): the point estimates decide.
    An interval of NaNs (the metric undefined on most resamples) decides nothing, so it fails.
    `other` is what the other side is called when the interval excludes zero on its side.
    """
    if interval is None:
        return _beat_on_points(metric, model, baseline, baseline_name)
    figures = (
        f"test {metric} {fmt(model)} vs {fmt(baseline)}; difference "
        f"{fmt(model - baseline, sign=True)}, {level:.0%} interval {interval_text(interval, sign=True)}"
    )
    if not all(math.isfinite(x) for x in interval):
        return Check(
            "beat_baseline",
            False,
            f"not shown to beat {baseline_name}: {figures}: the bootstrap gave "
            f"no usable interval ({metric} undefined on most resamples)",
        )
    side = favours(metric, interval)
    if side == "model":
        return Check("beat_baseline", True, f"beats {baseline_name}: {figures}, which excludes zero")
    if side == "baseline":
        return Check(
            "beat_baseline", False, f"worse than {baseline_name}: {figures}, which excludes zero on the {other}'s side"
        )
    return Check("beat_baseline", False, f"not shown to beat {baseline_name}: {figures}, which includes zero")


def beat_reference(
    metric: str, model: float, reference: float, interval: list[float] | None, name: str, level: float = 0.95
) -> Check:
    """beat_baseline's rule against the classical reference named `name` (evaluate.gates.beat_reference)."""
    check = beat_baseline(metric, model, reference, interval, name, level, other="reference")
    return replace(check, gate="beat_reference")


def no_reference(why: str | None = None) -> Check:
    """The failed beat_reference check of a run that has no classical reference to beat; `why` when known."""
    if why:
        return Check("beat_reference", False, f"no classical reference to beat: {why}")
    return Check(
        "beat_reference",
        False,
        "no classical reference to beat: evaluate.reference is none, or this kind of data has none "
        "(forecasts, images and generation), or its fit ran past evaluate.reference_seconds; "
        "remove evaluate.gates.beat_reference, or give the run a reference",
    )


def _beat_on_points(metric: str, model: float, baseline: float, baseline_name: str) -> Check:
    figures = f"test {metric} {fmt(model)} vs {fmt(baseline)}; difference {fmt(model - baseline, sign=True)}"
    caveat = "no interval (evaluate.bootstrap: 0): judged on the point estimates only"
    if not (math.isfinite(model) and math.isfinite(baseline)):
        return Check("beat_baseline", False, f"not shown to beat {baseline_name}: {figures}; {caveat}")
    better = model > baseline if HIGHER_IS_BETTER[metric] else model < baseline
    if better:
        return Check("beat_baseline", True, f"beats {baseline_name}: {figures}; {caveat}")
    return Check("beat_baseline", False, f"does not beat {baseline_name}: {figures}; {caveat}")


def enough_rows(rows: int, minimum: int = MIN_TEST_ROWS, unit: str = "row") -> Check | None:
    """A failed `test_rows` check when `rows` is below `minimum`; None when there are enough.
    `unit` names what a row is (generation's are examples)."""
    if rows >= minimum:
        return None
    return Check(
        "test_rows",
        False,
        f"only {rows} test {unit}{'s' * (rows != 1)}: at least {minimum} are needed "
        f"before the test metrics and their intervals are evidence (an interval from "
        f"so few {unit}s is degenerate); judge on more labelled {unit}s",
    )


def bound(metric: str, value: float | None, limit: float, kind: str, interval: list[float] | None = None) -> Check:
    """`kind` "min": value >= limit; "max": value <= limit. A metric not computed fails."""
    gate = f"{kind}.{metric}"
    if value is None or not math.isfinite(value):
        return Check(gate, False, f"{metric} was not computed on this test split, so {gate} cannot pass")
    ok = value >= limit if kind == "min" else value <= limit
    where = "" if interval is None else f" ({interval_text(interval)})"
    word = "at least" if kind == "min" else "at most"
    return Check(gate, ok, f"test {metric} {fmt(value)}{where} {'is' if ok else 'is not'} {word} {fmt(limit)}")


def champion(metric: str, challenger: float, champ: float, interval: list[float] | None, path: str) -> Check:
    """The challenger passes when its test score is at least as good as the champion's."""
    higher = HIGHER_IS_BETTER[metric]
    ok = challenger >= champ if higher else challenger <= champ
    return Check(
        "compare_to",
        ok,
        f"{'at least as good as' if ok else 'worse than'} the champion {path}: test {metric} "
        f"{fmt(challenger)} vs {fmt(champ)}; difference {fmt(challenger - champ, sign=True)}, "
        f"interval {interval_text(interval, sign=True)}",
    )


def interval_text(interval: list[float] | None, *, sign: bool = False) -> str:
    """`[lo, hi]`; `sign` for an interval of a difference, where "+" says which side of zero."""
    if interval is None:
        return "none (evaluate.bootstrap: 0)"
    lo, hi = interval
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "not available"
    return f"[{fmt(lo, sign=sign)}, {fmt(hi, sign=sign)}]"


def fmt(x: float, *, sign: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    text = f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.1f}"
    return f"+{text}" if sign and x > 0 else text
