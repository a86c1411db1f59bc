"""Leakage audit: ways the test score can be better than the model will ever be in use.

Three checks, each a warning with the column or count at fault:
- test rows whose feature values exactly repeat a training row (the model may have memorised them);
- for data in time order, test timestamps that are not after every training timestamp;
- a feature that is a near-copy of the target: |correlation| > 0.99 on the training rows, or
  one feature alone, through a rule fitted on the training rows, predicting the test rows perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CORRELATION = 0.99
# A one-feature rule "predicts perfectly" at accuracy 1 or R² above this on the test rows.
PERFECT_R2 = 0.99
# Fewer test rows than this cannot show that a rule is perfect rather than lucky.
MIN_ROWS = 20
# The one-feature rule is fitted on at most this many training rows: enough to find a copy.
MAX_FIT_ROWS = 20_000


@dataclass(frozen=True)
class Audit:
    """One audit before it runs: `audit(train, test, **settings)`, on data only, so that a run's second
    process can run it while the network trains (experiment/offload.py)."""

    train: pd.DataFrame
    test: pd.DataFrame
    settings: dict[str, Any]  # audit's keywords: target, kinds, task, time

    def run(self) -> list[dict[str, Any]]:
        return audit(self.train, self.test, **self.settings)


def audit(
    train: pd.DataFrame, test: pd.DataFrame, *, target: str, kinds: dict[str, str], task: str, time: str | None = None
) -> list[dict[str, Any]]:
    """Leakage warnings, each {"check", "column", "count", "detail"}; [] when all checks pass.

    `kinds` maps each feature column to numeric | categorical | boolean | ...; columns not in it
    (the target, the time column) are not features.
    """
    warnings = []
    features = [c for c in kinds if c in train.columns and c not in (target, time)]
    if time is not None and time in train.columns and len(train) and len(test):
        warnings += time_order(train[time], test[time], time)
    if task != "forecast":  # forecast inputs are past rows by construction: a window ends before its targets
        warnings += shared_rows(train[features], test[features])
        for column in features:
            warning = near_copy(
                train[column], train[target], test[column], test[target], kind=kinds[column], task=task, column=column
            )
            if warning:
                warnings.append(warning)
    return warnings


def shared_rows(train: pd.DataFrame, test: pd.DataFrame) -> list[dict[str, Any]]:
    """Test rows whose every feature value equals some training row's."""
    if train.shape[1] == 0 or len(test) == 0:
        return []
    seen = set(pd.util.hash_pandas_object(train, index=False).to_numpy().tolist())
    hashes = pd.util.hash_pandas_object(test, index=False).to_numpy()
    count = int(sum(h in seen for h in hashes.tolist()))
    if not count:
        return []
    return [
        _warning(
            "duplicates",
            None,
            count,
            f"{count} of {len(test)} test rows ({count / len(test):.0%}) repeat a training row's feature "
            "values exactly; the test score is partly memory. Remove duplicates before splitting "
            "(data.clean.drop_duplicates) or split by group",
        )
    ]


def time_order(train_time: pd.Series, test_time: pd.Series, column: str) -> list[dict[str, Any]]:
    """Test timestamps at or before the last training timestamp."""
    train_t, test_t = _as_time(train_time), _as_time(test_time)
    last = train_t.max()
    early = int((test_t <= last).sum())
    if not early:
        return []
    return [
        _warning(
            "time_order",
            column,
            early,
            f"{early} of {len(test_t)} test rows are not after the last training time ({last}); "
            "the model is tested on a past it was trained beside. Use data.split.method: time",
        )
    ]


