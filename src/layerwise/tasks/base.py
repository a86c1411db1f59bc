"""What a kind of problem is: the Task contract, and what it hands the rest of a run.

A Task is the only code that knows what is special about its kind (rows of a table, a
forecast, images, text generation). A run asks it, in this order (experiment/run.py):

    refused(cfg)                   settings this kind cannot honour -> ConfigError before any work
    read(cfg, data, log)           the raw data (a table, images, examples)
    check(cfg, source, name)       the config against the data, every problem at once -> task type
    prepare(cfg, source, ...)      clean, split, fit transforms on train only -> Prepared
    head(cfg, prepared)            output width and loss (may reshape prepared.y)
    outputs(model, prepared, part) the network's and the naive baseline's outputs, in target units
    reference(prepared, evaluate)  the classical reference's fit, started before training
    judged(...)                    what `evaluation.judge` needs beside them (baseline name, block, ...)
    table / summary / extra_metrics / baseline_fit     predictions.csv, the data section, metrics.json
    rejudge(model, data, source)   a saved bundle judged on new labelled data (`layerwise evaluate`)
    decode(model, raw, last)       raw outputs -> predictions (the Predictor asks this)

Tasks are final classes sharing helpers as functions (tasks/common.py), never through
inheritance beyond this contract. `model` is the run's Predictor (bundle/predictor.py),
passed in, never imported: tasks sit below bundle/. The kinds import evaluation/ (scikit-learn)
and torch inside the methods that judge and train: a Predictor asks its Task to decode where
only NumPy and onnxruntime are installed (packages/layerwise-onnx).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError


@dataclass
class TaskInfo:
    """What is predicted, from which columns; saved in the bundle's spec.json."""

    type: str  # classification | regression | forecast | generation
    target: str
    features: list[str]  # input columns, in the user's names
    time: str | None = None
    lookback: int = 0
    horizon: int = 1
    classes: list[Any] = field(default_factory=list)
    delimiter: str = ","

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@dataclass
class Prepared:
    """A run's data after step 3: model-space arrays per split, and what judging needs."""

    task: TaskInfo
    # split name -> model inputs: arrays, or data.images.LazyImages for images read from disk
    x: dict[str, Any]
    y: dict[str, np.ndarray]  # split name -> model targets (codes, scaled values or next ids)
    actual: dict[str, np.ndarray]  # split name -> targets in original units or class codes
    rows: dict[str, int]  # rows, windows, images or examples per split
    features: Any = None  # data.Preprocessor (rows)
    target: Any = None  # data.TargetEncoder (rows, images)
    series: Any = None  # data.SeriesTransform (forecast)
    last: dict[str, np.ndarray] = field(default_factory=dict)  # forecast: last observed value
    index: dict[str, np.ndarray] = field(default_factory=dict)  # split name -> its rows' positions in `frame`
    ends: dict[str, np.ndarray] = field(default_factory=dict)  # forecast: each window's last input row, in `index`
    # forecast: each part's target in original units, row by row (what seasonal naive looks back on)
    target_raw: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    images: Any = None  # images: the fitted data.images.ImagePreprocessor
    files: dict[str, list[str]] = field(default_factory=dict)  # images read from a folder: each split's files
    vocabulary: Any = None  # text: the data.Vocabulary fitted on train
    examples: dict[str, list[str]] = field(default_factory=dict)  # text: each split's examples
    frame: pd.DataFrame | None = field(default=None, repr=False)  # the cleaned table `index` points into
    kinds: dict[str, str] = field(default_factory=dict)  # column -> kind, as cleaning read them
    cleaning: Any = None  # the data.CleaningLog of the run (metrics.json's `cleaning`)

    @property
    def table(self) -> pd.DataFrame:
        """The cleaned table `index` points into (rows, forecast, images' labels)."""
        if self.frame is None:
            raise ValueError(f"this {self.task.type} data has no table: its Task keeps none")
        return self.frame


@dataclass
class Head:
    """The network's output for a kind: width, and the loss (a registered name or a module)."""

    output_dim: int
    loss: Any
    model: dict[str, Any] = field(default_factory=dict)  # model.* defaults this kind needs (e.g. an embedding)


