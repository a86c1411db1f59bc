"""ExperimentConfig: the one schema for YAML and Python alike.

Every setting has one dotted path (`train.lr`) used in YAML, in `--set train.lr=0.01`
and, later, in tuning search spaces. Validation happens here, at the edge, and reports
every problem at once, each with its key path and a did-you-mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeInt,
    PositiveInt,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..errors import ConfigError, did_you_mean
from .messages import INIT_MAPPING, INIT_NAME, cut, describe, shorten

TaskType = Literal["auto", "classification", "regression", "forecast", "generation"]
ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "text"]
Normalize = Literal["auto", "standard", "minmax", "robust", "none"]


class _Section(BaseModel):
    # inf and nan pass `gt=0` (lr: .inf) and fail only after the data work: refused here, by key.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class SplitConfig(_Section):
    """How rows are divided into train / validation / test (step 3)."""

    # auto: time-ordered when data.time is set (or the task is a forecast), stratified for
    # classification, random otherwise.
    method: Literal["auto", "random", "stratified", "time"] = "auto"
    train: float = Field(default=0.7, gt=0, lt=1)  # share of rows for training (train + val + test = 1)
    val: float = Field(default=0.15, ge=0, lt=1)  # share for validation: early stopping, tuning; 0 = none
    test: float = Field(default=0.15, gt=0, lt=1)  # share held out for the final metrics and the verdict
    # Rows dropped between parts of a time-ordered split; None = lookback + horizon.
    gap: int | None = Field(default=None, ge=0)

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

    drop_missing_target: bool = True  # drop rows whose target is missing
    coerce_numeric: bool = True  # read numbers stored as text ("1,234", " 5 ") as numbers
    inf_to_missing: bool = True  # treat inf and -inf as missing values
    drop_duplicates: bool = True  # drop exact duplicate rows
    drop_constant: bool = True  # drop feature columns holding one value
    drop_id: bool = True  # drop columns that look like row identifiers
    # drop free-text columns instead of reading them with a text encoder (a forecast drops them always)
    drop_text: bool = False
    impute_numeric: Literal["median", "mean", "zero"] = "median"  # fill missing numbers (statistic of train)
    # fill missing categories: the most frequent one in train, or a category of its own
    impute_categorical: Literal["most_frequent", "missing"] = "most_frequent"


class WindowConfig(_Section):
    """Forecasting windows: `lookback` past rows predict the next `horizon` rows."""

    lookback: int = Field(default=30, ge=1)  # past rows each prediction sees
    horizon: int = Field(default=1, ge=1)  # future rows predicted at once
    stride: int = Field(default=1, ge=1)  # rows between the starts of consecutive windows


class StreamConfig(_Section):
    """Tables larger than memory (layerwise.data.streaming): read in record batches, never whole.

    Tabular classification and regression from Parquet or CSV; the split is by a hash of the row
    number (or file order with data.time), statistics come from one pass over the training rows.
    """

    # auto: stream a data.path file larger than `above_mb` on disk; true / false: always / never.
    enabled: Literal["auto"] | bool = "auto"
    above_mb: float = Field(default=1024, gt=0)  # enabled: auto streams files larger than this, in MB
    shuffle_buffer: int = Field(default=65_536, ge=1)  # training rows mixed at once (more: better shuffle, more memory)
    batch_rows: int = Field(default=65_536, ge=1)  # rows read from the file at a time


MISSING_TARGET = "data.target: required key is missing (only task.type: generation goes without one)"


class TextConfig(_Section):
    """Text: how text columns become token ids (tables), or a text file becomes examples (generation)."""

    # Text columns: word (words and punctuation marks), bpe | wordpiece (sub-word pieces, Hugging
    # Face tokenizers trained on the training texts) or char; fitted on the training split only.
    tokenizer: Literal["bpe", "wordpiece", "word", "char"] = "word"
    # text columns: most tokens in the vocabulary (ids travel as float32, exact far beyond the cap)
    vocab_size: int = Field(default=16000, ge=10, le=1_000_000)
    min_frequency: int = Field(default=2, ge=1)  # text columns: fewest training occurrences a token needs
    lowercase: bool = True  # text columns: lower-case before tokenizing
    normalization: Literal["nfkc", "nfc", "none"] = "nfkc"  # text columns: Unicode normalization
    # Text columns: most tokens read per text; longer texts are cut (the run log counts them).
    max_tokens: int = Field(default=256, ge=1)
    # Generation: lines = one example per line (names, titles); chunks = running text cut every `chunk` chars.
    mode: Literal["lines", "chunks"] = "lines"
    chunk: int = Field(default=64, ge=2)  # generation, chunks: characters per example
    # Generation: longest example kept, in characters (longer ones are cut); null = the longest in training.
    max_length: int | None = Field(default=None, ge=1)


class ImageConfig(_Section):
    """Image classification from a folder of class folders, a table of image files and labels,
    or NumPy arrays passed as data=."""

    # (height, width) every image is resized to; null = the most common size in the folder.
    size: list[PositiveInt] | None = Field(default=None, min_length=2, max_length=2)
    # grayscale: 1 channel; rgb: 3; auto: rgb when any image has colour.
    mode: Literal["auto", "grayscale", "rgb"] = "auto"
    # Unreadable files are skipped and logged up to this share of all image files; above it, an error.
    max_corrupt: float = Field(default=0.05, ge=0, le=1)
    # A CSV or Parquet data.path lists the images: this column holds each file's path (relative
    # to the table's folder), data.target its class. Null: data.path is a folder of class folders.
    files: str | None = None
    # Decode images as training reads them (true), or all into memory first (false); auto: in
    # memory when the decoded images fit `memory_mb`, lazily otherwise (the run log says which).
    lazy: Literal["auto"] | bool = "auto"
    # What decoded images may take in memory, in MB (they are held twice: as read and
    # normalized); null = half the memory available when the run starts.
    memory_mb: float | None = Field(default=None, gt=0)
    # Processes decoding images for training when they are read lazily (torch DataLoader
    # workers); auto = one per usable CPU but one, at most 8 (0: decode in the training process).
    # Images in memory augmented per image (data.augment crop, color, policy): auto = in the
    # training process, a number = that many workers.
    workers: Literal["auto"] | NonNegativeInt = "auto"


class AugmentConfig(_Section):
    """Random changes to training batches only (layerwise.data.augment); every key off by default.

    Images: flip, shift, rotate, brightness, mixup, cutmix (on batches); crop, color, policy (per
    image, with torchvision.transforms.v2 where images are loaded). Series windows (forecast): jitter, scale, slice.
    Tables: jitter, on the numeric feature columns only.
    """

    # Images: none | horizontal | vertical | both, each image mirrored with probability 1/2 (digits: none).
    flip: Literal["none", "horizontal", "vertical", "both"] = "none"
    # Images: largest move in whole pixels, as a fraction of height / width; uncovered pixels are black.
    shift: float = Field(default=0.0, ge=0, lt=0.5)
    # Images: largest turn about the centre, in degrees; uncovered corners are black.
    rotate: float = Field(default=0.0, ge=0, le=180)
    # Images: largest relative change of the raw pixel values (0.2: multiplied by 0.8 .. 1.2).
    brightness: float = Field(default=0.0, ge=0, lt=1)
    # Images, per image (torchvision.transforms.v2, in the loading workers): a random crop of
    # `crop` to all of the image's area, resized back (RandomResizedCrop; 1: off).
    crop: float = Field(default=1.0, gt=0, le=1)
    # Images, per image: random brightness, contrast and saturation changes of up to this share (ColorJitter).
    color: float = Field(default=0.0, ge=0, lt=1)
    # Images, per image: an automatic augmentation policy, trivialaugment | randaugment | autoaugment.
    policy: Literal["none", "trivialaugment", "randaugment", "autoaugment"] = "none"
    # Images, per batch: mixup, each image blended with another of the batch by a share drawn from
    # Beta(mixup, mixup), its label too (0: off; 0.2 is usual). Training loss on blended labels.
    mixup: float = Field(default=0.0, ge=0)
    # Images, per batch: cutmix, a box of another image of the batch pasted in, the labels blended
    # by the box's area, drawn from Beta(cutmix, cutmix) (0: off; 1.0 is usual). With mixup: one or the other a batch.
    cutmix: float = Field(default=0.0, ge=0)
    # Series and tables: std of Gaussian noise added to the scaled inputs (tables: numeric columns only).
    jitter: float = Field(default=0.0, ge=0)
    # Series: std s of each window's factor 1 + N(0, s), applied about the window's last value
    # (transform none) or about "no change" (diff, log_return).
    scale: float = Field(default=0.0, ge=0)
    # Series: window slicing, the last U(slice, 1) of the lookback stretched back to full length (1: off).
    slice: float = Field(default=1.0, gt=0, le=1)


class DataConfig(_Section):
    # CSV, Parquet, a .txt file (generation) or a folder of class folders (images); relative
    # to the config file's folder. Null when the data is passed from Python (data=).
    path: str | None = None
    # The column to predict; required for every task but generation (which reads text).
    target: str | None = None
    time: str | None = None  # the column that orders rows (dates); makes the split time-ordered
    features: list[str] | None = None  # the input columns; null = every column but target, time and drop
    drop: list[str] = Field(default_factory=list)  # columns never used as inputs
    # The kind of a column, overriding what cleaning infers: numeric | categorical | boolean |
    # datetime | text, e.g. {review: text, zip: categorical}. `init` writes the text columns it finds.
    columns: dict[str, ColumnKind] = Field(default_factory=dict)
    delimiter: str = ","  # CSV field delimiter
    # Decimal mark of numbers written as text: "." (1,234.5) or "," (1.234,5; 2228,66). The
    # bundle keeps it, so prediction reads numbers as training did. `init` detects ",".
    decimal: Literal[".", ","] = "."
    split: SplitConfig = Field(default_factory=SplitConfig)
    # Scaling of numeric inputs, fitted on the training split only. auto: per table column, a
    # quantile transform to a normal shape for skewed columns, else robust scaling (median, IQR)
    # with smooth clipping of outliers (data/transforms.py says the rule); standard for series
    # and images.
    normalize: Normalize = "auto"
    # Categories: auto = one-hot up to max_onehot distinct values; beyond, learned embeddings
    # where the model has them (model.type tabular), else ordinal codes. embed: always embedded.
    encode: Literal["auto", "onehot", "ordinal", "embed"] = "auto"
    max_onehot: int = Field(default=20, ge=2)  # most distinct values a column may have for one-hot (encode: auto)
    # Tables: a 0/1 column beside each numeric column that has missing values in the training
    # split, so the network can tell an imputed value from an observed one.
    missing_indicators: bool = True
    # Regression targets: auto = log, then standardized, when every training value is positive
    # and the values are skewed; else standardized. Predictions and metrics are in the target's units.
    target_transform: Literal["auto", "standard", "log", "none"] = "auto"
    clean: CleanConfig = Field(default_factory=CleanConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    # Forecasting: predict the value itself or its change relative to the last observed value.
    transform: Literal["none", "diff", "log_return"] = "none"
    text: TextConfig = Field(default_factory=TextConfig)
    # Images: data.path is a folder of class folders; set this section to change size, mode, limits.
    image: ImageConfig | None = None
    # Augmentation of the training split (null: off); which keys apply depends on the data's kind.
    augment: AugmentConfig | None = None
    # Data larger than memory: {enabled: auto | true | false, above_mb, shuffle_buffer, batch_rows}.
    stream: StreamConfig = Field(default_factory=StreamConfig)


class TaskConfig(_Section):
    # auto: regression for a continuous numeric target, classification otherwise (forecast and
    # generation are always named).
    type: TaskType = "auto"


InitScheme = Literal[
    "auto",
    "normal",
    "uniform",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
]


class InitConfig(_Section):
    """`model.init` as a mapping: transfer learning (layerwise.models.transfer).

        init: {scheme: auto, from: runs/a/bundle, layers: [stages.*], freeze: [stages.*], unfreeze_after: 3}

    The model is built and initialized with `scheme` as usual, then the tensors named by
    `layers` are copied from the bundle, by name and shape; so `scheme` decides only the
    layers not loaded (the new head, by default).
    """

    # serialized as `from`, the key YAML uses (`from` is a Python keyword)
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, populate_by_name=True, serialize_by_alias=True
    )

    scheme: InitScheme = "auto"  # as model.init's name form, for the layers not loaded
    # A bundle folder (or a run folder holding bundle/); relative to the config file's folder.
    from_: str | None = Field(default=None, alias="from")
    # Which state_dict names to load: glob patterns (`stages.*`) or module prefixes (`stages.0`).
    # null = every tensor but the output head's: a trained body under a new head, the usual
    # transfer; ["*"] loads the head too (same classes, same width).
    layers: list[str] | None = None
    # strict: every requested name must exist in both with the same shape, else the run refuses
    # listing each; false loads what matches and logs the rest.
    strict: bool = True
    # Parameters kept fixed (same patterns); BatchNorm layers among them stay in eval mode, so
    # their running statistics are kept too. unfreeze_after N: trainable from epoch N+1.
    freeze: list[str] = Field(default_factory=list)
    unfreeze_after: int | None = Field(default=None, ge=1)  # epochs after which `freeze` is lifted; null = never
    # Text columns: a local GloVe / word2vec / fastText text file whose vectors start the token
    # embeddings (matched by token; the coverage is logged). Relative to the config file's folder.
    embedding: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> InitConfig:
        if self.layers is not None and self.from_ is None:
            raise ValueError("layers: needs `from`, the bundle to load them from")
        if self.unfreeze_after is not None and not self.freeze:
            raise ValueError("unfreeze_after: needs `freeze`, the parameters to unfreeze")
        return self


# pydantic's names for the two forms of model.init, left out of the key paths in messages


class ModelConfig(_Section):
    """The network (step 2) and its initial weights (step 4), as one flat section.

    A key left unset (null) takes the block's own default, listed in
    `layerwise.models.get(type).defaults`; a key set for a block that does not use
    it is an error naming it. Shapes come from the data, never from here.
    """

    # mlp | cnn1d | cnn2d | lstm | gru | transformer | tabular | backbone (images: a torchvision
    # model); for text columns text_bag | text_cnn | text_gru | text_lstm | text_transformer
    # (layerwise.models.available()). A run with text columns and this key unset takes text_bag.
    type: str = "mlp"
    # One width per hidden layer: dense layers (mlp, default [64, 64]) or stacked
    # recurrent layers (lstm, gru, default [64]).
    hidden: list[PositiveInt] | None = None
    # After each dense or conv layer (mlp, cnn*: relu); inside the feed-forward (transformer: gelu).
    activation: Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "prelu"] | None = None
    # Dropout rate: after each dense layer (mlp), between recurrent layers and before the
    # head (lstm, gru), before the head (cnn*), inside every encoder layer (transformer). Default 0.
    dropout: float | None = Field(default=None, ge=0, lt=1)
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
    heads: PositiveInt | None = None  # transformer: attention heads, dividing d_model (default 4)
    layers: PositiveInt | None = None  # transformer: encoder layers (default 2)
    # transformer: how steps are told apart (default sinusoidal, or learned).
    positions: Literal["learned", "sinusoidal"] | None = None
    # transformer: step t attends only to steps <= t (default false).
    causal: bool | None = None
    # Width of the token embedding: generation's characters (default 32) or text columns' tokens
    # (text_bag, text_cnn, text_gru, text_lstm: default 64); tabular: of each numeric and
    # categorical column's embedding.
    embedding: PositiveInt | None = None
    # tabular: predictions from one network (TabM-style parameter-efficient ensemble), averaged.
    members: PositiveInt | None = None
    # tabular: how a numeric column becomes a vector: periodic (sin/cos of learned frequencies,
    # then linear), piecewise (piecewise-linear over bins from the training split) or none.
    numeric_embedding: Literal["none", "periodic", "piecewise"] | None = None
    # tabular: bins of the piecewise-linear embedding (quantiles of the training split).
    bins: PositiveInt | None = None
    # backbone: the torchvision classification model (resnet18, resnet50, mobilenet_v3_small,
    # efficientnet_b0, convnext_tiny, vit_b_16, ...: any of torchvision.models.list_models()).
    name: str | None = None
    # backbone: its starting weights: none (torchvision's initialization), DEFAULT (torchvision's
    # weights API: the hub cache, or a download), or the path of a .safetensors / .pth state dict
    # (relative to the config file's folder).
    weights: str | None = None
    # backbone with weights: epochs the body stays frozen while the head learns (default 1).
    freeze_epochs: int | None = Field(default=None, ge=0)
    # backbone with weights: the body's learning rate as a share of train.lr (default 0.1).
    body_lr: float | None = Field(default=None, gt=0, le=1)
    # Text models: the layout of their input (dense width, each text column's length and
    # vocabulary), set by the run from the data; leave it unset.
    inputs: dict[str, Any] | None = None
    # Initial weights (step 4), the block's override of the per-layer-type default: a scheme
    # name, or a mapping (InitConfig) that also loads weights from an earlier bundle and freezes
    # some. auto picks per layer type (He/Xavier by activation, orthogonal recurrent weights,
    # LSTM forget bias 1); a named scheme applies to every weight matrix the bundle does not fill.
    init: Annotated[
        Annotated[InitScheme, Tag(INIT_NAME)] | Annotated[InitConfig, Tag(INIT_MAPPING)],
        Discriminator(lambda v: INIT_MAPPING if isinstance(v, (dict, InitConfig)) else INIT_NAME),
    ] = "auto"

    @property
    def word_vectors(self) -> str | None:
        """model.init.embedding: the word-vector file that starts token embeddings, or None."""
        return None if isinstance(self.init, str) else self.init.embedding

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        from ..models import available

        if value not in available():
            raise ValueError(
                f"unknown model type {value!r}{did_you_mean(value, available())}; "
                f"choose one of {', '.join(available())}"
            )
        return value

    @field_validator(
        "hidden",
        "activation",
        "dropout",
        "norm",
        "channels",
        "kernel_size",
        "pool",
        "residual",
        "readout",
        "bidirectional",
        "d_model",
        "heads",
        "layers",
        "positions",
        "causal",
        "members",
        "numeric_embedding",
        "bins",
        "name",
        "weights",
        "freeze_epochs",
        "body_lr",
    )
    @classmethod
    def _taken_by_the_type(cls, value: Any, info: ValidationInfo) -> Any:
        """A key set for a block that does not use it (`type` is validated first); values
        that depend on the data's shape are checked when the model is built."""
        from ..models import get

        block_type = info.data.get("type")  # absent when the type itself was invalid
        defaults = getattr(get(block_type), "defaults", None) if block_type else None
        if value is not None and defaults is not None and info.field_name not in defaults:
            raise ValueError(f"not a setting of model type '{block_type}'; it takes {', '.join(defaults)}")
        return value

    @model_validator(mode="after")
    def _fine_tuning_needs_weights(self) -> ModelConfig:
        """A backbone's fine-tuning schedule changes nothing without weights: refused, not ignored."""
        if self.type == "backbone" and self.weights in (None, "none"):
            set_ = [f"model.{key}" for key in ("freeze_epochs", "body_lr") if getattr(self, key) is not None]
            if set_:
                raise ValueError(
                    f"{' and '.join(set_)} {'apply' if len(set_) > 1 else 'applies'} to a backbone with weights "
                    "(model.weights: DEFAULT or a file); without them every layer trains from the first epoch at "
                    "train.lr"
                )
        return self