def near_copy(
    train_x: pd.Series, train_y: pd.Series, test_x: pd.Series, test_y: pd.Series, *, kind: str, task: str, column: str
) -> dict[str, Any] | None:
    """A warning when one feature is (nearly) the target itself, else None."""
    if kind == "numeric":
        r = _correlation(train_x, train_y, task)
        if r is not None and abs(r) > CORRELATION:
            return _warning(
                "near_copy",
                column,
                len(train_x),
                f"feature '{column}' has correlation {r:+.4f} with the target on the training rows: "
                "it is a near-copy of the target; drop it (data.drop) unless it is truly known "
                "before the target is",
            )
    quality = _one_feature_rule(train_x, train_y, test_x, test_y, kind=kind, task=task)
    if quality is None:
        return None
    perfect = quality >= 1.0 if task == "classification" else quality > PERFECT_R2
    if not perfect:
        return None
    measure = f"accuracy {quality:.3f}" if task == "classification" else f"R² {quality:.4f}"
    return _warning(
        "near_copy",
        column,
        len(test_x),
        f"feature '{column}' alone predicts the test target perfectly ({measure} from a rule fitted on "
        "the training rows): it probably encodes the target; drop it (data.drop) unless it is truly "
        "known before the target is",
    )


def _correlation(x: pd.Series, y: pd.Series, task: str) -> float | None:
    if task == "classification" and y.nunique() != 2:
        return None  # a correlation with arbitrary class codes means nothing
    xv = pd.to_numeric(x, errors="coerce").to_numpy(dtype=np.float64)
    yv = (
        pd.factorize(y, sort=True)[0].astype(np.float64)
        if task == "classification"
        else pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64)
    )
    ok = np.isfinite(xv) & np.isfinite(yv)
    if ok.sum() < 3 or np.std(xv[ok]) == 0 or np.std(yv[ok]) == 0:
        return None
    return float(np.corrcoef(xv[ok], yv[ok])[0, 1])


def _one_feature_rule(train_x, train_y, test_x, test_y, *, kind: str, task: str) -> float | None:
    """Test accuracy (classification) or R² (regression) of the best simple rule on one feature."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # not where only categories are checked

    tx, ty = train_x.iloc[:MAX_FIT_ROWS], train_y.iloc[:MAX_FIT_ROWS]
    keep = tx.notna() & ty.notna()
    tx, ty = tx[keep], ty[keep]
    sx, sy = test_x[test_x.notna() & test_y.notna()], test_y[test_x.notna() & test_y.notna()]
    if len(sx) < MIN_ROWS or len(tx) < MIN_ROWS:
        return None
    if task == "classification" and (ty.nunique() < 2 or sy.nunique() < 2):
        return None  # with one class, any rule is "perfect"
    if task != "classification" and np.var(sy.to_numpy(dtype=np.float64)) == 0:
        return None
    if kind == "numeric":
        model = (
            DecisionTreeClassifier(max_depth=4, random_state=0)
            if task == "classification"
            else DecisionTreeRegressor(max_depth=8, random_state=0)
        )
        model.fit(tx.to_numpy(dtype=np.float64).reshape(-1, 1), ty.to_numpy())
        pred = model.predict(sx.to_numpy(dtype=np.float64).reshape(-1, 1))
    else:
        # a lookup table: the commonest (classification) or mean (regression) target per value
        table = (
            ty.groupby(tx.astype(str)).agg(lambda s: s.mode().iloc[0])
            if task == "classification"
            else ty.groupby(tx.astype(str)).mean()
        )
        pred = sx.astype(str).map(table)
        if pred.isna().mean() > 0.05:  # the rule cannot speak for unseen values
            return None
        known = pred.notna()
        pred, sy = pred[known].to_numpy(), sy[known]
    truth = sy.to_numpy()
    if task == "classification":
        return float(np.mean(pred == truth))
    truth = truth.astype(np.float64)
    return float(1 - np.sum((truth - pred) ** 2) / np.sum((truth - truth.mean()) ** 2))


def _as_time(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="coerce")


def _warning(check: str, column: str | None, count: int, detail: str) -> dict[str, Any]:
    return {"check": check, "column": column, "count": int(count), "detail": detail}
