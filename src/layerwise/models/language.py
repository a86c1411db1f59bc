"""Next-token models for generation: token ids -> embedding -> a causal sequence block.

The block (lstm, gru or a causal transformer) keeps every step (`readout: steps`), so one
forward pass scores the next token at every position: (batch, steps) ids in,
(batch, steps, vocab) logits out. A bidirectional or non-causal block would see the token
it must predict, so those are refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .block import Block
from .registry import available, get

SEQUENCE_BLOCKS = ("lstm", "gru", "transformer")
DEFAULT_EMBEDDING = 32


class LanguageModel(nn.Module):
    """Embedding (id 0 = padding) followed by a sequence block with a per-step vocab head."""

    def __init__(self, cfg: dict, length: int, vocab_size: int):
        super().__init__()
        block_type = cfg.get("type") or "lstm"
        problems = []
        if block_type not in SEQUENCE_BLOCKS:
            problems.append(f"model.type: generation needs one of {', '.join(SEQUENCE_BLOCKS)}, not '{block_type}'")
        if cfg.get("bidirectional"):
            problems.append("model.bidirectional: a generator must not read ahead; set it to false")
        if block_type == "transformer" and cfg.get("causal") is False:
            problems.append("model.causal: a generator must not attend ahead; set it to true (or leave it unset)")
        if cfg.get("readout") not in (None, "steps"):
            problems.append("model.readout: generation scores every step; leave it unset")
        if problems:
            raise ConfigError(problems)
        self.embedding = int(cfg.get("embedding") or DEFAULT_EMBEDDING)
        self.length, self.vocab_size = length, vocab_size
        body = {k: v for k, v in cfg.items() if k not in ("embedding", "init")}
        body.update(type=block_type, readout="steps")
        if block_type == "transformer":
            body["causal"] = True
        self.embed = nn.Embedding(vocab_size, self.embedding, padding_idx=0)
        block = get(block_type).from_config(body, (length, self.embedding), vocab_size)
        assert isinstance(block, Block)  # lstm, gru and transformer are all Blocks
        self.body = block

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.body(self.embed(ids))  # (batch, steps) -> (batch, steps, embedding) -> (batch, steps, vocab)

    def fit_data(self, x: torch.Tensor) -> None:
        """No data-dependent start: embeddings and layers are drawn (models.init), as a Block's are."""

    def get_config(self) -> dict:
        return {**self.body.get_config(), "embedding": self.embedding}

    def linear_layers(self) -> list[nn.Module]:
        return self.body.linear_layers()


def is_language(cfg: dict) -> bool:
    """A model section of a generation model: it carries an embedding width, and its type is not
    a block that embeds tokens itself (the text encoders, text.py, take `embedding` too).

    Generation bundles hold an lstm, gru or transformer with an embedding; any other type with
    one (say mlp) is a generation section too, so LanguageModel names the types generation takes.
    """
    if cfg.get("embedding") is None:
        return False
    block_type = cfg.get("type") or "lstm"
    return block_type not in available() or not getattr(get(block_type), "embeds_tokens", False)


def build_language(cfg: dict, input_shape: Sequence[int], output_dim: int) -> LanguageModel:
    if len(input_shape) != 1:
        raise ConfigError(
            f"model: a generation model reads (steps,) token ids, got a sample shape {tuple(input_shape)}"
        )
    return LanguageModel(cfg, int(input_shape[0]), output_dim)