class Task(ABC):
    """One kind of problem. Subclasses are final and registered with `@register`."""

    name: ClassVar[str]  # the registry's key: rows, forecast, images, text
    types: ClassVar[tuple[str, ...]]  # the task.type values it answers
    unit: ClassVar[str] = "rows"  # what a split counts, in messages
    phrase: ClassVar[str] = ""  # the kind in a message ("image folders"); its name when left empty
    streams: ClassVar[bool] = False  # data.stream: trains on a table larger than memory
    curve_order: ClassVar[str] = "random"  # which training rows the data curve keeps: random or recent
    # what its `reference` fit imports: a run's second process imports them while the network trains
    reference_modules: ClassVar[tuple[str, ...]] = ()
    audits: ClassVar[bool] = False  # `audit` returns a leakage audit to run

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.phrase = cls.phrase or getattr(cls, "name", "")

    @abstractmethod
    def claims(self, cfg: Any, data: Any) -> bool:
        """Whether this run is of this kind (the registry asks each task in turn)."""

    @abstractmethod
    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        """Whether a bundle with this spec task and preprocessing state was trained as this kind."""

    def refused(self, cfg: Any) -> list[str]:
        """`key: why` for each setting this kind cannot honour; checked before any data is read."""
        return []

    @abstractmethod
    def read(self, cfg: Any, data: Any, log: Any) -> Any:
        """The raw data of the run (from `data` when given, else data.path)."""

    @abstractmethod
    def check(self, cfg: Any, source: Any, name: str) -> str:
        """The config against the data: ConfigError listing every problem, else the task type."""

    @abstractmethod
    def prepare(self, cfg: Any, source: Any, kind: str, name: str, parts: Any = None) -> Prepared:
        """Clean and split (or use `parts`, tuning's folds), fit every transform on the training split only."""

    @abstractmethod
    def head(self, cfg: Any, prepared: Prepared) -> Head:
        """Output width and loss; may reshape prepared.y to what the loss wants."""

    @abstractmethod
    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """The network's and the deciding baseline's outputs on one split, in the target's own terms."""

    def initialize(self, cfg: Any, prepared: Prepared, module: Any, log: Any) -> dict[str, Any]:
        """Weights this kind starts from its data (model.init.embedding: word vectors for token embeddings),
        after the model is built; what it did, for metrics.json. A kind without tokens refuses the key."""
        if cfg.model.word_vectors is not None:
            raise ConfigError(
                f"model.init.embedding: word vectors start the embeddings of text columns; {self.phrase} have none",
                hint="remove model.init.embedding",
            )
        return {}

    def judged(self, prepared: Prepared, evaluate: Any, part: str = "test") -> dict[str, Any]:
        """`evaluation.judge`'s keyword arguments beyond the arrays (baseline_name, beside, block), by the
        run's evaluate section (config.schema.EvaluateConfig)."""
        return {}

    def reference(self, prepared: Prepared, evaluate: Any, part: str = "test") -> Any:
        """The classical reference beside the baseline (evaluate.reference), judged on `part`: an
        evaluation.classical.ReferenceFit that a run starts before training (in a second process where it
        has one: experiment/offload.py), or judge's keywords where there is none to fit
        ({"reference_missing": why}, or {} for a kind without one)."""
        return {}

    def baseline_fit(self, prepared: Prepared) -> dict[str, Any]:
        """What the baseline learned from the training split, saved so a bundle can be re-judged."""
        return {}

    def extra_metrics(
        self, model: Any, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray, cfg: Any
    ) -> dict[str, Any]:
        """metrics.json entries only this kind has (per-step errors, samples, ...)."""
        return {}

    @abstractmethod
    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        """The test split's predictions table (predictions.csv)."""

    @abstractmethod
    def summary(self, prepared: Prepared) -> dict[str, Any]:
        """The report's data section."""

    def feed(self, cfg: Any, prepared: Prepared, device: Any) -> Any:
        """A data/image_loader.Feed that training reads batches from (Trainer.fit_stream), or None
        to train on the arrays in `prepared.x`."""
        return None

    def digest(self, prepared: Prepared) -> str | None:
        """The sha256 standing for the training data in a resume's fingerprint, where hashing the
        arrays of `prepared.x` would not do (None: they are hashed)."""
        return None

    def audit(self, prepared: Prepared) -> Any:
        """The leakage audit (evaluate.leakage) where this kind has one: an evaluation.leakage.Audit, which a
        run starts before training (in its second process where it has one); [] (no warnings) otherwise."""
        return []

    def watched(self, cfg: Any, prepared: Prepared) -> str | None:
        """The metric each epoch computes on the validation split (train.metric), or None for the loss only."""
        return None

    def validation_metric(self, model: Any, prepared: Prepared, compute: Any):
        """metric(y_pred, y_true) -> float on the validation split each epoch, `compute` being train.metric's
        batched function (evaluation.batched); None where this kind watches its loss only."""
        return None

    def describe(self, source: Any, name: str, kind: str) -> str:
        """The run log's line on what was read."""
        return f"read {name}; task {kind}"

    def augmentation(self, settings: dict[str, Any], prepared: Prepared) -> Any:
        """The training batches' augmentation (data.augment, active) for this kind, or None."""
        return None

    def mixing(self, settings: dict[str, Any] | None, prepared: Prepared) -> Any:
        """The training batches' blending of inputs with their labels (data.augment mixup, cutmix)
        for this kind, or None."""
        return None

    def class_weights(self, cfg: Any, prepared: Prepared) -> list[float] | None:
        """Per-class loss weights (train.class_weights) where this kind has classes."""
        return None

    def gap(self, cfg: Any) -> int:
        """Rows left out between a time-ordered training part and the part after it (data.split.gap)."""
        return cfg.data.split.gap or 0

    def refit(self, cfg: Any, prepared: Prepared, parts: Any) -> Prepared:
        """The same cleaned data split as `parts` (tuning's k folds)."""
        raise ConfigError(
            f"tune.cv: k-fold validation is for tables and series; {self.name} are tuned on their validation split",
            hint="remove tune.cv",
        )

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """Predictions for every row of a table, beside its columns (`Predictor.predict`)."""
        raise DataError(f"a {model.task.type} bundle of {self.name} does not predict rows of a table")

    def champion_outputs(self, champion: Any, prepared: Prepared, path: str) -> np.ndarray:
        """A champion bundle's outputs on the same test rows (evaluate.gates.compare_to)."""
        raise ConfigError(
            f"evaluate.gates.compare_to: not supported for {self.name} yet",
            hint="remove evaluate.gates.compare_to, or compare the two runs' metrics.json by hand",
        )

    @abstractmethod
    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        """A bundle judged on new labelled data: {"y", "model_out", "baseline_out", "table", "judged", "notes",
        "metrics"} (metrics: entries added to metrics.json)."""

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        """Module outputs -> predictions in the target's units: (n, outputs) floats, or class codes."""
        return model.target.decode(raw).reshape(len(raw), -1)
