"""The generation task: from a text file to a next-character model judged against a bigram.

    read examples -> random split -> vocabulary fitted on train -> padded id arrays
    -> embedding + causal sequence block -> per-character cross-entropy on the test split
    beside a bigram baseline fitted on train, with a paired bootstrap interval -> samples
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import ExperimentConfig
from ..data import Vocabulary, read_examples, split
from ..errors import ConfigError
from ..evaluation import diagnose
from ..evaluation.bigram import Bigram, generation_metrics, paired_interval
from ..models import build
from ..models.init import scheme_of
from ..bundle.predictor import Predictor, TaskInfo
from ..training.runlog import RunLog
from ..training import Trainer
from ..training.freeze import transfer

if TYPE_CHECKING:
    from ..experiment.run import Result

SAMPLES = 200          # drawn after training to measure novelty
TEMPERATURE = 0.8


class SequenceCrossEntropy(nn.Module):
    """Mean next-token cross-entropy over every non-padding position of (batch, steps, vocab) logits."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0)


@dataclass
class TextData:
    vocab: Vocabulary
    steps: int                                   # input ids per example: <s> + up to max_length chars
    x: dict[str, np.ndarray]                     # split -> (n, steps) input ids
    y: dict[str, np.ndarray]                     # split -> (n, steps) next ids, 0 = padding
    examples: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.x.items()}


def prepare_text(cfg: ExperimentConfig) -> TextData:
    """Split the examples at random, fit the vocabulary on train, encode every split."""
    data = cfg.data
    if data.path is None:
        raise ConfigError("data.path: required key is missing (a text file for generation)")
    examples = read_examples(data.path, mode=data.text.mode, chunk=data.text.chunk)
    parts = split(len(examples), method="random", train=data.split.train, val=data.split.val,
                  test=data.split.test, seed=cfg.train.seed)
    chosen = {name: [examples[i] for i in getattr(parts, name)] for name in ("train", "val", "test")}
    vocab = Vocabulary.fit(chosen["train"])
    max_length = data.text.max_length or max(len(e) for e in chosen["train"])
    length = max_length + 2                      # <s> text </s>
    notes, x, y = [], {}, {}
    for name, items in chosen.items():
        kept = [e for e in items if not vocab.unknown(e)]
        if len(kept) < len(items):
            # characters never seen in training cannot be scored; say how many examples that cost
            notes.append(f"{name}: {len(items) - len(kept)} examples with characters absent from training left out")
        cut = sum(len(e) > max_length for e in kept)
        if cut:
            notes.append(f"{name}: {cut} examples longer than {max_length} characters cut")
        ids = vocab.encode(kept, length, source=f"{data.path} ({name})")
        x[name], y[name] = ids[:, :-1], ids[:, 1:]
        chosen[name] = kept
    return TextData(vocab, length - 1, x, y, chosen, notes)


def run_generation(cfg: ExperimentConfig, log: RunLog) -> tuple[Predictor, Trainer, pd.DataFrame]:
    """Train and judge a generator; returns the predictor (metrics set), trainer and test table."""
    text = prepare_text(cfg)
    log.write(f"read {cfg.data.path}: {sum(text.rows.values())} examples, {len(text.vocab) - 3} characters; "
              f"task generation")
    for note in text.notes:
        log.write(f"split: {note}")
    log.write("split: " + ", ".join(f"{k} {v}" for k, v in text.rows.items()) + " examples")
    if cfg.model.type not in ("lstm", "gru", "transformer"):
        raise ConfigError(f"model.type: generation needs lstm, gru or transformer, not '{cfg.model.type}'")
    model_cfg = {**cfg.model.model_dump(), "embedding": cfg.model.embedding or 32}
    torch.manual_seed(cfg.train.seed)
    module = build(model_cfg, (text.steps,), len(text.vocab))
    transferred = transfer(module, model_cfg["init"], log.write)  # model.init.from / freeze
    resolved = {**module.get_config(), "init": scheme_of(model_cfg["init"])}
    task = TaskInfo(type="generation", target="text", features=[], lookback=text.steps)
    predictor = Predictor(task, module, model={"config": resolved, "input_shape": [text.steps],
                                               "output_dim": len(text.vocab)},
                          vocabulary=text.vocab, config=cfg.to_dict())
    t = cfg.train
    has_val = len(text.x["val"]) > 0
    trainer = Trainer(
        module, loss=SequenceCrossEntropy(), optimizer=t.optimizer, lr=t.lr, momentum=t.momentum,
        nesterov=t.nesterov, batch_size=t.batch_size, epochs=t.epochs, weight_decay=t.weight_decay, l1=t.l1,
        clip_grad=t.clip_grad, patience=t.patience if has_val else None, seed=t.seed, device=t.device,
        threads=t.threads, callbacks=[*log.callbacks(), *transferred], quiet=log.quiet,
    )
    trainer.fit(text.x["train"], text.y["train"], text.x["val"] if has_val else None,
                text.y["val"] if has_val else None)
    module.to("cpu")
    log.write(f"training: {len(trainer.history)} epochs" +
              (f"; best validation loss at epoch {trainer.best_epoch}" if trainer.best_epoch else ""))
    predictor.metrics, table = judge_generation(predictor, text, cfg)
    restored = trainer.best_epoch is not None and t.patience is not None and has_val
    predictor.metrics.update(best_epoch=trainer.best_epoch, epochs=len(trainer.history),
                             diagnosis=diagnose(trainer.history, restored=restored).to_dict(), leakage=[])
    return predictor, trainer, table


