"""The classical reference beside a network: what a practitioner would try first without one.

For text: TF-IDF of word 1-2-grams (sublinear term frequency), one vectorizer per text column,
beside the table's other features as the network sees them (scaled, encoded), into logistic
regression (classification) or ridge (regression). Fitted on the training rows only; its one
setting, the regularization (C, or ridge's alpha), is chosen on the validation rows as the
network's early stopping is, from a short grid: the reference a practitioner would actually
try, so that "the network does not beat it" means something.

Logistic regression uses the saga solver: on 8,400 Debian descriptions (9,000 TF-IDF columns,
51 classes) it fits in 0.2-1.2 s against lbfgs's 6-11 s, with the same accuracy. An iteration cap
reached on badly scaled extra columns is part of the reference's budget, not a warning to the user.

For tables: scikit-learn's HistGradientBoosting with its defaults (Grinsztajn et al., NeurIPS 2022:
gradient-boosted trees are what a network on a table has to beat), categories as its native
categorical splits, missing values as its own missing branch. No setting is chosen: defaults are
what a practitioner tries first, and tuning one side only would make the comparison unfair.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TEXT_REFERENCE = {
    "classification": "TF-IDF + logistic regression",
    "regression": "TF-IDF + ridge regression",
}
MAX_FEATURES = 200_000  # n-grams kept per text column, the most frequent first
C_GRID = (1.0, 3.0, 10.0, 30.0)  # logistic regression's inverse regularization, chosen on validation
ALPHA_GRID = (0.3, 1.0, 3.0, 10.0)  # ridge's regularization, chosen on validation

Texts = Mapping[str, Sequence[Any]]

# The one name of the tables' reference: in metrics.json, the summary, the report and the gate.
TABLE_REFERENCE = "gradient-boosted trees (HistGradientBoosting)"
CHUNK = 20  # boosting iterations fitted between two looks at the clock (warm start)
MAX_ITER = 100  # HistGradientBoosting's default max_iter
MAX_CATEGORIES = 255  # native categorical splits take codes below max_bins (255); beyond, codes as numbers
# OpenMP threads of the fit. One: a run holds torch's OpenMP pool and scikit-learn's, each spinning
# its threads; on 2 busy cores a 3,000-row, 20-column fit took 3.7-5.2 s on 2 threads, 0.3-0.5 s on 1.
TREE_THREADS = 1


class OverBudget(RuntimeError):
    """The reference's fit ran past its time budget (evaluate.reference_seconds) and was stopped."""

    def __init__(self, seconds: float, iterations: int, unit: str = "boosting iterations"):
        super().__init__(f"stopped after {iterations} {unit}, past {seconds:g} s")
        self.seconds = seconds
        self.iterations = iterations
        self.unit = unit


Clock = Callable[[], float]  # seconds so far: the wall clock, or (in a second process) its CPU time


class Budget:
    """The clock of a reference's fit: `check(done)` raises OverBudget once `seconds` have passed."""

    def __init__(self, seconds: float | None, unit: str, clock: Clock = time.perf_counter):
        self.seconds, self.unit, self.clock = seconds, unit, clock
        self.started = clock()

    def check(self, done: int) -> None:
        if self.seconds is not None and self.clock() - self.started > self.seconds:
            raise OverBudget(self.seconds, done, self.unit)


class NoWords(ValueError):
    """The training texts of a column hold no word of two characters or more: TF-IDF has nothing to count."""


