"""ExperimentConfig: the one schema for YAML and Python alike.

Every setting has one dotted path (`train.lr`) used in YAML, in `--set train.lr=0.01`
and, later, in tuning search spaces. Validation happens here, at the edge, and reports
every problem at once, each with its key path and a did-you-mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel, ConfigDict, Field, PositiveInt, ValidationError, ValidationInfo, field_validator, model_validator,
)

from .errors import ConfigError, did_you_mean

TaskType = Literal["auto", "classification", "regression", "forecast", "generation"]
Normalize = Literal["standard", "minmax", "robust", "none"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitConfig(_Section):
    """How rows are divided into train / validation / test (step 3)."""

    method: Literal["auto", "random", "stratified", "time"] = "auto"
    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    # Rows dropped between parts of a time-ordered split; None = lookback + horizon.
    gap: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"train + val + test must sum to 1, got {self.train} + {self.val} + {self.test} = {total:g}"
            )
        return self


class CleanConfig(_Section):
    """Cleaning rules; every change they make is written to the cleaning log."""

    drop_missing_target: bool = True
    coerce_numeric: bool = True
    inf_to_missing: bool = True
    drop_duplicates: bool = True
    drop_constant: bool = True
    drop_id: bool = True
    drop_text: bool = True
    impute_numeric: Literal["median", "mean", "zero"] = "median"
    impute_categorical: Literal["most_frequent", "missing"] = "most_frequent"


class WindowConfig(_Section):
    """Forecasting windows: `lookback` past rows predict the next `horizon` rows."""

    lookback: int = Field(30, ge=1)
    horizon: int = Field(1, ge=1)
    stride: int = Field(1, ge=1)


MISSING_TARGET = "data.target: required key is missing (only task.type: generation goes without one)"


class TextConfig(_Section):
    """Generation: how a text file becomes examples."""

    # lines: one example per line (names, titles); chunks: running text cut every `chunk` chars.
    mode: Literal["lines", "chunks"] = "lines"
    chunk: int = Field(64, ge=2)
    # Longest example kept, in characters (longer ones are cut); null = the longest in training.
    max_length: int | None = Field(None, ge=1)


class ImageConfig(_Section):
    """Image classification from a folder of class folders (or NumPy arrays passed as data=)."""

    # (height, width) every image is resized to; null = the most common size in the folder.
    size: list[PositiveInt] | None = Field(None, min_length=2, max_length=2)
    # grayscale: 1 channel; rgb: 3; auto: rgb when any image has colour.
    mode: Literal["auto", "grayscale", "rgb"] = "auto"
    # Unreadable files are skipped and logged up to this share of all image files; above it, an error.
    max_corrupt: float = Field(0.05, ge=0, le=1)


class DataConfig(_Section):
    path: str | None = None
    # The column to predict; required for every task but generation (which reads text).
    target: str | None = None
    time: str | None = None
    features: list[str] | None = None
    drop: list[str] = Field(default_factory=list)
    delimiter: str = ","
    split: SplitConfig = Field(default_factory=SplitConfig)
    normalize: Normalize = "standard"
    encode: Literal["auto", "onehot", "ordinal"] = "auto"
    max_onehot: int = Field(20, ge=2)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    # Forecasting: predict the value itself or its change relative to the last observed value.
    transform: Literal["none", "diff", "log_return"] = "none"
    text: TextConfig = Field(default_factory=TextConfig)
    # Images: data.path is a folder of class folders; set this section to change size, mode, limits.
    image: ImageConfig | None = None


class TaskConfig(_Section):
    type: TaskType = "auto"


class ModelConfig(_Section):
    """The network (step 2) and its initial weights (step 4), as one flat section.

    A key left unset (null) takes the block's own default, listed in
    `layerwise.models.get(type).defaults`; a key set for a block that does not use
    it is an error naming it. Shapes come from the data, never from here.
    """

    # mlp | cnn1d | cnn2d | lstm | gru | transformer (layerwise.models.available())
    type: str = "mlp"
    # One width per hidden layer: dense layers (mlp, default [64, 64]) or stacked
    # recurrent layers (lstm, gru, default [64]).
    hidden: list[PositiveInt] | None = None
    # After each dense or conv layer (mlp, cnn*: relu); inside the feed-forward (transformer: gelu).
    activation: Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"] | None = None
    # Dropout rate: after each dense layer (mlp), between recurrent layers and before the
    # head (lstm, gru), before the head (cnn*), inside every encoder layer (transformer). Default 0.
    dropout: float | None = Field(None, ge=0, lt=1)
    # Normalization after each dense or conv layer (mlp: none, cnn*: batch); `layer` on a
    # conv normalizes over channels and positions together.
    norm: Literal["none", "batch", "layer"] | None = None
    # cnn1d, cnn2d: output channels of each conv stage, one stage per entry (cnn1d [32, 32], cnn2d [32, 64]).
    channels: list[PositiveInt] | None = None
    # cnn1d, cnn2d: conv width in steps or pixels (square, odd), 'same' padding (default 3).
    kernel_size: PositiveInt | None = None
    # cnn1d, cnn2d: pooling after each stage, halving each dim (default max).
    pool: Literal["max", "avg", "none"] | None = None
    # cnn1d, cnn2d: each stage a ResNet basic block, two convs plus a skip path (default false).
    residual: bool | None = None
    # How the steps or pixels become one vector for the head: the final state (`last`:
    # lstm, gru default), or pooled (`mean`: cnn*, transformer default; `max`).
    readout: Literal["last", "mean", "max"] | None = None
    # lstm, gru: read the window both ways (default false).
    bidirectional: bool | None = None
    # transformer: model width (64), attention heads dividing it (4), encoder layers (2).
    d_model: PositiveInt | None = None
    heads: PositiveInt | None = None
    layers: PositiveInt | None = None
    # transformer: how steps are told apart (default sinusoidal, or learned).
    positions: Literal["learned", "sinusoidal"] | None = None
    # transformer: step t attends only to steps <= t (default false).
    causal: bool | None = None
    # generation: width of the character embedding in front of an lstm, gru or transformer (default 32).
    embedding: PositiveInt | None = None
    # Initial weights: auto picks per layer type (He/Xavier by activation, orthogonal
    # recurrent weights, LSTM forget bias 1); a named scheme applies to every weight matrix.
    init: Literal[
        "auto", "normal", "uniform", "xavier_uniform", "xavier_normal",
        "kaiming_uniform", "kaiming_normal", "orthogonal",
    ] = "auto"

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        from .models import available

        if value not in available():
            raise ValueError(f"unknown model type {value!r}{did_you_mean(value, available())}; "
                             f"choose one of {', '.join(available())}")
        return value

    @field_validator(
        "hidden", "activation", "dropout", "norm", "channels", "kernel_size", "pool", "residual",
        "readout", "bidirectional", "d_model", "heads", "layers", "positions", "causal",
    )
    @classmethod
    def _taken_by_the_type(cls, value: Any, info: ValidationInfo) -> Any:
        """A key set for a block that does not use it (`type` is validated first); values
        that depend on the data's shape are checked when the model is built."""
        from .models import get

        block_type = info.data.get("type")  # absent when the type itself was invalid
        defaults = getattr(get(block_type), "defaults", None) if block_type else None
        if value is not None and defaults is not None and info.field_name not in defaults:
            raise ValueError(f"not a setting of model type '{block_type}'; it takes {', '.join(defaults)}")
        return value


