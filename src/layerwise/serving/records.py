"""The request schema of a bundle: one pydantic model per bundle, built from its input schema.

Strict on purpose: a string is never read as a number, NaN and Infinity are refused (Python's
json module reads `NaN`, `Infinity` and `1e999` as floats; pydantic's allow_inf_nan=False
rejects them), and extra fields are refused. `null` means missing and is filled as in
training, like an empty CSV cell. A number must stay inside float32's range once
standardized (the network computes in float32): 1e300 is a 422 naming its field, as
`layerwise predict` exits 3 naming its row and column (the same bound, FLOAT32_SAFE). A column
scaled by a bounded method (normalize: auto's quantile or smoothly clipped robust scaling) takes
any finite number, as `predict` does (however large, its scaled form stays within a few units),
short of where (x - center) / scale itself would overflow a float64 (beyond 8e307 times the
scale, where that is below 1).

JSON has a number type, so "1,040" in a numeric field is a 422 (send 1040): the reading rules
for numbers written as text (thousands separators, data.decimal) are for CSV and Parquet
cells, where every value is text. The value a number stands for is predicted alike either way.

A categorical field follows the bundle's `unseen` policy, as `predict` does: under "error"
(serve's default) it accepts only the categories seen in training (a 422 naming the field
and record otherwise); under "warn" any text, predicted as an unknown category and counted.

A text field (a column of kind `text`) is a JSON string of at most `max_text_chars`
characters (Limits.max_text_chars, MAX_TEXT_CHARS by default). A number or a boolean there is
a 422 (strict: 5 is not "5"); `null` and "" are a text with no tokens, as an empty CSV cell
is. The limit is a fixed server setting rather than one derived from the tokenizer's width on
purpose: the network reads only the first `max_tokens` tokens, and a longer text is cut to
them exactly as `layerwise predict` cuts it, so any limit derived from the width (so many
characters per token) would refuse texts that `predict` answers, and serve and predict would
disagree. What the limit guards is the work before the cut: the tokenizer reads the whole
text, so its cost grows with the characters sent. 100,000 characters (a long article) keeps
every real text and refuses a 1 MB string with a 422 naming the field and the limit. A string
that is no valid Unicode (a lone surrogate escape, "\\udce9") is a 422 naming its field; a body
that is not UTF-8 is not JSON (a 400).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Protocol

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from ..bundle.predictor import Predictor
from ..data.scaling import FLOAT32_SAFE
from ..errors import UsageError

# The most characters a text field may hold (the module docstring says why this bound).
MAX_TEXT_CHARS = 100_000
# normalize: auto's per-column methods (data/scaling.py fit_auto) whose output is bounded for any input
BOUNDED = ("quantile", "robust_clip")
FLOAT64_MAX = float(np.finfo(np.float64).max)
FLOAT64_HALF = FLOAT64_MAX / 2


def record_schema(predictor: Predictor) -> dict[str, dict[str, Any]]:
    """{column: {kind, dtype, categories?}} a request record must hold, in the bundle's order."""
    schema = dict(predictor.input_schema())
    task = predictor.task
    if predictor.series is not None:
        # a forecaster reads the target's own history, and orders rows by the time column
        schema.setdefault(task.target, {"kind": "numeric", "dtype": "float"})
        if task.time is not None:
            schema.setdefault(task.time, {"kind": "datetime", "dtype": "datetime"})
    return schema


def record_model(
    predictor: Predictor, name: str = "Record", *, max_text_chars: int = MAX_TEXT_CHARS
) -> type[BaseModel]:
    """A pydantic model with one required, nullable field per input column; a text field holds
    at most `max_text_chars` characters."""
    fields: dict[str, Any] = {}
    known_only = predictor.unseen != "warn"
    for i, (column, info) in enumerate(record_schema(predictor).items()):
        kind = _field_type(info, known_only)
        if kind is float:
            low, high = _bounds(predictor, column)
            kind = Annotated[float, Field(ge=low, le=high)]
        elif info["kind"] == "text":
            kind = Annotated[str, Field(max_length=max_text_chars)]
        # Column names need not be identifiers ("petal length (cm)"): the alias is the name.
        described = _describe(info, known_only, max_text_chars)
        fields[f"f{i}"] = (Optional[kind], Field(alias=column, description=described))
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=False)
    return create_model(name, __config__=config, **fields)