def text_reference(
    task: str,
    train: tuple[Texts, np.ndarray, np.ndarray],
    test: tuple[Texts, np.ndarray],
    *,
    val: tuple[Texts, np.ndarray, np.ndarray] | None = None,
    classes: int = 0,
    seed: int = 0,
    seconds: float | None = None,
    clock: Clock = time.perf_counter,
) -> tuple[np.ndarray, str]:
    """(outputs on the test rows, name): (n, classes) probabilities or (n, 1) values in the target's units.

    Args:
        train: (texts by column, dense features (n, F), targets: class codes or values).
        test: (texts by column, dense features (m, F)).
        val: as train; picks the regularization from the grid (accuracy, or squared error). Without
            validation rows, C = 1 and alpha = 1, scikit-learn's defaults.
        seconds: the time budget; the clock is read after the vectors and after each fit of the grid.
    Raises NoWords when a column's training texts hold no word at all (the vectorizer's vocabulary is empty),
    OverBudget past `seconds`.
    """
    budget = Budget(seconds, "fits of the linear model", clock)
    texts_train, dense_train, y = train
    vectorizers = [_fit_vectorizer(column, values) for column, values in texts_train.items()]
    x_train = _features(vectorizers, texts_train, dense_train)
    x_test = _features(vectorizers, test[0], test[1])
    held = None if val is None or len(val[2]) == 0 else (_features(vectorizers, val[0], val[1]), val[2])
    budget.check(0)
    if task == "classification":
        return _classify(x_train, y, x_test, held, classes, seed, budget), TEXT_REFERENCE[task]
    return _regress(x_train, y, x_test, held, budget), TEXT_REFERENCE[task]


def _classify(
    x_train: Any, y: np.ndarray, x_test: Any, held: Any, classes: int, seed: int, clock: Budget
) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    codes = np.asarray(y).astype(np.int64).reshape(-1)
    out = np.zeros((x_test.shape[0], max(classes, int(codes.max()) + 1)))
    if len(np.unique(codes)) < 2:  # one class in training: it is the answer
        out[:, codes[0]] = 1.0
        return out

    def fit(c: float, done: int) -> Any:
        model = LogisticRegression(C=c, solver="saga", max_iter=2000, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _convergence())
            model.fit(x_train, codes)
        clock.check(done + 1)
        return model

    if held is None:
        model = fit(1.0, 0)
    else:
        x_val, y_val = held[0], np.asarray(held[1]).astype(np.int64).reshape(-1)
        fitted = [fit(c, i) for i, c in enumerate(C_GRID)]
        model = max(fitted, key=lambda m: float(np.mean(m.predict(x_val) == y_val)))  # the first of equals
    out[:, model.classes_] = model.predict_proba(x_test)  # classes absent from training stay 0
    return out


def _regress(x_train: Any, y: np.ndarray, x_test: Any, held: Any, clock: Budget) -> np.ndarray:
    from sklearn.linear_model import Ridge

    targets = np.asarray(y, dtype=np.float64).reshape(x_train.shape[0], -1)

    def fit(alpha: float, done: int) -> Any:
        model = Ridge(alpha=alpha).fit(x_train, targets)
        clock.check(done + 1)
        return model

    if held is None:
        model = fit(1.0, 0)
    else:
        x_val = held[0]
        y_val = np.asarray(held[1], dtype=np.float64).reshape(x_val.shape[0], -1)
        fitted = [fit(a, i) for i, a in enumerate(ALPHA_GRID)]
        model = min(fitted, key=lambda m: float(np.mean((m.predict(x_val).reshape(y_val.shape) - y_val) ** 2)))
    return np.asarray(model.predict(x_test), dtype=np.float64).reshape(x_test.shape[0], -1)


