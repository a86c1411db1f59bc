"""The classical reference beside a network: what a practitioner would try first without one.

For text: TF-IDF of word 1-2-grams (sublinear term frequency), one vectorizer per text column,
beside the table's other features as the network sees them (scaled, encoded), into logistic
regression (classification) or ridge (regression). Fitted on the training rows only, with
scikit-learn's defaults otherwise: a reference, not a tuned competitor, so that "the network
does not beat it" means something.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TEXT_REFERENCE = {
    "classification": "TF-IDF + logistic regression",
    "regression": "TF-IDF + ridge regression",
}
MAX_FEATURES = 200_000  # n-grams kept per text column, the most frequent first


class NoWords(ValueError):
    """The training texts of a column hold no word of two characters or more: TF-IDF has nothing to count."""


def text_reference(
    task: str,
    train: tuple[Mapping[str, Sequence[str]], np.ndarray, np.ndarray],
    test: tuple[Mapping[str, Sequence[str]], np.ndarray],
    *,
    classes: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, str]:
    """(outputs on the test rows, name): (n, classes) probabilities or (n, 1) values in the target's units.

    Args:
        train: (texts by column, dense features (n, F), targets: class codes or values).
        test: (texts by column, dense features (m, F)).
    Raises NoWords when a column's training texts hold no word at all (the vectorizer's vocabulary is empty).
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

    texts_train, dense_train, y = train
    texts_test, dense_test = test
    fitted, applied = [], []
    for column, values in texts_train.items():
        words = [_plain(v) for v in values]
        vectorizer = _vectorizer(TfidfVectorizer, min_df=2 if len(words) >= 50 else 1)
        try:
            fitted.append(vectorizer.fit_transform(words))
        except ValueError:  # too few documents for min_df 2 to keep any n-gram
            vectorizer = _vectorizer(TfidfVectorizer, min_df=1)
            try:
                fitted.append(vectorizer.fit_transform(words))
            except ValueError:
                raise NoWords(f"the training texts of '{column}' hold no word TF-IDF can count") from None
        applied.append(vectorizer.transform([_plain(v) for v in texts_test[column]]))
    if dense_train.shape[1]:
        fitted.append(sparse.csr_matrix(dense_train.astype(np.float64)))
        applied.append(sparse.csr_matrix(dense_test.astype(np.float64)))
    x_train, x_test = sparse.hstack(fitted).tocsr(), sparse.hstack(applied).tocsr()
    if task == "classification":
        codes = np.asarray(y).astype(np.int64).reshape(-1)
        model = LogisticRegression(max_iter=2000, random_state=seed)
        out = np.zeros((x_test.shape[0], max(classes, int(codes.max()) + 1)))
        if len(np.unique(codes)) < 2:  # one class in training: it is the answer
            out[:, codes[0]] = 1.0
        else:
            model.fit(x_train, codes)
            out[:, model.classes_] = model.predict_proba(x_test)  # classes absent from training stay 0
        return out, TEXT_REFERENCE[task]
    targets = np.asarray(y, dtype=np.float64).reshape(x_train.shape[0], -1)
    regression = Ridge(alpha=1.0).fit(x_train, targets)
    return np.asarray(regression.predict(x_test), dtype=np.float64).reshape(x_test.shape[0], -1), TEXT_REFERENCE[task]


def _vectorizer(cls: Any, *, min_df: int) -> Any:
    return cls(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=MAX_FEATURES, dtype=np.float64)


def _plain(value: Any) -> str:
    # a missing text is an empty one, as the tokenizer reads it
    return value if isinstance(value, str) else ""
