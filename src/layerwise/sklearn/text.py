"""NeuralTextClassifier and NeuralTextRegressor: text in, through the same tokenizers and text
encoders as a run with text columns.

    from layerwise.sklearn import NeuralTextClassifier

    model = NeuralTextClassifier(text="review", epochs=10).fit(frame, y)   # frame["review"]: str
    model = NeuralTextClassifier(epochs=10).fit(["great cable", "broken box"], ["pos", "neg"])

X is a DataFrame holding the `text` column(s) (each other column is read beside them: numbers
scaled, anything else a category), or a 1-D list, array or Series of strings, which becomes the
one text column `text`. The Preprocessor does the reading (kind `text`: a tokenizer fitted on the
training rows only, before any row trains), so a bundle from `to_bundle` predicts through
`layerwise.load`, `layerwise predict` and `layerwise serve` exactly as one from `layerwise run`.
A missing text (None, NaN) or an empty one has no tokens; a number where text is expected is an
InvalidInput naming the column and the row, as a wrong column is.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, column_or_1d

from ..data import Preprocessor
from ..errors import DataError
from .base import NeuralEstimator, as_tensor
from .classifier import ClassTargets
from .params import PARAMS, Settings, check_params, seed_from
from .regressor import NumberTargets

# The text encoders a text estimator takes as `model` (models/text.py).
TEXT_MODELS = ("text_bag", "text_cnn", "text_gru", "text_lstm", "text_transformer")
# Estimator parameter -> the config key it sets: the table estimators' train keys, the text
# model's, and data.text's tokenizer options.
TEXT_PARAMS = {
    **{name: path for name, path in PARAMS.items() if path.startswith("train.") or name in ("activation", "init")},
    "model": "model.type",
    "embedding": "model.embedding",
    "hidden": "model.hidden",
    "dropout": "model.dropout",
    "tokenizer": "data.text.tokenizer",
    "vocab_size": "data.text.vocab_size",
    "min_frequency": "data.text.min_frequency",
    "lowercase": "data.text.lowercase",
    "max_tokens": "data.text.max_tokens",
}
# data.text's keys a TextTokenizer takes ("tokenizer" is its `kind`); the others are generation's.
TOKENIZER_KEYS = ("vocab_size", "min_frequency", "lowercase", "normalization", "max_tokens")


class InvalidInput(DataError, ValueError):
    """A DataError that is also a ValueError: what scikit-learn tools expect of bad X."""


class TextEstimator(NeuralEstimator):
    """Base class; use NeuralTextClassifier or NeuralTextRegressor."""

    _names = TEXT_PARAMS
    text: str | list[str]
    model: str

    # -- what X is --------------------------------------------------------------------------
    def _text_columns(self) -> list[str]:
        names = [self.text] if isinstance(self.text, str) else list(self.text)
        if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise InvalidInput(
                f"text: {self.text!r} must name the text column, or list distinct text columns",
                hint=f'e.g. {type(self).__name__}(text="review")',
            )
        return names

    def _frame(self, X, *, reset: bool) -> pd.DataFrame:
        """X as a DataFrame of named columns: the text column(s) and any others."""
        texts = self._text_columns()
        if isinstance(X, (str, bytes)):
            raise InvalidInput(
                "X is a single string; pass a list of texts (one per row)", hint=f"e.g. [{str(X)[:20]!r}]"
            )
        if isinstance(X, pd.DataFrame):
            frame = X.rename(columns=str)
        else:
            values = X.to_numpy() if isinstance(X, pd.Series) else np.asarray(X, dtype=object)
            if values.ndim == 2 and values.shape[1] == 1:
                values = values[:, 0]
            if values.ndim != 1 or len(texts) != 1:
                raise InvalidInput(
                    f"X of shape {values.shape} is not a list of texts: pass a 1-D list of strings, or a "
                    f"DataFrame holding the text column{'s' if len(texts) > 1 else ''} {', '.join(texts)}",
                    hint=f"e.g. pd.DataFrame({{{texts[0]!r}: texts}})",
                )
            frame = pd.DataFrame({texts[0]: values})
        if reset:
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.n_features_in_ = frame.shape[1]
        wanted = self._feature_names() if not reset else list(frame.columns)
        missing = [c for c in (texts if reset else wanted) if c not in frame.columns]
        if missing:
            raise InvalidInput(
                f"X has no column {', '.join(repr(c) for c in missing)}"
                + ("" if reset else f"; this estimator was fitted on {wanted}"),
                hint=f"X's columns are {list(frame.columns)}; name the text column with text=",
            )
        if len(frame) == 0:
            raise InvalidInput("X holds 0 rows; fitting and predicting need at least 1", hint="pass some texts")
        return frame[wanted].reset_index(drop=True)

    def _feature_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return self._text_columns()  # a 1-D X: the one text column

    def _preprocessor(self, frame: pd.DataFrame, settings: Settings) -> Preprocessor:
        """Text columns are text; other numbers numeric, booleans boolean, anything else a category."""
        texts = self._text_columns()
        kinds = {}
        for name in frame.columns:
            column = frame[name]
            if name in texts:
                kinds[name] = "text"
            elif pd.api.types.is_bool_dtype(column):
                kinds[name] = "boolean"
            elif pd.api.types.is_numeric_dtype(column):
                kinds[name] = "numeric"
            else:
                kinds[name] = "categorical"
        options = {key: settings.text[key] for key in TOKENIZER_KEYS}
        return Preprocessor(kinds, text={"kind": settings.text["tokenizer"], **options})

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit the tokenizer(s) on the training rows, then train a new text network on X, y."""
        frame = self._frame(X, reset=True)
        y = self._check_y(y)
        check_consistent_length(frame, y)
        settings = self._check_params()
        seed = seed_from(self.random_state)
        target, output_dim, loss = self._fit_target(y)
        held = self.holdout(settings, seed, target)
        train = np.arange(len(frame)) if held is None else held[0]
        with _as_input_errors():  # the tokenizer sees the training rows only
            self._features = self._preprocessor(frame, settings).fit(frame.iloc[train])
            x = self._features.transform(frame, source="X")  # (n, dense + text lengths) float32
        model = {**settings.model, "inputs": self._features.layout}
        if model["type"] == "text_transformer":  # its token vectors are d_model wide
            model["d_model"] = model.pop("embedding")
        self.begin(replace(settings, model=model), seed, output_dim, loss, width=x.shape[1])
        if held is None:
            self._trainer.fit(as_tensor(x), as_tensor(target))
        else:
            train, val = held
            self._trainer.fit(as_tensor(x[train]), as_tensor(target[train]), as_tensor(x[val]), as_tensor(target[val]))
        self._record()
        return self

    def _check_params(self) -> Settings:
        from .params import InvalidParameter

        settings = check_params(self.get_params(deep=False), type(self).__name__, TEXT_PARAMS)
        if settings.model["type"] not in TEXT_MODELS:
            raise InvalidParameter(
                f"model: {self.model!r} reads no text; use one of {', '.join(TEXT_MODELS)}",
                hint=f"fix the parameters above in {type(self).__name__}(...)",
            )
        return settings

    def _check_y(self, y) -> np.ndarray:
        return column_or_1d(y)

    # -- prediction -------------------------------------------------------------------------
    def inputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        with _as_input_errors():
            return self._features.transform(frame, source="X").astype(np.float64)

    def width(self) -> int:
        return len(self._features.feature_names)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