class ScheduleConfig(_Section):
    """A learning-rate schedule (layerwise.training.schedules): per-epoch step, exponential,
    plateau; per-update cosine (with linear warm-up) and one-cycle."""

    # none: constant lr; flat_cosine: constant for the first `flat` share of the epochs, then cosine to min_lr.
    type: Literal["none", "step", "exponential", "cosine", "flat_cosine", "onecycle", "plateau"] = "none"
    step_size: int | None = Field(default=None, ge=1)  # step: epochs between decays (default epochs // 3)
    gamma: float | None = Field(default=None, gt=0)  # step, plateau: 0.1; exponential: 0.95
    warmup: int = Field(default=0, ge=0)  # cosine: warm-up epochs
    patience: int = Field(default=5, ge=0)  # plateau: epochs without improvement
    min_lr: float = Field(default=0.0, ge=0)  # cosine, flat_cosine: the floor
    flat: float = Field(default=0.5, ge=0, lt=1)  # flat_cosine: share of the epochs at the starting lr


MetricName = Literal[
    "mae",
    "rmse",
    "r2",
    "mape",
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "log_loss",
    "roc_auc",
]
# What a test split is judged on: the metrics of tables and series, and generation's per character.
JudgedMetric = Literal[MetricName, "cross_entropy", "perplexity", "bits_per_char"]


