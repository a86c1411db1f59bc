"""What a bundle's spec.json may hold: a schema with upper bounds, and its agreement with the weights.

The manifest's sha256 catches accidents (a truncated copy, a changed byte), not someone who
edits spec.json and writes its new hash. So everything that sizes memory or enters the
arithmetic is checked here before any tensor or module is allocated: a width of 10**12, a
scale of 0, a class list longer than the network's outputs, or a layer that disagrees with
the saved weights is a BundleError naming spec.json and the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from ..data.transforms import column_width
from ..errors import BundleError

# Upper bounds, far above any model layerwise trains on one machine, far below what a
# hostile file could ask for (documented in docs/using/bundles.md).
MAX_WIDTH = 1 << 20  # any one dimension: output_dim, an input_shape entry, a layer width
MAX_INPUT = 1 << 26  # numbers in one sample (3 x 4096 x 4096 images fit)
MAX_LAYERS = 1_000  # entries of a list in model.config, and model.config.layers
MAX_COLUMNS = 100_000  # input columns of a table or series
MAX_CATEGORIES = 1_000_000  # values of one categorical column
MAX_QUANTILES = 10_000  # points of one column's quantile transform (layerwise stores at most 256)
MAX_CLASSES = 100_000
MAX_VOCABULARY = 1_114_112 + 3  # every Unicode code point, and <pad> <s> </s>
MAX_LOOKBACK = 100_000
MAX_HORIZON = 10_000
MAX_IMAGE_SIDE = 16_384
MAX_BUFFER_BYTES = 1 << 30  # tensors a module holds beside its weights (position tables, masks)
SHOWN = 3  # problems listed in one message

Finite = Annotated[float, Field(allow_inf_nan=False)]
Scale = Annotated[float, Field(gt=0, allow_inf_nan=False)]  # divides: 0 would make every prediction NaN


def _scaled(pair: list[float]) -> list[float]:
    if not pair[1] > 0:
        raise ValueError("[center, scale]: the scale must be greater than 0")
    return pair


Pair = Annotated[list[Finite], Field(min_length=2, max_length=2), AfterValidator(_scaled)]  # [center, scale]


def _label(value: Any) -> Any:
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError("a class label must be text, a number or true/false")
    return value


Label = Annotated[Any, AfterValidator(_label)]


class _Part(BaseModel):
    # strict: the numbers checked here are the numbers used (no "3" read as 3); keys this
    # version does not know are left to the reader of the part
    model_config = ConfigDict(strict=True, extra="allow")


class Task(_Part):
    type: Literal["classification", "regression", "forecast", "generation"]
    target: str | None
    features: list[str] = Field(max_length=MAX_COLUMNS)
    time: str | None = None
    lookback: int = Field(0, ge=0, le=MAX_LOOKBACK)
    horizon: int = Field(1, ge=1, le=MAX_HORIZON)
    classes: list[Label] = Field(default_factory=list, max_length=MAX_CLASSES)
    delimiter: str = Field(",", min_length=1, max_length=8)


class Model(_Part):
    config: dict[str, Any]
    input_shape: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(min_length=1, max_length=3)
    output_dim: int = Field(ge=1, le=MAX_WIDTH)


class Statistics(_Part):
    fill: Finite
    center: Finite
    scale: Scale


class Scaled(Statistics):
    """A number's scaling: (x - center) / scale, or, under normalize auto (data/scaling.py fit_auto),
    a quantile map or robust scaling with smooth clipping."""

    method: Literal["quantile", "robust_clip"] | None = None
    quantiles: list[Finite] | None = Field(None, min_length=2, max_length=MAX_QUANTILES)
    normals: list[Finite] | None = Field(None, min_length=2, max_length=MAX_QUANTILES)

    @model_validator(mode="after")
    def _quantile_points(self) -> Scaled:
        if self.method != "quantile":
            return self
        q, z = self.quantiles, self.normals
        if q is None or z is None or len(q) != len(z):
            raise ValueError("a quantile transform needs as many quantiles as normal scores")
        if any(b <= a for a, b in zip(q, q[1:])) or any(b < a for a, b in zip(z, z[1:])):
            raise ValueError("a quantile transform's quantiles must increase, and its normal scores not decrease")
        return self


class Numeric(Scaled):
    kind: Literal["numeric"]
    missing: bool = False  # a 0/1 missing-value indicator follows the value


class Boolean(_Part):
    kind: Literal["boolean"]
    fill: Finite


class Categorical(_Part):
    kind: Literal["categorical"]
    fill: str
    categories: list[str] = Field(min_length=1, max_length=MAX_CATEGORIES)
    encoding: Literal["onehot", "ordinal", "embed"]


class DateParts(_Part):
    year: Scaled
    # bundles written before cyclic date parts: each scaled as a number
    month: Statistics | None = None
    day: Statistics | None = None
    dayofweek: Statistics | None = None


class Datetime(_Part):
    kind: Literal["datetime"]
    parts: DateParts
    # sin and cos of each, after the year; absent: the four scaled parts of older bundles
    cycles: list[Literal["month", "dayofweek", "day", "hour"]] | None = Field(None, max_length=4)
    missing: bool = False

    @model_validator(mode="after")
    def _parts(self) -> Datetime:
        if self.cycles is None and None in (self.parts.month, self.parts.day, self.parts.dayofweek):
            raise ValueError("a date without cycles needs its month, day and dayofweek parts")
        return self


class Tokenizer(_Part):
    length: int = Field(ge=1, le=MAX_WIDTH)  # token ids per text; the rest is data.tokenize's to check on load


class Text(_Part):
    kind: Literal["text"]
    tokenizer: Tokenizer


TAG = "kind="  # marks the union's branch in a location, left out of messages


def _kind(state: Any) -> str | None:
    return f"{TAG}{state.get('kind')}" if isinstance(state, dict) else None


Column = Annotated[
    Union[
        Annotated[Numeric, Tag(TAG + "numeric")],
        Annotated[Boolean, Tag(TAG + "boolean")],
        Annotated[Categorical, Tag(TAG + "categorical")],
        Annotated[Datetime, Tag(TAG + "datetime")],
        Annotated[Text, Tag(TAG + "text")],
    ],
    Discriminator(
        _kind,
        custom_error_type="kind",
        custom_error_message="kind must be numeric, categorical, boolean, datetime or text",
    ),
]


class Features(_Part):
    kinds: dict[str, Literal["numeric", "categorical", "boolean", "datetime", "text"]] = Field(max_length=MAX_COLUMNS)
    columns: dict[str, Column] = Field(max_length=MAX_COLUMNS)
    normalize: str
    encode: str
    max_onehot: int
    impute_numeric: str
    impute_categorical: str


class Target(_Part):
    task: Literal["classification", "regression", "forecast"]
    normalize: bool
    transform: Literal["auto", "standard", "log", "none"] | None = None
    log: bool = False  # predictions are exp of the scaled output, clipped to `clip` first
    clip: list[Finite] | None = Field(None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _clip_order(self) -> Target:
        if self.clip is not None and self.clip[0] > self.clip[1]:
            raise ValueError("clip: the low bound is above the high one")
        return self

    classes: list[Label] | None = Field(None, max_length=MAX_CLASSES)
    center: Finite
    scale: Scale


class Series(_Part):
    columns: list[str] = Field(min_length=1, max_length=MAX_COLUMNS)
    target: str
    transform: Literal["none", "diff", "log_return"]
    normalize: str
    inputs: list[Pair]
    target_scale: Pair


class Vocabulary(_Part):
    tokens: list[str] = Field(min_length=4, max_length=MAX_VOCABULARY)


class Images(_Part):
    # read as ImagePreprocessor(**state): no other keys
    model_config = ConfigDict(strict=True, extra="forbid")
    size: list[Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)]] = Field(min_length=2, max_length=2)
    mode: Literal["grayscale", "rgb"]
    channels: Literal[1, 3]
    scale: Scale
    normalize: str
    shift: list[Finite] = Field(max_length=3)
    divide: list[Scale] = Field(max_length=3)


class Preprocessing(_Part):
    features: Features | None = None
    target: Target | None = None
    series: Series | None = None
    vocabulary: Vocabulary | None = None
    images: Images | None = None


class Spec(_Part):
    format: int
    task: Task
    model: Model
    preprocessing: Preprocessing
    input_schema: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] | None = None
    versions: dict[str, Any] = Field(default_factory=dict)


def check_spec(spec: Any, where: Path) -> Spec:
    """`spec` (spec.json, parsed) checked against the schema, its bounds and itself; BundleError otherwise."""
    try:
        parsed = Spec.model_validate(spec)
    except ValidationError as err:
        _refuse(where, [_problem(e) for e in err.errors(include_url=False)])
    _refuse(where, _model_config(parsed.model.config) + _input_size(parsed.model) + _consistency(parsed))
    return parsed


def check_weights(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    buffer_bytes: int,
    spec: Path,
    weights: Path,
) -> None:
    """The module that spec.json describes (`expected` shapes) against the weights file's (`found`)."""
    problems = [
        f"{name} is {_shape(found[name])} there, {_shape(shape)} here"
        for name, shape in expected.items()
        if name in found and tuple(found[name]) != tuple(shape)
    ]
    problems += [f"{name} is missing there" for name in expected if name not in found]
    problems += [f"{name} is there, not in this network" for name in found if name not in expected]
    if problems:
        _refuse(
            spec,
            [
                f"model (config, input_shape, output_dim) describes another network than {weights.name}: "
                + _listed(problems)
            ],
        )
    if buffer_bytes > MAX_BUFFER_BYTES:
        _refuse(
            spec,
            [
                f"model: the network would hold {buffer_bytes / 2**30:.1f} GiB besides its weights "
                f"(at most {MAX_BUFFER_BYTES / 2**30:.0f} GiB); model.config or task.lookback is too large"
            ],
        )


