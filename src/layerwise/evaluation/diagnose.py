"""Overfitting diagnosis from the training and validation loss curves.

A finding is stated only where the curves support it: validation loss rising well above its
best while training loss keeps falling is overfitting; validation loss still falling at the
last epoch means training stopped early. Otherwise there is no finding, only the numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# Validation loss must end this far (relative) above its best to count as rising, and the
# training loss this far below its value at the best epoch to count as still falling: the
# epoch-to-epoch noise of a healthy run stays under both.
RISE = 0.10
FALL = 0.05
# Epochs after the best that the rise is averaged over, so one noisy epoch decides nothing.
TAIL = 3


@dataclass
class Diagnosis:
    epochs: int
    best_epoch: int | None
    best_val_loss: float | None
    final_train_loss: float | None
    final_val_loss: float | None
    gap: list[float | None] = field(default_factory=list)  # validation minus training loss, per epoch
    overfitting: bool = False
    still_improving: bool = False
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(history: list[dict[str, Any]], *, restored: int | None = None, metric_stopped: bool = False) -> Diagnosis:
    """Read the curves in `history` (the Trainer's rows: epoch, train_loss, val_loss).

    Args:
        restored: the epoch whose weights early stopping restored at the end (by the validation
            loss, or by the metric under train.stop_on: metric), None when none was.
        metric_stopped: early stopping on the validation metric (train.stop_on: metric) ended the run.
    """
    train = [_num(r.get("train_loss")) for r in history]
    val = [_num(r.get("val_loss")) for r in history]
    epochs = len(history)
    gap = [None if v is None or t is None else v - t for t, v in zip(train, val)]
    result = Diagnosis(
        epochs=epochs,
        best_epoch=None,
        best_val_loss=None,
        final_train_loss=train[-1] if train else None,
        final_val_loss=val[-1] if val else None,
        gap=gap,
    )
    scored = [(v, i) for i, v in enumerate(val) if v is not None]
    if not scored:
        return result
    best, at = min(scored)
    result.best_epoch, result.best_val_loss = history[at]["epoch"], best
    after = [v for v in val[at + 1 :] if v is not None]
    if len(after) >= TAIL:
        recent = sum(after[-TAIL:]) / TAIL
        rose = recent > best + RISE * abs(best)
        t_best, t_end = train[at], train[-1]
        if rose and t_best is not None and t_end is not None and t_end < t_best - FALL * abs(t_best):
            result.overfitting = True
            result.findings.append(_overfitting(result.best_epoch, best, recent, t_best, t_end, restored))
    elif at == len(val) - 1 and len(scored) >= 2:
        first = scored[0][0]
        if best < first:
            result.still_improving = True
            falling = (
                f"validation loss was still falling at the last epoch ({epochs}): {_f(first)} at the start, "
                f"{_f(best)} at the end; "
            )
            if metric_stopped:  # the loss fell while the metric early stopping watches did not improve
                result.findings.append(
                    falling + f"early stopping ended the run on the validation metric (train.stop_on: metric), "
                    f"best at epoch {restored}; more epochs would stop the same way (stop_on: loss follows the loss)"
                )
            else:
                result.findings.append(falling + "training stopped before the model converged; try more epochs")
    return result


def _overfitting(epoch: int, best: float, recent: float, t_best: float, t_end: float, restored: int | None) -> str:
    rise = (recent - best) / abs(best) * 100 if best else float("inf")
    text = (
        f"validation loss rose after epoch {epoch} ({_f(best)} to {_f(recent)}, +{rise:.0f}%) "
        f"while training loss kept falling ({_f(t_best)} to {_f(t_end)}): overfitting; "
    )
    if restored is not None:
        text += f"early stopping restored epoch {restored}; "
    return text + "try more dropout or weight decay, or more data"


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _f(x: float) -> str:
    return f"{x:.4g}"