class NeuralTextClassifier(ClassifierMixin, ClassTargets, TextEstimator):
    """A text classifier with scikit-learn's API: a bag of embeddings (or a CNN, GRU, LSTM or
    Transformer) over the tokens of one or more text columns, beside any other columns.

    `text` names the text column (a list names several); a 1-D X of strings is that column.
    `model` is the text encoder: text_bag (default: fast, strong on short texts), text_cnn,
    text_gru, text_lstm or text_transformer; `embedding` is the token vectors' width (d_model
    for text_transformer). `tokenizer` (bpe, wordpiece, word, char), `vocab_size`,
    `min_frequency`, `lowercase` and `max_tokens` are the config's data.text settings; the
    tokenizer is fitted on the rows that train (not the early-stopping validation rows). The other
    parameters are the config's `model` and `train` settings, validated in `fit` with its messages.

    Fitted attributes: `classes_`, `n_features_in_`, `feature_names_in_` (DataFrames), `module_`,
    `history_`, `n_iter_`, `best_epoch_`. `to_bundle(path)` saves a layerwise bundle whose
    Predictor takes a DataFrame with the same columns.
    """

    _stratify = True

    def __init__(
        self,
        text="text",
        model="text_bag",
        embedding=64,
        hidden=(64,),
        activation="relu",
        dropout=0.3,
        init="auto",
        tokenizer="word",
        vocab_size=16000,
        min_frequency=2,
        lowercase=True,
        max_tokens=256,
        optimizer="adamw",
        lr=3e-3,
        batch_size=64,
        epochs=20,
        weight_decay=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        patience=3,
        random_state=None,
        device="auto",
        verbose=False,
    ):
        self.text = text
        self.model = model
        self.embedding = embedding
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.init = init
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose


class NeuralTextRegressor(RegressorMixin, NumberTargets, TextEstimator):
    """A text regressor with scikit-learn's API: NeuralTextClassifier's network and parameters, a
    standardized numeric target (mapped back to its units) and `loss` mse, mae or huber."""

    def __init__(
        self,
        text="text",
        model="text_bag",
        embedding=64,
        hidden=(64,),
        activation="relu",
        dropout=0.3,
        init="auto",
        tokenizer="word",
        vocab_size=16000,
        min_frequency=2,
        lowercase=True,
        max_tokens=256,
        loss="mse",
        optimizer="adamw",
        lr=3e-3,
        batch_size=64,
        epochs=20,
        weight_decay=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        patience=3,
        random_state=None,
        device="auto",
        verbose=False,
    ):
        self.text = text
        self.model = model
        self.embedding = embedding
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.init = init
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_tokens = max_tokens
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _check_y(self, y) -> np.ndarray:
        return check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")


@contextmanager
def _as_input_errors():
    """A DataError about X (a number where text is expected, too few distinct tokens) as InvalidInput."""
    try:
        yield
    except DataError as error:
        if isinstance(error, ValueError):
            raise
        raise InvalidInput(error.message, hint=error.hint) from None