class ScheduleConfig(_Section):
    """A learning-rate schedule (layerwise.training.schedules): per-epoch step, exponential,
    plateau; per-update cosine (with linear warm-up) and one-cycle."""

    type: Literal["none", "step", "exponential", "cosine", "onecycle", "plateau"] = "none"
    step_size: int | None = Field(None, ge=1)    # step: epochs between decays (default epochs // 3)
    gamma: float | None = Field(None, gt=0)      # step, plateau: 0.1; exponential: 0.95
    warmup: int = Field(0, ge=0)                 # cosine: warm-up epochs
    patience: int = Field(5, ge=0)               # plateau: epochs without improvement
    min_lr: float = Field(0.0, ge=0)             # cosine: the floor


class TrainConfig(_Section):
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(100, ge=1)
    loss: Literal["auto", "mse", "mae", "huber", "cross_entropy", "bce"] = "auto"
    class_weights: Literal["none", "balanced"] | dict[str, float] = "none"
    weight_decay: float = Field(0.0, ge=0)
    l1: float = Field(0.0, ge=0)
    clip_grad: float | None = Field(None, gt=0)
    patience: int | None = Field(10, ge=1)
    seed: int = 0
    device: str = "auto"                          # auto: cuda, then mps, then cpu
    threads: Literal["auto"] | int = "auto"
    checkpoint_every: int = Field(1, ge=0)        # epochs between checkpoints (0: only on SIGTERM/SIGINT)
    keep: int = Field(2, ge=1)                    # newest checkpoints kept, besides the best
    on_nan: Literal["stop", "skip_batch", "reduce_lr"] = "stop"
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)  # or a name: `schedule: cosine`
    accumulate: int = Field(1, ge=1)              # batches per optimizer step
    precision: Literal["32", "bf16", "16-mixed"] = "32"
    compile: bool = False                         # torch.compile the model
    tensorboard: bool = False                     # TensorBoard event files in OUT/tensorboard (pip install tensorboard)

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_name(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


MetricName = Literal[
    "mae", "rmse", "r2", "mape", "accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc",
]


class GatesConfig(_Section):
    """The deploy gate: every check set here must pass for DEPLOY (`layerwise run --gate` exits 4 if not)."""

    # The paired-bootstrap interval of (model - baseline) on the primary metric must exclude
    # zero in the model's favour.
    beat_baseline: bool = True
    min: dict[MetricName, float] = Field(default_factory=dict)   # e.g. {accuracy: 0.9}: test value >= bound
    max: dict[MetricName, float] = Field(default_factory=dict)   # e.g. {mae: 100}: test value <= bound
    # A champion bundle folder: the new model must score at least as well on the same test rows.
    compare_to: str | None = None


class EvaluateConfig(_Section):
    # The metric that decides "beats the baseline"; auto = mae (regression, forecast),
    # accuracy (classification).
    metric: Literal["auto", MetricName] = "auto"
    gates: GatesConfig = Field(default_factory=GatesConfig)
    bootstrap: int = Field(1000, ge=0)           # resamples of the test rows for the intervals; 0 = none
    level: float = Field(0.95, gt=0.5, lt=1)     # confidence level of the intervals
    data_curve: bool = False                     # retrain on 25/50/75/100% of the training split
    leakage: bool = True                         # audit train/test for leakage
    report: bool = True                          # write report.html into the run folder


class TuneConfig(_Section):
    """Hyperparameter search (step 7) on Optuna: which settings to try, how, and where to keep the study.

    `space` maps dotted config paths to ranges or choices (layerwise.tuning.space); each trial
    is the experiment with those paths set, scored on the validation split (or k folds),
    never on the test split.
    """

    method: Literal["grid", "random", "tpe"] = "tpe"
    trials: int | None = Field(20, ge=1)          # finished trials in the study; grid: None = the whole grid
    timeout: float | None = Field(None, gt=0)     # seconds for the whole search
    pruner: Literal["none", "median", "hyperband"] = "median"
    # The objective: `auto` = the validation metric the trainer logs each epoch (accuracy
    # for classification, maximized; MAE in the target's units otherwise), `loss` = the
    # validation loss. Pruners see the same quantity every epoch.
    metric: Literal["auto", "loss"] = "auto"
    cv: int | None = Field(None, ge=2)            # k folds over train+validation (time-ordered for series)
    space: dict[str, Any]
    storage: str | None = None                    # default sqlite:///OUT/study.db; postgresql://... for many workers
    study: str | None = None                      # default: the config file's name
    workers: int = Field(1, ge=1)                 # local worker processes sharing the study
    heartbeat: int = Field(60, ge=1)              # seconds; a trial silent for 2x this is FAIL and retried
    retries: int = Field(3, ge=0)                 # times a stale (killed) trial is run again
    refit: Literal["train", "train+val"] = "train"  # what the best configuration is retrained on
    seed: int | None = None                       # sampler seed; default train.seed

    @field_validator("space")
    @classmethod
    def _space(cls, value: dict[str, Any]) -> dict[str, Any]:
        from .tuning.space import Space

        try:
            Space.parse(value)
        except ConfigError as err:
            raise ValueError("; ".join(p.removeprefix("tune.space.") for p in err.problems)) from None
        return value

    @model_validator(mode="after")
    def _grid_is_discrete(self) -> TuneConfig:
        if self.method == "grid" and "space" in self.model_fields_set:
            from .tuning.space import Space

            try:
                Space.parse(self.space).grid()
            except ConfigError as err:
                raise ValueError(err.problems[0].removeprefix("tune.space.")) from None
        return self


class ExperimentConfig(_Section):
    """The whole experiment; `data.target` is the only required key."""

    data: DataConfig
    task: TaskConfig = Field(default_factory=TaskConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    tune: TuneConfig | None = None  # with a space: `layerwise run` tunes first, then trains the best

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "config") -> ExperimentConfig:
        """Validate a plain dict, raising one ConfigError that lists every problem."""
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a mapping of sections (data, task, model, ...), "
                              f"got {type(raw).__name__}")
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            problems = [_describe(e, raw) for e in err.errors()]
            # The cross-section check runs only once every field is valid: report it with the rest.
            data, task = raw.get("data"), raw.get("task")
            generation = isinstance(task, dict) and task.get("type") == "generation"
            generation = generation or (isinstance(data, dict) and data.get("image") is not None)  # images: no column
            if isinstance(data, dict) and data.get("target") is None and not generation and MISSING_TARGET not in problems:
                problems.insert(0, MISSING_TARGET)
            raise ConfigError(problems, hint=f"fix the keys above in {source}") from None

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
        """Read a YAML file (safe_load only), apply `--set` overrides, validate.

        A relative `data.path` is taken relative to the YAML file's folder.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path.resolve()}")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except yaml.YAMLError as err:
            where = getattr(err, "problem_mark", None)
            line = f" line {where.line + 1}" if where is not None else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', err)})") from None
        raw = {} if raw is None else raw
        if isinstance(raw, dict):
            apply_overrides(raw, overrides or [])
            data = raw.get("data")
            if isinstance(data, dict) and isinstance(data.get("path"), str):
                data_path = Path(data["path"]).expanduser()
                if not data_path.is_absolute():
                    data["path"] = str((path.parent / data_path).resolve())
        return cls.from_dict(raw, source=str(path))

    def with_overrides(self, overrides: list[str]) -> ExperimentConfig:
        raw = self.to_dict()
        apply_overrides(raw, overrides)
        return ExperimentConfig.from_dict(raw, source="--set")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """Apply `key.path=value` strings in place; values are parsed as YAML scalars or lists."""
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"--set {item!r}: expected KEY=VALUE, e.g. --set train.lr=0.01")
            continue
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        node = raw
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append(f"--set {key}: '{'.'.join(parts[: i + 1])}' is a value, not a section")
                break
            node = child
        else:
            node[parts[-1]] = value
    if problems:
        raise ConfigError(problems)


def _describe(error: dict[str, Any], raw: dict[str, Any]) -> str:
    """One line for one pydantic error: key path, what is wrong, and a did-you-mean."""
    loc = [str(p) for p in error["loc"]]
    path = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        return f"{path}: unknown key{did_you_mean(loc[-1], known)}"
    if kind == "missing":
        return f"{path}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    if not loc:  # a check across sections names its own key path
        return message
    given = error.get("input")
    if kind == "literal_error":
        choices = error.get("ctx", {}).get("expected", "")
        options = [c.strip().strip("'") for c in choices.replace(" or ", ", ").split(",")]
        return f"{path}: {given!r} is not one of {choices}{did_you_mean(str(given), options)}"
    if isinstance(given, (str, int, float, bool)) and kind not in ("value_error", "assertion_error"):
        return f"{path}: {message} (got {given!r})"
    return f"{path}: {message}"


def _known_keys(loc: list[str]) -> list[str]:
    """The field names of the section at `loc`, for did-you-mean on unknown keys."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
