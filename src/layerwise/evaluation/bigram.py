"""The bigram baseline for generation: per-character losses to compare a model with.

The bigram model predicts each character from the one before it alone, with counts from
the training examples and add-one smoothing. A network that cannot beat it has learned
nothing beyond which letter tends to follow which. Both sets of losses are judged by
`layerwise.evaluation.judge("generation", ...)`.
"""

from __future__ import annotations

import numpy as np


class Bigram:
    """P(next | previous) from training counts, add-one smoothed over the possible next tokens."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.log_probs: np.ndarray | None = None  # (vocab, vocab): row previous, column next

    def fit(self, inputs: np.ndarray, targets: np.ndarray) -> Bigram:
        """Count (input id, target id) pairs of (n, steps) arrays, ignoring padding targets (0)."""
        counts = np.zeros((self.vocab_size, self.vocab_size))
        mask = targets != 0
        np.add.at(counts, (inputs[mask], targets[mask]), 1.0)
        counts[:, 1:] += 1.0  # add-one over every token that can follow (never <pad>)
        self.log_probs = np.log(
            counts / counts.sum(axis=1, keepdims=True), where=counts > 0, out=np.full_like(counts, -np.inf)
        )
        return self

    def _fitted(self, method: str) -> np.ndarray:
        if self.log_probs is None:  # the same guard as Preprocessor's: a caller's ordering slip
            raise RuntimeError(f"Bigram.{method} called before fit")
        return self.log_probs

    def token_losses(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of each target token, (n, steps); 0 where the target is padding."""
        nll = -self._fitted("token_losses")[inputs, targets]
        return np.where(targets != 0, nll, 0.0)

    def to_dict(self) -> dict:
        return {"vocab_size": self.vocab_size, "log_probs": self._fitted("to_dict").tolist()}