def _fit_vectorizer(column: str, values: Sequence[Any]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = [as_text(v) for v in values]
    try:
        return _vectorizer(TfidfVectorizer, min_df=2 if len(words) >= 50 else 1).fit(words)
    except ValueError:  # too few documents for min_df 2 to keep any n-gram
        try:
            return _vectorizer(TfidfVectorizer, min_df=1).fit(words)
        except ValueError:
            raise NoWords(f"the training texts of '{column}' hold no word TF-IDF can count") from None


def _features(vectorizers: list[Any], texts: Texts, dense: np.ndarray) -> Any:
    """(rows, n-grams of every text column + dense features), sparse."""
    from scipy import sparse

    blocks = [v.transform([as_text(t) for t in texts[c]]) for v, c in zip(vectorizers, texts)]
    if dense.shape[1]:
        blocks.append(sparse.csr_matrix(dense.astype(np.float64)))
    return sparse.hstack(blocks).tocsr()


def _convergence() -> type[Warning]:
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning


def _vectorizer(cls: Any, *, min_df: int) -> Any:
    return cls(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=MAX_FEATURES, dtype=np.float64)


def as_text(value: Any) -> str:
    """A text cell as the reference reads it: a missing text is an empty one, as the tokenizer reads it."""
    return value if isinstance(value, str) else ""


def table_reference(
    task: str,
    train_frame: pd.DataFrame,
    y_train: np.ndarray,
    test_frame: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    classes: int = 0,
    seed: int = 0,
    seconds: float = 120.0,
    threads: int | None = TREE_THREADS,
    clock: Clock = time.perf_counter,
) -> tuple[np.ndarray, str]:
    """(outputs on the test rows, name): (n, classes) probabilities (a column for every class code, 0
    for those absent from training) or (n, 1) values in the target's units. `tree_arrays`, then `fit_trees`.

    Args:
        train_frame, test_frame: the same columns; `kinds[column]` "categorical" holds labels (missing:
            None / NaN), any other kind numbers (float, NaN missing: booleans 0/1, dates as their parts).
        y_train: class codes (classification) or values (regression), one per training row.
        seconds: the fit's budget, checked every CHUNK boosting iterations (warm start).
        threads: OpenMP threads while fitting and predicting; None: scikit-learn's default (every core).
    Raises OverBudget when the fit is still going past `seconds`.
    """
    x_train, x_test, categorical = tree_arrays(train_frame, test_frame, kinds)
    return fit_trees(
        task,
        x_train,
        y_train,
        x_test,
        categorical,
        classes=classes,
        seed=seed,
        seconds=seconds,
        threads=threads,
        clock=clock,
    )


def fit_trees(
    task: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    categorical: np.ndarray,
    *,
    classes: int = 0,
    seed: int = 0,
    seconds: float = 120.0,
    threads: int | None = TREE_THREADS,
    clock: Clock = time.perf_counter,
) -> tuple[np.ndarray, str]:
    """table_reference on `tree_arrays`' float64 arrays and categorical flags."""
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    flags = np.asarray(categorical, dtype=bool)
    with threadpool_limits(limits=threads, user_api="openmp"):
        return _trees(task, x_train, np.asarray(y_train), x_test, flags, classes, seed, seconds, clock)


def _trees(
    task: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    categorical: np.ndarray,
    classes: int,
    seed: int,
    seconds: float,
    clock: Clock,
) -> tuple[np.ndarray, str]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task == "classification":
        codes = np.asarray(y_train).astype(np.int64).reshape(-1)
        out = np.zeros((len(x_test), max(classes, int(codes.max()) + 1)))
        if len(np.unique(codes)) < 2:  # one class in training: it is the answer
            out[:, codes[0]] = 1.0
            return out, TABLE_REFERENCE
        model = _boost(HistGradientBoostingClassifier, categorical, seed, x_train, codes, seconds, clock)
        out[:, model.classes_] = model.predict_proba(x_test)  # classes absent from training stay 0
        return out, TABLE_REFERENCE
    values = np.asarray(y_train, dtype=np.float64).reshape(-1)
    model = _boost(HistGradientBoostingRegressor, categorical, seed, x_train, values, seconds, clock)
    return np.asarray(model.predict(x_test), dtype=np.float64).reshape(-1, 1), TABLE_REFERENCE


def _boost(
    cls: Any, categorical: np.ndarray, seed: int, x: np.ndarray, y: np.ndarray, seconds: float, clock: Clock
) -> Any:
    """Fit in chunks of CHUNK iterations up to the default MAX_ITER, as one fit would (warm start keeps
    the trees, the bins and the early-stopping split), looking at the clock between chunks."""
    model = cls(categorical_features=categorical if categorical.any() else None, random_state=seed, warm_start=True)
    budget = Budget(seconds, "boosting iterations", clock)
    for stop in range(CHUNK, MAX_ITER + 1, CHUNK):
        model.set_params(max_iter=stop)
        model.fit(x, y)
        if model.n_iter_ < stop or stop == MAX_ITER:  # early stopping ended it, or every iteration is done
            return model
        budget.check(model.n_iter_)
    return model


def tree_arrays(
    train: pd.DataFrame, test: pd.DataFrame, kinds: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 (rows, columns) arrays for the trees, and which columns are native categoricals: a
    category's code is its place among the training categories, sorted; unseen or missing is NaN,
    the trees' missing branch. Past MAX_CATEGORIES the codes are plain numbers."""
    train_cols, test_cols, categorical = [], [], []
    for column in train.columns:
        if kinds.get(column) == "categorical":
            known = pd.Index(sorted({str(v) for v in train[column].dropna()}))
            train_cols.append(_codes(train[column], known))
            test_cols.append(_codes(test[column], known))
            categorical.append(0 < len(known) <= MAX_CATEGORIES)
        else:
            train_cols.append(pd.to_numeric(train[column], errors="coerce").to_numpy(np.float64, na_value=np.nan))
            test_cols.append(pd.to_numeric(test[column], errors="coerce").to_numpy(np.float64, na_value=np.nan))
            categorical.append(False)
    x_train = np.column_stack(train_cols) if train_cols else np.empty((len(train), 0))
    x_test = np.column_stack(test_cols) if test_cols else np.empty((len(test), 0))
    # inf is no number a tree can split on: missing, as the network's preprocessing reads it
    x_train, x_test = (np.where(np.isinf(x), np.nan, x) for x in (x_train, x_test))
    return x_train, x_test, np.asarray(categorical, dtype=bool)


def _codes(values: pd.Series, known: pd.Index) -> np.ndarray:
    labels = [None if pd.isna(v) else str(v) for v in values.tolist()]
    codes = known.get_indexer(pd.Index(labels, dtype=object)).astype(np.float64)
    return np.where(codes < 0, np.nan, codes)


def over_budget(name: str, err: OverBudget) -> dict[str, str]:
    """judge's `reference_missing` for a reference stopped past evaluate.reference_seconds."""
    return {
        "reference_missing": f"{name} took longer than evaluate.reference_seconds ({err.seconds:g} s) and was "
        f"left out, stopped after {err.iterations} {err.unit}; raise evaluate.reference_seconds to have it"
    }


FITS: dict[str, Callable[..., tuple[np.ndarray, str]]] = {"trees": fit_trees, "text": text_reference}


@dataclass(frozen=True)
class ReferenceFit:
    """A classical reference's fit before it runs: `FITS[fit](*args, **kwargs)`, whose arguments are
    arrays, texts and plain values only, so that a second process can run it while the network
    trains (experiment/offload.py) and hand back the same outputs."""

    fit: str  # a key of FITS
    name: str  # the reference's name, for the note when it runs past its budget
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def run(self, clock: Clock = time.perf_counter) -> dict[str, Any]:
        """judge's reference keywords: {"reference": {"name", "out"}}, or {"reference_missing": why}.
        `clock` times evaluate.reference_seconds (a second process counts its own CPU seconds)."""
        try:
            out, name = FITS[self.fit](*self.args, clock=clock, **self.kwargs)
        except NoWords as err:  # no word in any training text: no reference to stand beside
            return {"reference_missing": str(err)}
        except OverBudget as err:
            return over_budget(self.name, err)
        return {"reference": {"name": name, "out": out}}
