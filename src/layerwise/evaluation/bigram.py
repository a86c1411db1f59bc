"""The bigram baseline for generation, and per-character losses to compare it with a model.

The bigram model predicts each character from the one before it alone, with counts from
the training examples and add-one smoothing. A network that cannot beat it has learned
nothing beyond which letter tends to follow which.
"""

from __future__ import annotations

import numpy as np


class Bigram:
    """P(next | previous) from training counts, add-one smoothed over the possible next tokens."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.log_probs: np.ndarray | None = None   # (vocab, vocab): row previous, column next

    def fit(self, inputs: np.ndarray, targets: np.ndarray) -> Bigram:
        """Count (input id, target id) pairs of (n, steps) arrays, ignoring padding targets (0)."""
        counts = np.zeros((self.vocab_size, self.vocab_size))
        mask = targets != 0
        np.add.at(counts, (inputs[mask], targets[mask]), 1.0)
        counts[:, 1:] += 1.0  # add-one over every token that can follow (never <pad>)
        self.log_probs = np.log(counts / counts.sum(axis=1, keepdims=True), where=counts > 0,
                                out=np.full_like(counts, -np.inf))
        return self

    def token_losses(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of each target token, (n, steps); 0 where the target is padding."""
        nll = -self.log_probs[inputs, targets]
        return np.where(targets != 0, nll, 0.0)

    def to_dict(self) -> dict:
        return {"vocab_size": self.vocab_size, "log_probs": self.log_probs.tolist()}


def per_char(losses: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood per predicted token (characters and the end mark), in nats."""
    count = int((targets != 0).sum())
    return float(losses.sum() / max(count, 1))


def generation_metrics(losses: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    ce = per_char(losses, targets)
    return {"cross_entropy": ce, "perplexity": float(np.exp(ce)), "bits_per_char": ce / float(np.log(2))}


def paired_interval(model: np.ndarray, baseline: np.ndarray, targets: np.ndarray, *, samples: int = 1000,
                    level: float = 0.95, seed: int = 0) -> dict[str, list[float]]:
    """Bootstrap over test examples of per-char cross-entropy: model, baseline, model - baseline."""
    rng = np.random.default_rng(seed)
    counts = (targets != 0).sum(axis=1).astype(np.float64)     # (n,) tokens per example
    m, b = model.sum(axis=1), baseline.sum(axis=1)              # (n,) summed losses per example
    idx = rng.integers(0, len(counts), size=(samples, len(counts)))
    denom = counts[idx].sum(axis=1)
    ce_m, ce_b = m[idx].sum(axis=1) / denom, b[idx].sum(axis=1) / denom
    tail = (1 - level) / 2 * 100

    def bounds(values: np.ndarray) -> list[float]:
        return [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]

    return {"model": bounds(ce_m), "baseline": bounds(ce_b), "difference": bounds(ce_m - ce_b)}