def _refuse(where: Path, problems: list[str]) -> None:
    if problems:
        raise BundleError(
            f"{where}: {_listed(problems)}",
            hint="spec.json is not as layerwise wrote it; use the bundle `layerwise run` wrote, or run again",
        )


def _listed(problems: list[str]) -> str:
    more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
    return "; ".join(problems[:SHOWN]) + more


def _problem(error: ErrorDetails) -> str:
    # the location without the union's branch; pydantic's message, which never holds the value
    loc = [str(p) for p in error["loc"] if not str(p).startswith(TAG)]
    message = error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(loc) or 'spec'}: {message}"


def _model_config(config: dict[str, Any]) -> list[str]:
    """Bounds on the numbers in model.config that size the module (widths, layers, lists)."""
    problems: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int):
            bound = MAX_LAYERS if path.endswith(".layers") else MAX_WIDTH
            if value > bound:
                problems.append(f"{path}: {value} is over the bound {bound}")
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{path}: not a finite number")
        elif isinstance(value, list):
            # a tabular model's inputs list the table's columns (numeric positions, categories)
            most = MAX_COLUMNS if ".inputs." in path else MAX_LAYERS
            if len(value) > most:
                problems.append(f"{path}: {len(value)} entries, at most {most}")
            else:
                for i, item in enumerate(value):
                    walk(item, f"{path}.{i}")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")

    walk(config, "model.config")
    if not isinstance(config.get("type", "mlp"), str):
        problems.append("model.config.type: must be a model type name")
    return problems


