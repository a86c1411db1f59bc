"""The request schema of a bundle: one pydantic model per bundle, built from its input schema.

Strict on purpose: a string is never read as a number, NaN and Infinity are refused (Python's
json module reads `NaN`, `Infinity` and `1e999` as floats; pydantic's allow_inf_nan=False
rejects them), extra fields are refused, and a categorical field accepts only the categories
seen in training. `null` means missing and is filled as in training, like an empty CSV cell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model

from ..predictor import Predictor


def record_schema(predictor: Predictor) -> dict[str, dict[str, Any]]:
    """{column: {kind, dtype, categories?}} a request record must hold, in the bundle's order."""
    schema = dict(predictor.input_schema())
    task = predictor.task
    if task.type == "forecast":
        # a forecaster reads the target's own history, and orders rows by the time column
        schema.setdefault(task.target, {"kind": "numeric", "dtype": "float"})
        if task.time is not None:
            schema.setdefault(task.time, {"kind": "datetime", "dtype": "datetime"})
    return schema


def record_model(predictor: Predictor, name: str = "Record") -> type[BaseModel]:
    """A pydantic model with one required, nullable field per input column."""
    fields: dict[str, Any] = {}
    for i, (column, info) in enumerate(record_schema(predictor).items()):
        # Column names need not be identifiers ("petal length (cm)"): the alias is the name.
        fields[f"f{i}"] = (Optional[_field_type(info)], Field(alias=column, description=_describe(info)))
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=False)
    return create_model(name, __config__=config, **fields)


def _field_type(info: dict[str, Any]) -> Any:
    kind = info["kind"]
    if kind == "numeric":
        return float
    if kind == "boolean":
        return StrictBool
    if kind == "datetime":
        # JSON has no date type: ISO 8601 text is parsed (lax), as a CSV cell would be
        return Annotated[datetime, Field(strict=False)]
    categories = info.get("categories")
    return Literal[tuple(categories)] if categories else str


def _describe(info: dict[str, Any]) -> str:
    text = f"{info['kind']}; null means missing and is filled as in training"
    if info.get("categories"):
        text += f"; one of {info['categories']}"
    return text
