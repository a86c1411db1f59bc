"""Tables with free-text columns: classification and regression read from text and the other columns.

cleaned table (text columns declared in data.columns or found in the first rows) -> random /
stratified / time-ordered split -> Preprocessor fitted on the training rows, a tokenizer per
text column among its transforms (data/tokenize.py) -> one float32 row per input: the scaled
features, then each text's token ids -> a text encoder block (models/text.py) -> judged beside
the majority class or the training median / mean, and beside the classical reference: TF-IDF
+ logistic regression or ridge fitted on the same training rows (evaluation/classical.py).

Everything a table does the same way (outputs, the predictions table, predict, evaluate) is
the rows kind's, asked through the registry: this module says only what text changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import Split
from ..errors import ConfigError, needs_extra
from .base import Head, Prepared, Task, TaskInfo
from .common import (
    TOKENIZER_KEYS,
    changed_text_keys,
    clean_frame,
    explicit,
    image_data,
    read_frame,
    reads_text,
    reference_problems,
    table_problems,
    text_columns,
)
from .registry import get, register
from .rows import prepare_rows

# The text encoders (models/text.py); a run with text columns and model.type unset takes the first.
TEXT_MODELS = ("text_bag", "text_cnn", "text_gru", "text_lstm", "text_transformer")
# Keys of data.text that generation reads and a table's text columns do not.
GENERATION_KEYS = ("mode", "chunk", "max_length")


@register
class Text(Task):
    name = "text"
    types = ("classification", "regression")
    unit = "rows"
    phrase = "text columns"
    reference_modules = ("layerwise.evaluation.classical", "sklearn.linear_model", "sklearn.feature_extraction.text")
    audits = True

    def claims(self, cfg: Any, data: Any) -> bool:
        return cfg.task.type in ("auto", *self.types) and not image_data(cfg, data) and bool(text_columns(cfg, data))

    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        return task.type in self.types and reads_text(preprocessing)

    def refused(self, cfg: Any) -> list[str]:
        problems = table_problems(cfg)
        if cfg.data.stream.enabled is True:
            problems.append("data.stream.enabled: text columns are read in memory; a streamed table holds no text")
        problems += [
            f"data.text.{key}: reads a text file for generation; a table's text columns take "
            f"{', '.join(TOKENIZER_KEYS)}"
            for key in changed_text_keys(cfg, GENERATION_KEYS)
        ]
        if cfg.model.inputs is not None:
            problems.append("model.inputs: set by the run from the data's text columns; remove it")
        if cfg.data.encode == "embed":
            problems.append("data.encode: 'embed' needs model.type tabular, which reads no text; remove it")
        return problems + reference_problems(cfg, has_reference=True)

    def read(self, cfg: Any, data: Any, log: Any) -> pd.DataFrame:
        return read_frame(cfg, data)

    def describe(self, source: pd.DataFrame, name: str, kind: str) -> str:
        return f"read {name}: {len(source)} rows, {source.shape[1]} columns; task {kind}, with text columns"

    def check(self, cfg: Any, source: pd.DataFrame, name: str) -> str:
        with needs_extra("text", instead="or set data.clean.drop_text: true to leave the text out"):
            import tokenizers  # noqa: F401  Hugging Face tokenizers: the `text` extra
        problems = []
        if explicit(cfg, "model.type") and cfg.model.type not in TEXT_MODELS:
            problems.append(
                f"model.type: '{cfg.model.type}' reads no text; a table with text columns "
                f"({', '.join(text_columns(cfg, source))}) takes one of {', '.join(TEXT_MODELS)}"
            )
        vectors = cfg.model.word_vectors
        if vectors is not None and not Path(vectors).is_file():
            problems.append(f"model.init.embedding: no such file {vectors} (tried {Path(vectors).resolve()})")
        try:
            kind = get("rows").check(cfg, source, name)
        except ConfigError as err:
            raise ConfigError([*problems, *err.problems], hint=err.hint) from None
        if problems:
            raise ConfigError(
                problems,
                hint="to read the table without its text, set data.clean.drop_text: true, or list the text "
                "columns in data.drop",
            )
        return kind

    def prepare(self, cfg: Any, source: pd.DataFrame, kind: str, name: str, parts: Split | None = None) -> Prepared:
        declared = {column: "text" for column in text_columns(cfg, source)}
        df, kinds, cleaning = clean_frame(cfg, source, kind, name, declared=declared)
        prepared = prepare_rows(cfg, df, kinds, kind, name, parts)
        prepared.cleaning = cleaning
        texts = [c for c, k in kinds.items() if k == "text"]
        prepared.notes.insert(0, f"text read from {', '.join(texts)} ({cfg.data.text.tokenizer} tokens)")
        return prepared

    def refit(self, cfg: Any, prepared: Prepared, parts: Split) -> Prepared:
        refitted = prepare_rows(cfg, prepared.table, prepared.kinds, prepared.task.type, "data", parts)
        refitted.cleaning = prepared.cleaning
        return refitted

    def head(self, cfg: Any, prepared: Prepared) -> Head:
        head = get("rows").head(cfg, prepared)
        model: dict[str, Any] = {"inputs": prepared.features.layout}
        if not explicit(cfg, "model.type"):
            model["type"] = TEXT_MODELS[0]
        vectors = cfg.model.word_vectors
        if (
            vectors is not None
            and cfg.model.embedding is None
            and model.get("type", cfg.model.type) != "text_transformer"
        ):
            from ..models.vectors import vector_width

            model["embedding"] = vector_width(vectors)  # the file's width, unless the config names one
        return Head(head.output_dim, head.loss, model)

    def initialize(self, cfg: Any, prepared: Prepared, module: Any, log: Any) -> dict[str, Any]:
        """Token embeddings started from model.init.embedding's word vectors, matched by token; the coverage."""
        vectors = cfg.model.word_vectors
        if vectors is None:
            return {}
        from ..models.vectors import fill_embeddings

        pre = prepared.features
        vocabularies = {t["name"]: pre.tokenizer(t["name"]).vocab for t in pre.layout["texts"]}
        coverage = fill_embeddings(module, vocabularies, vectors, lowercase=cfg.data.text.lowercase)
        for column, found in coverage.items():
            log.write(
                f"model.init.embedding: {found['found']} of {found['tokens']} tokens of '{column}' found in "
                f"{Path(vectors).name} ({found['coverage']:.0%}); the others start at random"
            )
        return {"embedding": coverage}

    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        return get("rows").outputs(model, prepared, part)

    def reference(self, prepared: Prepared, evaluate: Any, part: str = "test") -> Any:
        """TF-IDF + a linear model fitted on the training rows, its regularization chosen on validation."""
        if evaluate.reference == "none":
            return {}
        from ..evaluation.classical import TEXT_REFERENCE, ReferenceFit, as_text

        pre, frame, task = prepared.features, prepared.table, prepared.task
        dense = pre.layout["dense"]
        columns = [t["name"] for t in pre.layout["texts"]]

        def texts(rows: np.ndarray) -> dict[str, list[str]]:
            return {c: [as_text(v) for v in frame[c].iloc[rows].tolist()] for c in columns}

        train, val, test = prepared.index["train"], prepared.index["val"], prepared.index[part]
        return ReferenceFit(
            "text",
            TEXT_REFERENCE[task.type],
            (
                task.type,
                (texts(train), prepared.x["train"][:, :dense], np.asarray(prepared.actual["train"])),
                (texts(test), prepared.x[part][:, :dense]),
            ),
            {
                "val": (texts(val), prepared.x["val"][:, :dense], np.asarray(prepared.actual["val"])),
                "classes": task.n_classes,
                "seconds": evaluate.reference_seconds,
            },
        )

    def baseline_fit(self, prepared: Prepared) -> dict[str, Any]:
        return get("rows").baseline_fit(prepared)

    def watched(self, cfg: Any, prepared: Prepared) -> str | None:
        return get("rows").watched(cfg, prepared)

    def validation_metric(self, model: Any, prepared: Prepared, compute: Any):
        return get("rows").validation_metric(model, prepared, compute)

    def class_weights(self, cfg: Any, prepared: Prepared) -> list[float] | None:
        return get("rows").class_weights(cfg, prepared)

    def augmentation(self, settings: dict[str, Any], prepared: Prepared) -> Any:
        return get("rows").augmentation(settings, prepared)  # jitter: the numeric columns only, never token ids

    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        return get("rows").table(prepared, model_out, baseline_out)

    def summary(self, prepared: Prepared) -> dict[str, Any]:
        summary = get("rows").summary(prepared)
        pre = prepared.features
        summary["text"] = {
            t["name"]: {
                "tokenizer": pre.tokenizer(t["name"]).kind,
                "vocabulary": t["vocab"],
                "length": t["length"],
            }
            for t in pre.layout["texts"]
        }
        return summary

    def audit(self, prepared: Prepared) -> Any:
        return get("rows").audit(prepared)

    def champion_outputs(self, champion: Any, prepared: Prepared, path: str) -> np.ndarray:
        return get("rows").champion_outputs(champion, prepared, path)

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        return get("rows").decode(model, raw, last)

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        return get("rows").predict(model, frame, source)

    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        return get("rows").rejudge(model, data, source, progress)  # its note names the bundle's reference