class TrainConfig(_Section):
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"  # the torch.optim optimizer
    lr: float = Field(default=1e-3, gt=0)  # learning rate (the schedule's starting point)
    momentum: float = Field(default=0.9, ge=0, lt=1)  # sgd, rmsprop: momentum
    nesterov: bool = False  # sgd: Nesterov momentum
    batch_size: int = Field(default=64, ge=1)  # rows per gradient step
    epochs: int = Field(default=100, ge=1)  # most passes over the training split
    # auto: picked from the task (cross-entropy for classes, a regression loss for values).
    loss: Literal["auto", "mse", "mae", "huber", "cross_entropy", "bce"] = "auto"
    # classification: balanced weighs classes inversely to their training frequency, or {class: weight}.
    class_weights: Literal["none", "balanced"] | dict[str, float] = "none"
    # classification: the share of each target's probability spread over the other classes
    # (0.1: the true class's target is 0.9 + 0.1 / classes); regularizes overconfident logits.
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)  # L2 penalty (decoupled for adamw)
    l1: float = Field(default=0.0, ge=0)  # L1 penalty on the weights, added to the loss
    clip_grad: float | None = Field(default=None, gt=0)  # clip the gradient norm to this; null = no clipping
    patience: int | None = Field(default=10, ge=1)  # early stopping: epochs without validation gain; null = off
    # What early stopping and the kept epoch rank by: the validation loss, or the validation
    # metric below (train.metric; a search sets it from tune.metric), the loss breaking its ties
    # (a table's init writes loss: it measured better). A plateau schedule follows the loss either way.
    stop_on: Literal["loss", "metric"] = "loss"
    # The validation metric computed each epoch (history's val_metric, what tune.metric: auto
    # optimizes): auto = evaluate.metric's (accuracy, or MAE in the target's units); or any
    # test metric of the task. Early stopping reads it with stop_on: metric.
    metric: Literal["auto", MetricName] = "auto"
    seed: int = 0  # seeds weights, shuffling and dropout: same seed, same run
    device: str = "auto"  # auto: cuda, then mps, then cpu
    threads: Literal["auto"] | int = "auto"  # CPU threads; auto: from the model, batch size and the CPUs free
    checkpoint_every: int = Field(default=1, ge=0)  # epochs between checkpoints (0: only on SIGTERM/SIGINT)
    keep: int = Field(default=2, ge=1)  # newest checkpoints kept, besides the best
    on_nan: Literal["stop", "skip_batch", "reduce_lr"] = "stop"  # what a NaN or inf loss does to training
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)  # or a name: `schedule: cosine`
    accumulate: int = Field(default=1, ge=1)  # batches per optimizer step
    precision: Literal["32", "bf16", "16-mixed"] = "32"  # float32, bfloat16, or float16 mixed precision
    # torch.compile the model; reduce-overhead: also replays each step as a CUDA graph (CUDA only), for
    # small batches whose kernels are shorter than launching them
    compile: bool | Literal["reduce-overhead"] = False
    # Images (4-D inputs) and the model's weights in channels-last memory order, which CUDA's conv
    # kernels (tensor cores) run fastest on; auto: on CUDA for a model with 2-D convolutions.
    channels_last: Literal["auto"] | bool = "auto"
    tensorboard: bool = False  # TensorBoard event files in OUT/tensorboard (pip install tensorboard)

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_name(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


class GatesConfig(_Section):
    """The deploy gate: every check set here must pass for DEPLOY (`layerwise run --gate` exits 4 if not)."""

    # The paired-bootstrap interval of (model - baseline) on the primary metric must exclude
    # zero in the model's favour.
    beat_baseline: bool = True
    # The same against the classical reference (evaluate.reference: gradient-boosted trees for
    # tables, TF-IDF + a linear model for text); refused for a kind without one.
    beat_reference: bool = False
    min: dict[JudgedMetric, float] = Field(default_factory=dict)  # e.g. {accuracy: 0.9}: test value >= bound
    max: dict[JudgedMetric, float] = Field(default_factory=dict)  # e.g. {mae: 100}: test value <= bound
    # A champion bundle folder: the new model must score at least as well on the same test rows.
    compare_to: str | None = None


class ExplainConfig(_Section):
    """What a run explains into RUN/explain/ (evaluate.explain: true takes these defaults)."""

    method: Literal["ig", "saliency", "ablation", "permutation"] = "ig"  # as `layerwise explain --method`
    rows: int | str = 16  # test rows (images) with local attributions: a count, or '0:40'
    steps: int = Field(default=50, ge=1)  # Integrated Gradients steps
    repeats: int = Field(default=10, ge=2)  # permutation importance shuffles per feature (tables, series)


class EvaluateConfig(_Section):
    # The metric that decides "beats the baseline"; auto = mae (regression, forecast),
    # accuracy (classification), cross_entropy per character (generation).
    metric: Literal["auto", JudgedMetric] = "auto"
    # The naive baseline that decides: auto = the training median (metric mae or mape) or mean
    # (rmse, r2), the majority class, or persistence for forecasts; seasonal_naive (forecasts,
    # with season) = the value `season` rows before each forecast step.
    baseline: Literal["auto", "seasonal_naive"] = "auto"
    # Forecasts: the season in rows (7 for a week of daily rows), at most data.window.lookback.
    # Set, seasonal naive is reported beside persistence; it decides with baseline: seasonal_naive.
    season: int | None = Field(default=None, ge=2)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    # The classical reference beside the network: auto = the kind's own (scikit-learn's
    # HistGradientBoosting with defaults for tables, TF-IDF + a linear model for text), fitted on
    # the same training rows and scored on the same test rows; none = no reference.
    reference: Literal["auto", "none"] = "auto"
    # Seconds the reference may take to fit (CPU seconds where the run's second process fits it beside
    # training); past them it is stopped and left out, with a note.
    reference_seconds: float = Field(default=120, gt=0)
    # Resamples of the test rows for the intervals; 0 = none (the gate then judges point estimates).
    bootstrap: int = Field(default=1000, ge=0)
    level: float = Field(default=0.95, gt=0.5, lt=1)  # confidence level of the intervals
    data_curve: bool = False  # retrain on 25/50/75/100% of the training split
    leakage: bool = True  # audit train/test for leakage
    report: bool = True  # write report.html into the run folder
    # Explain the test split into RUN/explain/ before the report, which then shows it:
    # false | true | {method: ig, rows: 16, steps: 50, repeats: 10}. Off by default, as it
    # is not free (benchmarks/explain_speed.py --run-cost, 2 busy CPU cores): ~14% of a small
    # digits run (16 images: IG at 50 steps, the randomization check, the heatmap PNG) and
    # ~30% of a breast_cancer run (permutation importance on every test row dominates).
    # Generation runs explain prompts with `layerwise explain BUNDLE --prompt`, not here.
    explain: bool | ExplainConfig = False


class TuneConfig(_Section):
    """Hyperparameter search (step 7) on Optuna: which settings to try, how, and where to keep the study.

    `space` maps dotted config paths to ranges or choices (layerwise.config.space); each trial
    is the experiment with those paths set, scored on the validation split (or k folds),
    never on the test split.
    """

    method: Literal["grid", "random", "tpe"] = "tpe"  # the sampler: every combination, random, or TPE
    trials: int | None = Field(default=20, ge=1)  # finished trials in the study; grid: None = the whole grid
    timeout: float | None = Field(default=None, gt=0)  # seconds for the whole search
    pruner: Literal["none", "median", "hyperband"] = "median"  # stops trials that fall behind early
    # The objective: `auto` = train.metric, the validation metric computed each epoch (itself
    # auto: evaluate.metric's, so accuracy for classification, MAE in the target's units
    # otherwise); `loss` = the validation loss; or any test metric of the task (f1_macro,
    # roc_auc, r2, ...), each optimized in its own direction. Pruners see it every epoch.
    metric: Literal["auto", "loss", MetricName] = "auto"
    cv: int | None = Field(default=None, ge=2)  # k folds over train+validation (time-ordered for series)
    space: dict[str, Any]  # dotted config path -> a range or a list of choices (required)
    storage: str | None = None  # default sqlite:///OUT/study.db; postgresql://... for many workers
    study: str | None = None  # default: the config file's name
    workers: int = Field(default=1, ge=1)  # local worker processes sharing the study
    heartbeat: int = Field(default=60, ge=1)  # seconds; a trial silent for 2x this is FAIL and retried
    retries: int = Field(default=3, ge=0)  # times a stale (killed) trial is run again
    refit: Literal["train", "train+val"] = "train"  # what the best configuration is retrained on
    seed: int | None = None  # sampler seed; default train.seed

    @field_validator("space")
    @classmethod
    def _space(cls, value: dict[str, Any]) -> dict[str, Any]:
        from .space import Space

        try:
            Space.parse(value)
        except ConfigError as err:
            raise ValueError("; ".join(p.removeprefix("tune.space.") for p in err.problems)) from None
        return value

    @model_validator(mode="after")
    def _grid_is_discrete(self) -> TuneConfig:
        if self.method == "grid" and "space" in self.model_fields_set:
            from .space import Space

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

    @model_validator(mode="after")
    def _fits_the_task(self) -> ExperimentConfig:
        problems = _seasonal_problems(self)
        if self.task.type == "generation" and self.train.metric != "auto":
            problems.append(
                f"train.metric: '{self.train.metric}' is a metric of tables and series; generation "
                "is judged on cross-entropy and its history holds the validation loss (remove the key)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "config") -> ExperimentConfig:
        """Validate a plain dict, raising one ConfigError that lists every problem."""
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{source}: expected a mapping of sections (data, task, model, ...), got {type(raw).__name__}"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            problems = [describe(e, raw, ExperimentConfig) for e in err.errors()]
            # The cross-section check runs only once every field is valid: report it with the rest.
            data, task = raw.get("data"), raw.get("task")
            generation = isinstance(task, dict) and task.get("type") == "generation"
            generation = generation or (isinstance(data, dict) and data.get("image") is not None)  # images: no column
            if (
                isinstance(data, dict)
                and data.get("target") is None
                and not generation
                and MISSING_TARGET not in problems
            ):
                problems.insert(0, MISSING_TARGET)
            raise ConfigError(problems, hint=f"fix the keys above in {source}") from None

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
        """Read a YAML file (safe_load only), apply `--set` overrides, validate.

        A relative `data.path` (and `model.init.from`, `model.init.embedding`, a `model.weights`
        file) is taken relative to the YAML file's folder.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path.resolve()}")
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except YAMLTooLarge as err:
            raise ConfigError(f"{path}: {err}", hint=err.hint) from None
        except yaml.YAMLError as err:
            where = getattr(err, "problem_mark", None)
            line = f" line {where.line + 1}" if where is not None else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', err)})") from None
        raw = {} if raw is None else raw
        if isinstance(raw, dict):
            apply_overrides(raw, overrides or [])
            model = raw.get("model")
            _resolve_relative(raw.get("data"), "path", path.parent)
            init = model.get("init") if isinstance(model, dict) else None
            _resolve_relative(init, "from", path.parent)  # a bundle
            _resolve_relative(init, "embedding", path.parent)  # word vectors
            weights = model.get("weights") if isinstance(model, dict) else None
            if isinstance(weights, str):
                from ..models.backbone import names_a_file  # torch: only where a config names weights

                if names_a_file(weights):  # a backbone's weights file, not none / DEFAULT
                    _resolve_relative(model, "weights", path.parent)
        return cls.from_dict(raw, source=str(path))

    def with_overrides(self, overrides: list[str]) -> ExperimentConfig:
        raw = self.to_dict()
        apply_overrides(raw, overrides)
        return ExperimentConfig.from_dict(raw, source="--set")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# Aliases (*name) may add this many values beyond those written out. A config reuses a block
# a few times at most; nested aliases grow exponentially (9 levels of 9 aliases in 580 bytes
# make 387 million values), and expanding them, even to print one in a message, exhausts memory.
MAX_ALIAS_VALUES = 10_000
# Deeper nesting than this is refused before PyYAML's recursive composer overflows the stack.
MAX_DEPTH = 100


class YAMLTooLarge(Exception):
    """A YAML document that would expand (through aliases) or nest past the limits above."""

    hint = "write the values out, or reuse a block through fewer, un-nested aliases"


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that measures the node graph before building any value from it."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise YAMLTooLarge(f"nested more than {MAX_DEPTH} levels deep (line {line})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        # yaml's Composer.compose_document, checking the anchors before it forgets them
        self.get_event()
        node = self.compose_node(None, None)
        self.get_event()
        expanded = _expanded_sizes(node)
        if expanded[id(node)] - len(expanded) > MAX_ALIAS_VALUES:
            name, anchor = max(self.anchors.items(), key=lambda item: expanded[id(item[1])])
            raise YAMLTooLarge(
                f"its aliases expand to more than {MAX_ALIAS_VALUES:,} values beyond those written out; "
                f"&{name} (line {anchor.start_mark.line + 1}) alone stands for {expanded[id(anchor)]:,} "
                "(nested anchors: a YAML alias bomb?)"
            )
        self.anchors = {}
        return node


def _seasonal_problems(cfg: ExperimentConfig) -> list[str]:
    """evaluate.baseline / evaluate.season where seasonal naive cannot be computed."""
    ev, task = cfg.evaluate, cfg.task.type
    if ev.baseline == "auto" and ev.season is None:
        return []
    if task != "forecast":
        what = (
            "evaluate.baseline: 'seasonal_naive' is"
            if ev.baseline == "seasonal_naive"
            else f"evaluate.season: {ev.season} sets seasonal naive,"
        )
        return [f"{what} a forecast baseline, and task.type is {task} (remove the key, or set task.type: forecast)"]
    if ev.season is None:
        return [
            "evaluate.baseline: 'seasonal_naive' needs evaluate.season, the season in rows "
            "(e.g. 7 for a week of daily rows)"
        ]
    lookback = cfg.data.window.lookback
    if ev.season > lookback:
        return [
            f"evaluate.season: {ev.season} is longer than data.window.lookback {lookback}: each forecast "
            f"window must hold a whole season of history; set data.window.lookback to at least {ev.season}"
        ]
    return []


def load_yaml(text: str) -> Any:
    """yaml.safe_load, refusing alias bombs and deep nesting with YAMLTooLarge."""
    return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader: no Python tags, no code


def _expanded_sizes(root: yaml.Node) -> dict[int, int]:
    """id(node) -> values under it, itself included, once every alias is expanded; one entry per
    distinct node. Counted on the node graph (an alias is a second reference to one node) without
    expanding anything: a bomb's count is a big int, not big data."""
    expanded: dict[int, int] = {}
    inside: set[int] = set()  # the nodes whose subtree is being counted: one met again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, counted = stack.pop()
        children = _children(node)
        if counted:
            inside.discard(id(node))
            expanded[id(node)] = 1 + sum(expanded[id(c)] for c in children)
        elif id(node) in inside:
            raise YAMLTooLarge(f"an alias refers to a value that contains it (line {node.start_mark.line + 1})")
        elif id(node) not in expanded:
            inside.add(id(node))
            stack.append((node, True))
            stack += [(c, False) for c in children]
    return expanded


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _resolve_relative(section: Any, key: str, folder: Path) -> None:
    """A relative path string at `section[key]` made absolute against `folder`, in place."""
    if isinstance(section, dict) and isinstance(section.get(key), str):
        value = Path(section[key]).expanduser()
        if not value.is_absolute():
            section[key] = str((folder / value).resolve())


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """Apply `key.path=value` strings in place; values are parsed as YAML scalars or lists."""
    problems = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"--set {shorten(item)}: expected KEY=VALUE, e.g. --set train.lr=0.01")
            continue
        try:
            value = load_yaml(text) if text.strip() else None
        except YAMLTooLarge as err:
            problems.append(f"--set {cut(key)}: {err}")
            continue
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