def _input_size(model: Model) -> list[str]:
    numbers = math.prod(model.input_shape)
    if numbers > MAX_INPUT:
        return [f"model.input_shape: {model.input_shape} is {numbers} numbers per sample, at most {MAX_INPUT}"]
    return []


def _consistency(spec: Spec) -> list[str]:
    """Fields that must agree with each other, so the network is fed and read as it was trained."""
    # A part may be missing: a bundle saved from any nn.Module (Predictor(task, module)) has no
    # preprocessing and takes model inputs as they are. The parts present must agree, by the
    # checks of the bundle's kind, chosen once from task.type (_CHECKS).
    return [problem for check in _CHECKS[spec.task.type] for problem in check(spec)]


def _target(spec: Spec) -> list[str]:
    """A target encoder's own task, where there is one, against task.type (rows of a table)."""
    task, target = spec.task, spec.preprocessing.target
    if target is not None and target.task != task.type:
        return [f"preprocessing.target.task: '{target.task}' in a {task.type} bundle"]
    return []


def _classes(spec: Spec) -> list[str]:
    task, model, target = spec.task, spec.model, spec.preprocessing.target
    other = _target(spec)
    if other:
        return other  # the classes of another kind's encoder say nothing more
    n = len(task.classes)
    problems = (
        []
        if target is None or target.classes == task.classes
        else [
            f"preprocessing.target.classes: {_count(target.classes)} class(es), task.classes {n}; "
            "they must be the same list"
        ]
    )
    if model.output_dim != n and not (n == 2 and model.output_dim == 1):
        problems.append(f"model.output_dim: {model.output_dim} outputs for {n} classes in task.classes")
    if n < 2:
        problems.append(f"task.classes: {n} class(es); a classifier needs at least 2")
    return problems


