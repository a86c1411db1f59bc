"""Turn feature columns into one float32 matrix: impute, scale, encode. Fitted on train only.

The fitted state is plain JSON (lists, floats, strings), so a bundle stores it without pickle
and a loaded Preprocessor gives bit-identical output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, did_you_mean
from .kinds import parse_dates, to_boolean
from .scaling import check_normalize, fit_scale
from .target import TargetEncoder as TargetEncoder  # re-exported: the brief places it here

ENCODE = ("auto", "onehot", "ordinal")
IMPUTE_NUMERIC = ("median", "mean", "zero")
IMPUTE_CATEGORICAL = ("most_frequent", "missing")
MISSING = "__missing__"
# Ordinal codes of known categories lie in [0, 1]; a category unseen in training gets this.
UNKNOWN_CODE = -1.0
# Feature-name suffix -> pandas accessor (pandas 3.1 deprecates .dt.dayofweek).
DATE_PARTS = {"year": "year", "month": "month", "day": "day", "dayofweek": "day_of_week"}
DTYPES = {"numeric": "float", "categorical": "str", "boolean": "bool", "datetime": "datetime"}


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
    ):
        self.kinds = dict(kinds)
        self.normalize = normalize
        self.encode = encode
        self.max_onehot = max_onehot
        self.impute_numeric = impute_numeric
        self.impute_categorical = impute_categorical
        self.columns: dict[str, dict] | None = None  # fitted state, one entry per column
        self.last_unknown: dict[str, int] = {}

    def fit(self, df: pd.DataFrame) -> "Preprocessor":
        self._check_options()
        self._check_columns(df, "training data")
        fitters = {"numeric": self._fit_numeric, "boolean": self._fit_boolean,
                   "categorical": self._fit_categorical, "datetime": self._fit_datetime}
        self.columns = {}
        for name, kind in self.kinds.items():
            self.columns[name] = {"kind": kind, **fitters[kind](df[name], name)}
        return self

    def transform(self, df: pd.DataFrame, *, source: str = "input") -> np.ndarray:
        """(n_rows, len(feature_names)) float32; unseen categories are counted in `last_unknown`."""
        if self.columns is None:
            raise RuntimeError("Preprocessor.transform called before fit")
        self._check_columns(df, source)
        self.last_unknown = {}
        parts = []
        for name, state in self.columns.items():
            column = df[name].reset_index(drop=True)
            kind = state["kind"]
            if kind == "numeric":
                parts.append(_apply_numeric(_numbers(column, name, source), state)[:, None])
            elif kind == "boolean":
                parts.append(_booleans(column, name, source, state["fill"])[:, None])
            elif kind == "datetime":
                parts.append(self._transform_datetime(column, name, source, state))
            else:
                parts.append(self._transform_categorical(column, name, state))
        return np.hstack(parts).astype(np.float32) if parts else np.zeros((len(df), 0), np.float32)

    def transform_records(self, records: list[dict]) -> np.ndarray:
        """`transform` for rows of plain values (a validated request): same fitted state, no DataFrame.

        Numbers are int/float/None, booleans bool/None, categories str/None. Building a DataFrame
        costs more than the arithmetic for one row, and the server predicts one row at a time.
        A datetime column takes the general path.
        """
        if self.columns is None:
            raise RuntimeError("Preprocessor.transform_records called before fit")
        if any(state["kind"] == "datetime" for state in self.columns.values()):
            return self.transform(pd.DataFrame.from_records(records, columns=list(self.kinds)))
        missing = [name for name in self.kinds if any(name not in r for r in records)]
        if missing:
            return self.transform(pd.DataFrame.from_records(records))  # names the missing columns
        try:
            return self._transform_plain(records)
        except (TypeError, ValueError):  # a value of the wrong type: the general path names its row
            return self.transform(pd.DataFrame.from_records(records, columns=list(self.kinds)))

    def _transform_plain(self, records: list[dict]) -> np.ndarray:
        self.last_unknown = {}
        # every numeric column at once: (rows, numeric columns); None becomes NaN, then the fill
        numeric = [name for name, state in self.columns.items() if state["kind"] == "numeric"]
        fitted = [self.columns[name] for name in numeric]
        numbers = np.array([[record[name] for name in numeric] for record in records], dtype=np.float64)
        numbers = numbers.reshape(len(records), len(numeric))
        scaled = _apply_numeric(np.where(np.isinf(numbers), np.nan, numbers),
                                {key: np.array([state[key] for state in fitted]) for key in ("fill", "center", "scale")})
        where = {name: j for j, name in enumerate(numeric)}
        parts = []
        for name, state in self.columns.items():
            values = [record[name] for record in records]
            kind = state["kind"]
            if kind == "numeric":
                parts.append(scaled[:, where[name], None])
            elif kind == "boolean":
                parts.append(np.array([state["fill"] if v is None else _boolean(v) for v in values])[:, None])
            else:
                labels = np.array([state["fill"] if v is None else _label(v) for v in values], dtype=object)
                parts.append(self._encode_labels(labels, name, state))
        return np.hstack(parts).astype(np.float32) if parts else np.zeros((len(records), 0), np.float32)

    @property
    def feature_names(self) -> list[str]:
        """Names of the output columns, e.g. 'color=red', 'date.month'."""
        names = []
        for name, state in (self.columns or {}).items():
            if state["kind"] == "categorical" and state["encoding"] == "onehot":
                names += [f"{name}={c}" for c in state["categories"]]
            elif state["kind"] == "datetime":
                names += [f"{name}.{part}" for part in DATE_PARTS]
            else:
                names.append(name)
        return names

    def input_schema(self) -> dict:
        """What a prediction request must hold: {column: {kind, dtype, categories?}}."""
        schema = {}
        for name, kind in self.kinds.items():
            schema[name] = {"kind": kind, "dtype": DTYPES[kind]}
            if kind == "categorical" and self.columns is not None:
                schema[name]["categories"] = list(self.columns[name]["categories"])
        return schema

    def to_dict(self) -> dict:
        return {
            "kinds": dict(self.kinds), "normalize": self.normalize, "encode": self.encode,
            "max_onehot": self.max_onehot, "impute_numeric": self.impute_numeric,
            "impute_categorical": self.impute_categorical, "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessor":
        options = {k: d[k] for k in ("normalize", "encode", "max_onehot", "impute_numeric", "impute_categorical")}
        self = cls(d["kinds"], **options)
        self.columns = None if d["columns"] is None else {k: dict(v) for k, v in d["columns"].items()}
        return self

    def _check_options(self) -> None:
        check_normalize(self.normalize)
        choices = {"data.encode": (self.encode, ENCODE), "data.impute_numeric": (self.impute_numeric, IMPUTE_NUMERIC),
                   "data.impute_categorical": (self.impute_categorical, IMPUTE_CATEGORICAL)}
        problems = [f"{key}: unknown value '{value}'{did_you_mean(value, allowed)}; choose one of {allowed}"
                    for key, (value, allowed) in choices.items() if value not in allowed]
        problems += [f"kinds.{name}: '{kind}' cannot be a feature; choose one of {tuple(DTYPES)}"
                     for name, kind in self.kinds.items() if kind not in DTYPES]
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
        values = _numbers(column, name, "training data")
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

    def _fit_datetime(self, column, name) -> dict:
        parts = _date_parts(column, name, "training data")
        return {"parts": {part: self._fit_numeric(pd.Series(values), name) for part, values in parts.items()}}

    def _transform_datetime(self, column, name, source, state) -> np.ndarray:
        parts = _date_parts(column, name, source)
        return np.column_stack([_apply_numeric(parts[p], state["parts"][p]) for p in DATE_PARTS])

    def _transform_categorical(self, column, name, state) -> np.ndarray:
        labels = _labels(column).fillna(state["fill"]).to_numpy(dtype=object)
        return self._encode_labels(labels, name, state)

    def _encode_labels(self, labels: np.ndarray, name: str, state: dict) -> np.ndarray:
        index = {c: i for i, c in enumerate(state["categories"])}
        codes = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
        unknown = int((codes < 0).sum())
        if unknown:
            self.last_unknown[name] = unknown
        if state["encoding"] == "onehot":
            # (rows, categories); an unseen category is a row of zeros
            out = np.zeros((len(codes), len(index)))
            known = codes >= 0
            out[np.flatnonzero(known), codes[known]] = 1.0
            return out
        top = max(len(index) - 1, 1)
        return np.where(codes >= 0, codes / top, UNKNOWN_CODE)[:, None]


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


def _numbers(column: pd.Series, name: str, source: str) -> np.ndarray:
    """Float64 values; inf counts as missing; text that is not a number is an error."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(column.astype("str").str.strip(), errors="coerce")
        bad = (column.notna() & parsed.isna()).to_numpy()
        if bad.any():
            raise _first_bad(column, bad, name, source, "numbers")
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
    return pd.Series([None if pd.isna(v) else _label(v) for v in column.tolist()], dtype=object)


def _label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _date_parts(column: pd.Series, name: str, source: str) -> dict[str, np.ndarray]:
    parsed = parse_dates(column.reset_index(drop=True))
    bad = (column.reset_index(drop=True).notna() & parsed.isna()).to_numpy()
    if bad.any():
        raise _first_bad(column, bad, name, source, "dates")
    return {part: getattr(parsed.dt, attr).to_numpy(dtype=np.float64, na_value=np.nan) for part, attr in DATE_PARTS.items()}
