"""Text generation: from a text file to a next-character model judged against a bigram.

read examples -> random split -> vocabulary fitted on train -> padded id arrays
-> embedding + causal sequence block -> per-character cross-entropy on the test split
beside a bigram baseline fitted on train, with a paired bootstrap interval -> samples
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data import CleaningLog, Split, Vocabulary, read_examples, split
from ..errors import ConfigError, DataError
from .base import Head, Prepared, Task, TaskInfo
from .common import (
    augment_problems,
    declared_problems,
    finish,
    image_data,
    parts_of,
    reference_problems,
    table_key_problems,
    text_key_problems,
)
from .registry import register

SAMPLES = 200  # drawn after training to measure novelty
TEMPERATURE = 0.8
BLOCKS = ("lstm", "gru", "transformer")  # the causal sequence blocks a generator is built of


@register
class Generation(Task):
    name = "generation"
    types = ("generation",)
    unit = "examples"
    phrase = "generation"

    def claims(self, cfg: Any, data: Any) -> bool:
        return cfg.task.type == "generation" and not image_data(cfg, data)

    def owns(self, task: TaskInfo, preprocessing: Any) -> bool:
        return task.type == "generation"

    def refused(self, cfg: Any) -> list[str]:
        """What a next-character model cannot honour, each named (a key left at its default passes)."""
        problems = augment_problems(cfg, "text")  # generation trains on text as it is
        settings = {
            "data.time": (cfg.data.time, None, "examples have no time column"),
            "data.features": (cfg.data.features, None, "the examples are the input"),
            "data.split.method": (cfg.data.split.method, ("auto", "random"), "examples are split at random"),
            "data.split.gap": (cfg.data.split.gap, (None, 0), "examples are split at random"),
            "data.transform": (cfg.data.transform, "none", "it applies to forecasting only"),
            "train.class_weights": (cfg.train.class_weights, "none", "characters are not weighted classes"),
            "evaluate.season": (cfg.evaluate.season, None, "it applies to forecasting only"),
            "evaluate.baseline": (cfg.evaluate.baseline, "auto", "the baseline of generation is the bigram"),
            "train.label_smoothing": (cfg.train.label_smoothing, 0.0, "it trains on the characters as they are"),
            "train.stop_on": (cfg.train.stop_on, "loss", "generation ranks its epochs by the validation loss"),
        }
        for key, (value, honoured, why) in settings.items():
            if value not in (honoured if isinstance(honoured, tuple) else (honoured,)):
                problems.append(f"{key}: {value!r} is not used by text generation ({why}); remove it")
        problems += text_key_problems(cfg, "generation reads characters (data.text.mode, chunk, max_length)")
        problems += declared_problems(cfg, (), "is a column kind; generation reads a text file (remove data.columns)")
        problems += table_key_problems(cfg, "generation reads a text file")
        problems += reference_problems(cfg, False, "text generation")
        if cfg.train.loss not in ("auto", "cross_entropy"):
            problems.append(f"train.loss: '{cfg.train.loss}': generation trains on next-character cross-entropy (auto)")
        if cfg.train.metric not in ("auto", "loss"):
            problems.append(
                f"train.metric: '{cfg.train.metric}': generation watches its validation loss, the "
                "per-character cross-entropy (auto)"
            )
        from ..evaluation.metrics import GENERATION_METRICS

        judged = {
            "evaluate.metric": cfg.evaluate.metric,
            **{
                f"evaluate.gates.{bound}.{name}": name
                for bound in ("min", "max")
                for name in getattr(cfg.evaluate.gates, bound)
            },
        }
        for key, name in judged.items():
            if name not in ("auto", *GENERATION_METRICS):
                problems.append(
                    f"{key}: '{name}' is not a generation metric; generation is judged per character "
                    f"on one of {list(GENERATION_METRICS)}"
                )
        if cfg.evaluate.gates.compare_to is not None:
            problems.append("evaluate.gates.compare_to: not supported for generation yet")
        if cfg.tune is not None and cfg.tune.cv is not None:
            problems.append(
                f"tune.cv: {cfg.tune.cv}: k-fold validation is for tables and series; generation is "
                "tuned on its validation split (remove tune.cv)"
            )
        if cfg.model.type not in BLOCKS:
            problems.append(f"model.type: generation needs lstm, gru or transformer, not '{cfg.model.type}'")
        return problems

    def read(self, cfg: Any, data: Any, log: Any) -> list[str]:
        if data is not None:
            raise ConfigError(
                "data: generation reads a text file (data.path); pass no data= in Python",
                hint="write the examples to a file, one per line, and set data.path",
            )
        if cfg.data.path is None:
            raise ConfigError("data.path: required key is missing (a text file for generation)")
        return read_examples(cfg.data.path, mode=cfg.data.text.mode, chunk=cfg.data.text.chunk)

    def describe(self, source: list[str], name: str, kind: str) -> str:
        return f"read {name}: {len(source)} examples, {len(set(''.join(source)))} characters; task generation"

    def check(self, cfg: Any, source: list[str], name: str) -> str:
        return finish([], "generation")

    def prepare(self, cfg: Any, source: list[str], kind: str, name: str, parts: Split | None = None) -> Prepared:
        """Split the examples at random, fit the vocabulary on train, encode every split."""
        data = cfg.data
        parts = parts or split(
            len(source),
            method="random",
            train=data.split.train,
            val=data.split.val,
            test=data.split.test,
            seed=cfg.train.seed,
        )
        chosen = {part: [source[i] for i in idx] for part, idx in parts_of(parts)}
        vocab = Vocabulary.fit(chosen["train"])
        max_length = data.text.max_length or max(len(e) for e in chosen["train"])
        length = max_length + 2  # <s> text </s>
        notes, x, y = [], {}, {}
        for part, items in chosen.items():
            kept = [e for e in items if not vocab.unknown(e)]
            if len(kept) < len(items):
                # characters never seen in training cannot be scored; say how many examples that cost
                notes.append(f"{part}: {len(items) - len(kept)} examples with characters absent from training left out")
            cut = sum(len(e) > max_length for e in kept)
            if cut:
                notes.append(f"{part}: {cut} examples longer than {max_length} characters cut")
            ids = vocab.encode(kept, length, source=f"{name} ({part})")
            x[part], y[part] = ids[:, :-1], ids[:, 1:]  # (n, steps) each
            chosen[part] = kept
        rows = {k: len(v) for k, v in x.items()}
        task = TaskInfo(type="generation", target="text", features=[], lookback=length - 1)
        return Prepared(
            task,
            x,
            y,
            dict(y),
            rows,
            notes=notes,
            vocabulary=vocab,
            examples=chosen,
            cleaning=CleaningLog(rows_in=sum(rows.values()), rows_out=sum(rows.values())),
        )

    def head(self, cfg: Any, prepared: Prepared) -> Head:
        return Head(len(prepared.vocabulary), "sequence_cross_entropy", model={"embedding": cfg.model.embedding or 32})

    def outputs(self, model: Any, prepared: Prepared, part: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """Per-token negative log-likelihoods (n, steps) of the network and of the bigram fitted on train."""
        from ..evaluation.bigram import Bigram

        x, y = prepared.x[part], prepared.y[part]
        bigram = Bigram(len(prepared.vocabulary)).fit(prepared.x["train"], prepared.y["train"])
        return token_losses(model, x, y), bigram.token_losses(x, y)

    def extra_metrics(
        self, model: Any, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray, cfg: Any
    ) -> dict[str, Any]:
        """Samples and how many are new, the vocabulary, and the loss at each position."""
        y = prepared.y["test"]
        samples = model.generate(SAMPLES, temperature=TEMPERATURE, seed=cfg.train.seed)
        seen = set(prepared.examples["train"])
        return {
            "samples": samples[:20],
            "novel_share": sum(s not in seen for s in samples) / len(samples),
            "temperature": TEMPERATURE,
            "vocabulary": prepared.vocabulary.tokens[3:],
            "per_position": {"model": by_position(model_out, y), "baseline": by_position(baseline_out, y)},
        }

    def table(self, prepared: Prepared, model_out: np.ndarray, baseline_out: np.ndarray) -> pd.DataFrame:
        counts = (prepared.y["test"] != 0).sum(axis=1)
        return pd.DataFrame(
            {
                "text": prepared.examples["test"],
                "characters": counts,
                "model_cross_entropy": model_out.sum(axis=1) / np.maximum(counts, 1),
                "baseline_cross_entropy": baseline_out.sum(axis=1) / np.maximum(counts, 1),
            }
        )

    def summary(self, prepared: Prepared) -> dict[str, Any]:
        return {}

    def decode(self, model: Any, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        return raw.argmax(axis=-1)  # the likeliest next character's id at each step

    def predict(self, model: Any, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        raise DataError("a generation bundle does not predict rows", hint="use `layerwise generate BUNDLE`")

    def rejudge(self, model: Any, data: Any, source: str, progress: bool = False) -> dict[str, Any]:
        raise DataError(
            "a generation bundle is judged by `layerwise run` on its own test examples",
            hint="re-run the experiment on the new text file (data.path) to judge it there",
        )


def by_position(losses: np.ndarray, targets: np.ndarray) -> list[float]:
    """Mean loss at each position over the examples that reach it."""
    reached = (targets != 0).sum(axis=0)
    keep = reached > 0
    return (losses.sum(axis=0)[keep] / reached[keep]).tolist()


def token_losses(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of each next id under the network, (n, steps); 0 at padding."""
    import torch

    if len(x) == 0:
        return np.zeros(y.shape)
    logits = torch.as_tensor(model.raw_outputs(x), dtype=torch.float64)  # (n, steps, vocab)
    nll = -torch.log_softmax(logits, dim=-1).gather(-1, torch.as_tensor(y)[..., None])[..., 0]
    return torch.where(torch.as_tensor(y) != 0, nll, torch.zeros_like(nll)).numpy()
