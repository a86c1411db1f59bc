"""Turn feature columns into one float32 matrix: impute, scale, encode. Fitted on train only.

The fitted state is plain JSON (lists, floats, strings), so a bundle stores it without pickle
and a loaded Preprocessor gives bit-identical output. It includes the reading rule for numbers
written as text (`decimal`, kinds.parse_numbers), so prediction reads "1,040" as training did.

A category value the training split never held is the `unseen` policy's call: "error" refuses
the rows, naming column, values and rows; "warn" encodes it as unknown (a row of zeros, or
UNKNOWN_CODE) and counts it; None (the default, used while training and evaluating) only
counts it in `last_unknown`. `predict`, `explain` and `serve` set the policy (--unseen).
A number that does not fit float32 once scaled is an error naming its row and column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import BundleError, ConfigError, DataError, UsageError, did_you_mean, needs_extra
from .kinds import DECIMALS, is_missing_word, parse_dates, parse_numbers, to_boolean
from .scaling import FLOAT32_SAFE, check_normalize, fit_scale
from .target import (
    TargetEncoder as TargetEncoder,  # re-exported: the brief places it here
)

ENCODE = ("auto", "onehot", "ordinal")
IMPUTE_NUMERIC = ("median", "mean", "zero")
IMPUTE_CATEGORICAL = ("most_frequent", "missing")
MISSING = "__missing__"
# Ordinal codes of known categories lie in [0, 1]; a category unseen in training gets this.
UNKNOWN_CODE = -1.0
# Feature-name suffix -> pandas accessor (pandas 3.1 deprecates .dt.dayofweek).
DATE_PARTS = {"year": "year", "month": "month", "day": "day", "dayofweek": "day_of_week"}
DTYPES = {"numeric": "float", "categorical": "str", "boolean": "bool", "datetime": "datetime", "text": "str"}
UNSEEN = ("error", "warn")
# Values (and rows, and known categories) an error message shows before "and N more".
SHOWN = 3


class Preprocessor:
    """Impute, scale and encode the feature columns named in `kinds`, in that order."""

    def __init__(
        self,
        kinds: dict[str, str],
        *,
        normalize: str = "standard",
        encode: str = "auto",
        max_onehot: int = 20,
        impute_numeric: str = "median",
        impute_categorical: str = "most_frequent",
        decimal: str = ".",
        text: dict[str, Any] | None = None,
    ):
        self.kinds = dict(kinds)
        self.text = dict(text or {})  # the tokenizer's options (data.text) for text columns
        self.normalize = normalize
        self.encode = encode
        self.max_onehot = max_onehot
        self.impute_numeric = impute_numeric
        self.impute_categorical = impute_categorical
        self.decimal = decimal  # the decimal mark of numbers written as text
        self.columns: dict[str, dict] | None = None  # fitted state, one entry per column
        self.last_unknown: dict[str, int] = {}  # unseen category values of the last call, per column
        self.last_text: dict[str, dict] = {}  # text columns of the last call: tokens, truncated, empty, unknown
        self.tokenizers: dict[str, Any] = {}  # text column -> its fitted data.tokenize.TextTokenizer
        self.unseen = None

    @property
    def unseen(self) -> str | None:
        """The policy for category values unseen in training: "error", "warn" or None (count only)."""
        return self._unseen

    @unseen.setter
    def unseen(self, policy: str | None) -> None:
        self._unseen = check_unseen(policy)
        # what the calls since the policy was set met: column -> count, and the first values
        self.unseen_total: dict[str, int] = {}
        self.unseen_values: dict[str, list[str]] = {}

    def describe_unseen(self) -> str:
        """'city: 3 ('Paris', 'oslo', ' Lima ')' for the unseen values met since the policy was set."""
        return "; ".join(
            f"{name}: {count} ({_shown(self.unseen_values[name], len(self.unseen_values[name]))})"
            for name, count in self.unseen_total.items()
        )

    def fit(self, df: pd.DataFrame) -> Preprocessor:
        self._check_options()
        self._check_columns(df, "training data")
        self.tokenizers = {}
        fitters = {
            "numeric": self._fit_numeric,
            "boolean": self._fit_boolean,
            "categorical": self._fit_categorical,
            "datetime": self._fit_datetime,
            "text": self._fit_text,
        }
        self.columns = {}
        for name, kind in self.kinds.items():
            self.columns[name] = {"kind": kind, **fitters[kind](df[name], name)}
        return self

    @property
    def layout(self) -> dict[str, Any]:
        """Where `transform`'s columns come from: {"dense": width of the scaled and encoded features,
        "texts": [{"name", "length", "vocab"}]}, each text's token ids following the dense columns."""
        texts = [
            {"name": name, "length": self.tokenizer(name).length, "vocab": len(self.tokenizer(name).vocab)}
            for name, state in self._fitted("layout").items()
            if state["kind"] == "text"
        ]
        return {"dense": len(self.feature_names) - sum(t["length"] for t in texts), "texts": texts}

    def tokenizer(self, name: str) -> Any:
        """The fitted tokenizer of text column `name` (built from the saved state on first use)."""
        if name not in self.tokenizers:
            with needs_extra("text"):
                from .tokenize import TextTokenizer

            state = self._fitted("tokenizer")[name]
            self.tokenizers[name] = TextTokenizer.from_dict(
                state["tokenizer"], where=f"preprocessing.features.columns.{name}"
            )
        return self.tokenizers[name]

    def transform(self, df: pd.DataFrame, *, source: str = "input", count_unseen: bool = False):
        """(n_rows, len(feature_names)) float32, with the `unseen` policy applied.

        With `count_unseen`, (matrix, per-row count of unseen category values): a thread-safe
        count, where `last_unknown` is the last call's.
        """
        columns = self._fitted("transform")
        self._check_columns(df, source)
        parts, unseen, texts = [], {}, []
        self.last_text = {}
        for name, state in columns.items():
            column = df[name].reset_index(drop=True)
            kind = state["kind"]
            if kind == "text":  # token ids after every dense column: (rows, length) each
                column = as_text(column)
                ids, self.last_text[name] = self.tokenizer(name).encode(column, column=name, source=source)
                texts.append(ids.astype(np.float32))
            elif kind == "numeric":
                values = _numbers(column, name, source, self.decimal)
                parts.append(_scaled(values, state, name, source)[:, None])
            elif kind == "boolean":
                parts.append(_booleans(column, name, source, state["fill"])[:, None])
            elif kind == "datetime":
                parts.append(self._transform_datetime(column, name, source, state))
            else:
                labels = _labels(column).fillna(state["fill"]).to_numpy(dtype=object)
                encoded, unseen[name] = _encode_labels(labels, state)
                parts.append(encoded)
        counts = self._apply_unseen(unseen, source, len(df))
        parts += texts
        x = np.hstack(parts).astype(np.float32) if parts else np.zeros((len(df), 0), np.float32)
        return (x, counts) if count_unseen else x

    def transform_records(self, records: list[dict], *, source: str = "request", count_unseen: bool = False):
        """`transform` for rows of plain values (a validated request): same fitted state, no DataFrame.

        Numbers are int/float/None, booleans bool/None, categories str/None. Building a DataFrame
        costs more than the arithmetic for one row, and the server predicts one row at a time.
        A datetime column takes the general path.
        """
        columns = self._fitted("transform_records")

        def general(frame: pd.DataFrame):
            return self.transform(frame, source=source, count_unseen=count_unseen)

        if any(state["kind"] in ("datetime", "text") for state in columns.values()):
            return general(pd.DataFrame.from_records(records, columns=list(self.kinds)))
        missing = [name for name in self.kinds if any(name not in r for r in records)]
        if missing:
            return general(pd.DataFrame.from_records(records))  # names the missing columns
        try:
            x, counts = self._transform_plain(columns, records, source)
        except (TypeError, ValueError):  # a value of the wrong type: the general path names its row
            return general(pd.DataFrame.from_records(records, columns=list(self.kinds)))
        return (x, counts) if count_unseen else x

    def _transform_plain(
        self, columns: dict[str, dict], records: list[dict], source: str
    ) -> tuple[np.ndarray, np.ndarray]:
        # every numeric column at once: (rows, numeric columns); None becomes NaN, then the fill
        numeric = [name for name, state in columns.items() if state["kind"] == "numeric"]
        fitted = [columns[name] for name in numeric]
        numbers = np.array([[record[name] for name in numeric] for record in records], dtype=np.float64)
        numbers = np.where(np.isinf(numbers), np.nan, numbers.reshape(len(records), len(numeric)))
        scaled = _apply_numeric(
            numbers, {key: np.array([state[key] for state in fitted]) for key in ("fill", "center", "scale")}
        )
        where = {name: j for j, name in enumerate(numeric)}
        parts, unseen = [], {}
        for name, state in columns.items():
            values = [record[name] for record in records]
            kind = state["kind"]
            if kind == "numeric":
                j = where[name]
                _check_scaled(numbers[:, j], scaled[:, j], name, source, state)
                parts.append(scaled[:, j, None])
            elif kind == "boolean":
                parts.append(np.array([state["fill"] if v is None else _boolean(v) for v in values])[:, None])
            else:
                labels = np.array([state["fill"] if v is None else category_label(v) for v in values], dtype=object)
                encoded, unseen[name] = _encode_labels(labels, state)
                parts.append(encoded)
        counts = self._apply_unseen(unseen, source, len(records))
        x = np.hstack(parts).astype(np.float32) if parts else np.zeros((len(records), 0), np.float32)
        return x, counts

    def _fitted(self, method: str) -> dict[str, dict]:
        if self.columns is None:
            raise RuntimeError(f"Preprocessor.{method} called before fit")
        return self.columns

    @property
    def feature_names(self) -> list[str]:
        """Names of the output columns, e.g. 'color=red', 'date.month'."""
        names, texts = [], []
        for name, state in (self.columns or {}).items():
            if state["kind"] == "categorical" and state["encoding"] == "onehot":
                names += [f"{name}={c}" for c in state["categories"]]
            elif state["kind"] == "datetime":
                names += [f"{name}.{part}" for part in DATE_PARTS]
            elif state["kind"] == "text":  # one column per token position: 'review[0]', 'review[1]', ...
                texts += [f"{name}[{i}]" for i in range(state["tokenizer"]["length"])]
            else:
                names.append(name)
        return names + texts

    def input_schema(self) -> dict:
        """What a prediction request must hold: {column: {kind, dtype, categories?}}."""
        schema: dict[str, dict[str, Any]] = {}
        for name, kind in self.kinds.items():
            schema[name] = {"kind": kind, "dtype": DTYPES[kind]}
            if kind == "categorical" and self.columns is not None:
                schema[name]["categories"] = list(self.columns[name]["categories"])
            if kind == "text" and self.columns is not None:
                schema[name]["max_tokens"] = self.tokenizer(name).length  # longer texts are cut
        return schema

    def to_dict(self) -> dict:
        return {
            "kinds": dict(self.kinds),
            "normalize": self.normalize,
            "encode": self.encode,
            "max_onehot": self.max_onehot,
            "impute_numeric": self.impute_numeric,
            "impute_categorical": self.impute_categorical,
            "decimal": self.decimal,
            "text": dict(self.text),
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        options = {k: d[k] for k in ("normalize", "encode", "max_onehot", "impute_numeric", "impute_categorical")}
        # bundles written before data.decimal existed read numbers with a decimal point
        decimal = d.get("decimal", ".")
        if decimal not in DECIMALS:
            raise BundleError(
                f"preprocessing.features.decimal: {str(decimal)[:20]!r} is not a decimal mark; it is '.' or ','"
            )
        text = d.get("text") or {}  # bundles written before text columns have none
        if not isinstance(text, dict):
            raise BundleError(f"preprocessing.features.text: {str(text)[:40]!r} is not a mapping of tokenizer options")
        self = cls(d["kinds"], **options, decimal=decimal, text=text)
        self.columns = None if d["columns"] is None else {k: dict(v) for k, v in d["columns"].items()}
        return self

    def _check_options(self) -> None:
        check_normalize(self.normalize)
        choices = {
            "data.encode": (self.encode, ENCODE),
            "data.impute_numeric": (self.impute_numeric, IMPUTE_NUMERIC),
            "data.impute_categorical": (self.impute_categorical, IMPUTE_CATEGORICAL),
        }
        problems = [
            f"{key}: unknown value '{value}'{did_you_mean(value, allowed)}; choose one of {allowed}"
            for key, (value, allowed) in choices.items()
            if value not in allowed
        ]
        problems += [
            f"kinds.{name}: '{kind}' cannot be a feature; choose one of {tuple(DTYPES)}"
            for name, kind in self.kinds.items()
            if kind not in DTYPES
        ]
        if self.decimal not in DECIMALS:
            problems.append(f"data.decimal: {self.decimal!r} is not a decimal mark; choose '.' or ','")
        if problems:
            raise ConfigError(problems)

    def _check_columns(self, df: pd.DataFrame, source: str) -> None:
        missing = [name for name in self.kinds if name not in df.columns]
        if missing:
            named = "; ".join(f"'{m}'{did_you_mean(m, [str(c) for c in df.columns])}" for m in missing)
            raise DataError(
                f"{source}: missing column{'s' if len(missing) > 1 else ''} {named}",
                hint=f"the model expects the columns: {', '.join(self.kinds)}",
            )

    def _fit_numeric(self, column, name) -> dict:
        values = _numbers(column, name, "training data", self.decimal)
        observed = values[np.isfinite(values)]
        if observed.size == 0 or self.impute_numeric == "zero":
            fill = 0.0
        else:
            fill = float(np.median(observed) if self.impute_numeric == "median" else observed.mean())
        center, scale = fit_scale(observed, self.normalize)
        return {"fill": fill, "center": center, "scale": scale}

    def _fit_boolean(self, column, name) -> dict:
        values = _booleans(column, name, "training data", fill=np.nan)
        observed = values[np.isfinite(values)]
        return {"fill": float(observed.mean() >= 0.5) if observed.size else 0.0}

    def _fit_categorical(self, column, name) -> dict:
        labels = _labels(column)
        observed = labels.dropna()
        if self.impute_categorical == "missing" or observed.empty:
            fill = MISSING
        else:
            counts = observed.value_counts()
            fill = sorted(counts.index[counts == counts.max()])[0]  # ties: the first in order
        categories = sorted(set(labels.fillna(fill)))
        onehot = self.encode == "onehot" or (self.encode == "auto" and len(categories) <= self.max_onehot)
        return {"fill": fill, "categories": categories, "encoding": "onehot" if onehot else "ordinal"}

    def _fit_text(self, column, name) -> dict:
        with needs_extra("text"):
            from .tokenize import TextTokenizer  # Hugging Face tokenizers: imported where text is read

        self.tokenizers[name] = TextTokenizer(**self.text).fit(as_text(column), column=name)
        return {"tokenizer": self.tokenizers[name].to_dict()}

    def _fit_datetime(self, column, name) -> dict:
        parts = _date_parts(column, name, "training data")
        return {"parts": {part: self._fit_numeric(pd.Series(values), name) for part, values in parts.items()}}

    def _transform_datetime(self, column, name, source, state) -> np.ndarray:
        parts = _date_parts(column, name, source)
        return np.column_stack([_apply_numeric(parts[p], state["parts"][p]) for p in DATE_PARTS])

    def _apply_unseen(self, unseen: dict[str, tuple[np.ndarray, np.ndarray]], source: str, rows: int) -> np.ndarray:
        """Apply the policy to each categorical column's (mask of unseen values, labels); return
        per row how many values were unseen."""
        found = {name: pair for name, pair in unseen.items() if pair[0].any()}
        self.last_unknown = {name: int(mask.sum()) for name, (mask, _) in found.items()}
        if found and self.unseen == "error":
            raise self._unseen_error(found, source)
        if self.unseen is not None:
            for name, (mask, labels) in found.items():
                self.unseen_total[name] = self.unseen_total.get(name, 0) + int(mask.sum())
                known = self.unseen_values.setdefault(name, [])
                known += [v for v in dict.fromkeys(labels[mask].tolist()) if v not in known][: SHOWN + 1 - len(known)]
        counts = np.zeros(rows, dtype=np.int64)
        for mask, _ in found.values():
            counts += mask
        return counts

    def _unseen_error(self, found: dict, source: str) -> DataError:
        parts, known = [], []
        for name, (mask, labels) in found.items():
            categories = self._fitted("transform")[name]["categories"]
            values = list(dict.fromkeys(labels[mask].tolist()))
            shown = [
                f"{v!r} ({_rows(np.flatnonzero(mask & (labels == v)))}{_suggest(v, categories)})"
                for v in values[:SHOWN]
            ]
            more = f" and {len(values) - SHOWN} more value(s)" if len(values) > SHOWN else ""
            parts.append(f"column '{name}': {int(mask.sum())} value(s) not seen in training: {', '.join(shown)}{more}")
            known.append(f"{name}: {_shown(categories, len(categories))}")
        return DataError(
            f"{source}: {'; '.join(parts)}",
            hint=f"use the categories the model knows ({'; '.join(known)}), or predict with those values "
            "treated as unknown categories: --unseen warn",
        )


def check_unseen(policy: str | None) -> str | None:
    """`policy` when it is one of UNSEEN (or None); a UsageError otherwise."""
    if policy is not None and policy not in UNSEEN:
        raise UsageError(f"--unseen {policy!r}: choose one of {', '.join(UNSEEN)}{did_you_mean(str(policy), UNSEEN)}")
    return policy


def _encode_labels(labels: np.ndarray, state: dict) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(encoded labels, (mask of the labels unseen in training, the labels))."""
    index = {c: i for i, c in enumerate(state["categories"])}
    codes = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
    unseen = (codes < 0, labels)
    if state["encoding"] == "onehot":
        # (rows, categories); an unseen category is a row of zeros
        out = np.zeros((len(codes), len(index)))
        known = codes >= 0
        out[np.flatnonzero(known), codes[known]] = 1.0
        return out, unseen
    top = max(len(index) - 1, 1)
    return np.where(codes >= 0, codes / top, UNKNOWN_CODE)[:, None], unseen


def _suggest(value: str, categories: list) -> str:
    close = did_you_mean(value, categories).strip()  # "(did you mean 'Oslo'?)" or ""
    return f"; {close[1:-1]}" if close else ""


def _rows(positions: np.ndarray) -> str:
    shown = ", ".join(str(int(r) + 1) for r in positions[:SHOWN])
    more = f" and {len(positions) - SHOWN} more" if len(positions) > SHOWN else ""
    return f"data row{'s' if len(positions) > 1 else ''} {shown}{more}"


def _shown(values: list, count: int) -> str:
    text = ", ".join(repr(v) for v in values[:SHOWN])
    return text + (", ..." if count > SHOWN else "")


def _scaled(values: np.ndarray, state: dict, name: str, source: str) -> np.ndarray:
    scaled = _apply_numeric(values, state)
    _check_scaled(values, scaled, name, source, state)
    return scaled


def _check_scaled(values: np.ndarray, scaled: np.ndarray, name: str, source: str, state: dict) -> None:
    """A finite value whose scaled form overflows float32 (or passes FLOAT32_SAFE) is an error:
    the network would answer inf or NaN, or nothing at all."""
    bad = np.isfinite(values) & ~(np.abs(scaled) <= FLOAT32_SAFE)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    raise DataError(
        f"{source}: data row {first + 1}, column '{name}': {float(values[first])!r} is too large for the model: "
        f"scaled it is {scaled[first]:.3g}, beyond {FLOAT32_SAFE:g} ({int(bad.sum())} such value"
        f"{'s' if bad.sum() > 1 else ''})",
        hint=f"check the value and its units; the model was trained on values around {state['center']:.4g} "
        f"(scale {state['scale']:.4g})",
    )


def _apply_numeric(values: np.ndarray, state: dict) -> np.ndarray:
    filled = np.where(np.isfinite(values), values, state["fill"])
    return (filled - state["center"]) / state["scale"]


def _first_bad(column: pd.Series, bad: np.ndarray, name: str, source: str, expected: str) -> DataError:
    first = int(np.flatnonzero(bad)[0])
    return DataError(
        f"{source}: column '{name}' must hold {expected}, but data row {first + 1} holds "
        f"{column.iloc[first]!r} ({int(bad.sum())} such value{'s' if bad.sum() > 1 else ''})",
        hint="correct the value, or leave the cell empty: missing values are filled as in training",
    )


def _numbers(column: pd.Series, name: str, source: str, decimal: str) -> np.ndarray:
    """Float64 values; inf and the words that mean missing count as missing; other text that
    is not a number (by the training's reading rule) is an error."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = parse_numbers(column, decimal)
        bad = (column.notna() & parsed.isna() & ~is_missing_word(column)).to_numpy()
        if bad.any():
            raise _first_bad(column, bad, name, source, "numbers" if decimal == "." else "numbers with a decimal comma")
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)


def _booleans(column: pd.Series, name: str, source: str, fill: float) -> np.ndarray:
    present = column.notna().to_numpy()
    mapped = [to_boolean(v) if p else fill for v, p in zip(column.tolist(), present)]
    bad = np.array([m is None for m in mapped], dtype=bool)
    if bad.any():
        raise _first_bad(column, bad, name, source, "true/false values")
    return np.array(mapped, dtype=np.float64)


def _boolean(value) -> float:
    truth = to_boolean(value)
    if truth is None:
        raise ValueError(f"not a true/false value: {value!r}")
    return truth


def _labels(column: pd.Series) -> pd.Series:
    """Category labels as text, so 3, 3.0 and '3' (read differently from two files) all match."""
    return pd.Series([None if pd.isna(v) else category_label(v) for v in column.tolist()], dtype=object)


def as_text(column: pd.Series) -> pd.Series:
    """A text column as text: a file typed anew (a prediction CSV, a chunk of a large one) may read
    digits-only texts as numbers or true/false as booleans; they are the text the file holds ("5",
    "10.5", "True"), as training read them. Missing values stay missing. A JSON request keeps its
    types: serving refuses a number where text belongs (serving/records.py)."""
    if pd.api.types.is_string_dtype(column) and not pd.api.types.is_object_dtype(column):
        return column
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return column  # text already (the usual case): no Python call per value on the prediction path
    return column.map(lambda v: v if isinstance(v, (str, bytes)) else category_label(v), na_action="ignore").astype(
        object
    )


def category_label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _date_parts(column: pd.Series, name: str, source: str) -> dict[str, np.ndarray]:
    parsed = parse_dates(column.reset_index(drop=True))
    bad = (column.reset_index(drop=True).notna() & parsed.isna()).to_numpy()
    if bad.any():
        raise _first_bad(column, bad, name, source, "dates")
    return {
        part: getattr(parsed.dt, attr).to_numpy(dtype=np.float64, na_value=np.nan) for part, attr in DATE_PARTS.items()
    }