def _horizon(spec: Spec) -> list[str]:
    task, model = spec.task, spec.model
    if model.output_dim != task.horizon:
        return [f"model.output_dim: {model.output_dim} outputs for task.horizon {task.horizon}"]
    return []


def _table(spec: Spec) -> list[str]:
    task, model, features = spec.task, spec.model, spec.preprocessing.features
    if features is None:
        return []
    kinds, columns = features.kinds, features.columns
    if list(kinds) != list(columns):
        return ["preprocessing.features.columns: must name the columns of preprocessing.features.kinds, in order"]
    problems = [
        f"preprocessing.features.columns.{name}.kind: '{state.kind}', but kinds.{name} is '{kinds[name]}'"
        for name, state in columns.items()
        if state.kind != kinds[name]
    ]
    if set(task.features) != set(kinds):
        problems.append("task.features: must be the columns of preprocessing.features.kinds")
    width = sum(_width(state) for state in columns.values())
    if model.input_shape != [width]:
        problems.append(f"model.input_shape: {model.input_shape}, but the preprocessing makes {width} inputs")
    return problems


def _width(state: Any) -> int:
    """The inputs one column becomes, by the Preprocessor's own rule (one-hot categories, date parts,
    a text's token ids, else one; plus a missing-value indicator)."""
    return column_width(state.model_dump(exclude_none=True))


def _images(spec: Spec) -> list[str]:
    model, images = spec.model, spec.preprocessing.images
    if images is None:
        return []
    problems = []
    if (images.mode == "grayscale") != (images.channels == 1):
        problems.append(f"preprocessing.images.channels: {images.channels} for mode {images.mode}")
    if not len(images.shift) == len(images.divide) == images.channels:
        problems.append(f"preprocessing.images.shift, divide: one number per channel ({images.channels})")
    if model.input_shape != [images.channels, *images.size]:
        problems.append(
            f"model.input_shape: {model.input_shape}, but the images are "
            f"{[images.channels, *images.size]} (channels, height, width)"
        )
    return problems


def _series(spec: Spec) -> list[str]:
    task, model, series = spec.task, spec.model, spec.preprocessing.series
    if series is None:
        return []
    problems = []
    if len(series.inputs) != len(series.columns):
        problems.append(
            f"preprocessing.series.inputs: {len(series.inputs)} [center, scale] pairs for {len(series.columns)} columns"
        )
    if task.lookback < 1 or model.input_shape != [task.lookback, len(series.columns)]:
        problems.append(
            f"model.input_shape: {model.input_shape}, but windows are "
            f"[{task.lookback}, {len(series.columns)}] (task.lookback, series columns)"
        )
    return problems


def _vocabulary(spec: Spec) -> list[str]:
    task, model, vocabulary = spec.task, spec.model, spec.preprocessing.vocabulary
    if vocabulary is None:
        return []
    tokens = vocabulary.tokens
    problems = []
    if len(set(tokens)) != len(tokens) or any(len(t) != 1 for t in tokens[3:]):
        problems.append("preprocessing.vocabulary.tokens: must be distinct single characters after <pad> <s> </s>")
    if model.output_dim != len(tokens):
        problems.append(f"model.output_dim: {model.output_dim} outputs for {len(tokens)} vocabulary tokens")
    if task.lookback < 2 or model.input_shape != [task.lookback]:
        problems.append(f"model.input_shape: {model.input_shape}, but the context is task.lookback {task.lookback}")
    return problems


# Each kind's checks, in the order their problems are listed: its outputs first, then the
# preprocessing parts it reads (a part it does not read is left to the reader of the part).
# A part checked here is skipped where absent. Keys: every task.type that Task.type admits.
_CHECKS: dict[str, tuple[Callable[[Spec], list[str]], ...]] = {
    "classification": (_classes, _table, _images),
    "regression": (_target, _table, _images),
    "forecast": (_horizon, _images, _series),
    "generation": (_images, _vocabulary),
}


def _count(values: list | None) -> int:
    return 0 if values is None else len(values)


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"