def judge_generation(predictor: Predictor, text: TextData, cfg: ExperimentConfig) -> tuple[dict[str, Any], pd.DataFrame]:
    """Per-character cross-entropy of the network and the bigram on the same test examples."""
    x, y = text.x["test"], text.y["test"]
    model_losses = token_losses(predictor, x, y)
    bigram = Bigram(len(text.vocab)).fit(text.x["train"], text.y["train"])
    base_losses = bigram.token_losses(x, y)
    test, base = generation_metrics(model_losses, y), generation_metrics(base_losses, y)
    ci = paired_interval(model_losses, base_losses, y, samples=max(cfg.evaluate.bootstrap, 1),
                         level=cfg.evaluate.level, seed=cfg.train.seed)
    beats = test["cross_entropy"] < base["cross_entropy"]
    shown_better = ci["difference"][1] < 0
    figures = (f"test cross-entropy {test['cross_entropy']:.4f} vs {base['cross_entropy']:.4f} nats per "
               f"character for the bigram baseline; difference {test['cross_entropy'] - base['cross_entropy']:+.4f}, "
               f"{cfg.evaluate.level:.0%} interval [{ci['difference'][0]:+.4f}, {ci['difference'][1]:+.4f}]")
    finding = f"The network {'beats' if beats else 'does NOT beat'} the bigram baseline: {figures}."
    verdict = "DEPLOY" if shown_better else "DO NOT DEPLOY"
    low, high = ci["difference"]
    if shown_better:
        reason = "better than the bigram baseline: the interval of the difference lies below zero"
    elif low > 0:
        reason = "worse than the bigram baseline: the interval of the difference lies above zero"
    else:
        reason = "not shown better than the bigram baseline: the interval of the difference includes zero"
    samples = predictor.generate(SAMPLES, temperature=TEMPERATURE, seed=cfg.train.seed)
    seen = set(text.examples["train"])
    novel = sum(s not in seen for s in samples) / len(samples)
    metrics = {
        "task": "generation", "primary_metric": "cross_entropy", "test": test, "baseline": base,
        "baseline_name": "the bigram baseline", "beats_baseline": bool(beats), "finding": finding,
        "verdict": verdict, "reasons": [reason], "headline": f"{verdict}: {reason}: {figures}.",
        "ci": {"level": cfg.evaluate.level, "samples": cfg.evaluate.bootstrap, "block": 1,
               "method": "paired bootstrap over test examples",
               "model": {"cross_entropy": ci["model"]}, "baseline": {"cross_entropy": ci["baseline"]},
               "difference": {"cross_entropy": ci["difference"]}},
        "rows": text.rows, "notes": text.notes,
        "cleaning": {"rows_in": sum(text.rows.values()), "rows_out": sum(text.rows.values()), "entries": []},
        "samples": samples[:20], "novel_share": novel, "temperature": TEMPERATURE,
        "vocabulary": text.vocab.tokens[3:],
    }
    metrics["per_position"] = {"model": _by_position(model_losses, y), "baseline": _by_position(base_losses, y)}
    counts = (y != 0).sum(axis=1)
    table = pd.DataFrame({
        "text": text.examples["test"], "characters": counts,
        "model_cross_entropy": model_losses.sum(axis=1) / np.maximum(counts, 1),
        "baseline_cross_entropy": base_losses.sum(axis=1) / np.maximum(counts, 1),
    })
    return metrics, table


def _by_position(losses: np.ndarray, targets: np.ndarray) -> list[float]:
    """Mean loss at each position over the examples that reach it."""
    reached = (targets != 0).sum(axis=0)
    keep = reached > 0
    return (losses.sum(axis=0)[keep] / reached[keep]).tolist()


def token_losses(predictor: Predictor, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of each next id under the network, (n, steps); 0 at padding."""
    if len(x) == 0:
        return np.zeros(y.shape)
    logits = torch.as_tensor(predictor.raw_outputs(x), dtype=torch.float64)       # (n, steps, vocab)
    nll = -torch.log_softmax(logits, dim=-1).gather(-1, torch.as_tensor(y)[..., None])[..., 0]
    return torch.where(torch.as_tensor(y) != 0, nll, torch.zeros_like(nll)).numpy()