def _bounds(predictor: Predictor, column: str) -> tuple[float, float]:
    """The raw values the Preprocessor takes. Under a linear state, those whose scaled form
    (x - center) / scale fits float32 (FLOAT32_SAFE). Under a bounded one (normalize: auto's
    quantile or robust_clip "method", whose outputs stay within a few units) any finite value
    whose (x - center) / scale, computed on the way, stays a float64: every value a float64
    holds when the scale is 1 or more, so in practice any finite number."""
    columns = (predictor.features.columns or {}) if predictor.features is not None else {}
    state = columns.get(column, {})
    if state.get("kind") != "numeric":
        return -FLOAT32_SAFE, FLOAT32_SAFE
    center, scale = state["center"], abs(state["scale"])
    if state.get("method") in BOUNDED:
        reach = FLOAT64_HALF * min(scale, 1.0)  # |x - center| / scale <= FLOAT64_HALF: no overflow
        return max(-FLOAT64_MAX, center - reach), min(FLOAT64_MAX, center + reach)
    return max(-FLOAT32_SAFE, center - scale * FLOAT32_SAFE), min(FLOAT32_SAFE, center + scale * FLOAT32_SAFE)


def _field_type(info: dict[str, Any], known_only: bool = True) -> Any:
    kind = info["kind"]
    if kind == "numeric":
        return float
    if kind == "boolean":
        return StrictBool
    if kind == "datetime":
        # JSON has no date type: ISO 8601 text is parsed (lax), as a CSV cell would be
        return Annotated[datetime, Field(strict=False)]
    categories = info.get("categories")
    return Literal[tuple(categories)] if categories and known_only else str


def _describe(info: dict[str, Any], known_only: bool = True, max_text_chars: int = MAX_TEXT_CHARS) -> str:
    if info["kind"] == "text":
        return (
            f"text of at most {max_text_chars} characters; the model reads its first {info.get('max_tokens')} "
            'tokens (a longer text is cut, as `layerwise predict` cuts it); null or "" is a text with no tokens'
        )
    text = f"{info['kind']}; null means missing and is filled as in training"
    if info.get("categories"):
        text += f"; one of {info['categories']}"
        if not known_only:
            text += " (another value is predicted as an unknown category, counted in `unseen`)"
    return text


class GenerateBody(Protocol):
    """The fields of a generate_model() request, as the endpoint reads them."""

    n: int
    temperature: float
    top_k: int | None
    prompt: str
    seed: int | None


def generate_model(predictor: Predictor, max_samples: int, name: str = "GenerateRequest") -> type[BaseModel]:
    """The body of POST /generate for a generation bundle: n, temperature, top_k, prompt, seed, all bounded."""
    vocab = predictor.vocabulary
    if vocab is None:
        raise UsageError(
            f"this bundle is a {predictor.task.type} model: only a generation bundle takes a POST /generate body",
            hint="build its request model with record_model(predictor)",
        )
    known = "".join(vocab.tokens[3:])

    def check_prompt(prompt: str) -> str:
        unknown = vocab.unknown(prompt)
        if unknown:
            # repr shows a space, tab or control character visibly, as an escape
            raise ValueError(
                f"characters outside the vocabulary: {', '.join(repr(c) for c in unknown)}; the model knows {known!r}"
            )
        return prompt

    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    return create_model(
        name,
        __config__=config,
        n=(int, Field(1, ge=1, le=max_samples, description="how many samples")),
        temperature=(float, Field(1.0, ge=0.01, le=10.0, description="below 1: safer; above 1: more varied")),
        top_k=(Optional[int], Field(None, ge=1, le=len(vocab), description="keep only the k likeliest characters")),
        prompt=(
            Annotated[str, AfterValidator(check_prompt)],
            Field(
                "",
                max_length=predictor.task.lookback - 1,
                description=f"text each sample starts with; characters from {known!r}",
            ),
        ),
        seed=(Optional[int], Field(None, ge=0, le=2**63 - 1, description="the same seed gives the same samples")),
    )
