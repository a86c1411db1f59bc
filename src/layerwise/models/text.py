"""Text encoders: the token ids of one or more text columns, read beside the table's other features.

A run packs each row into one float32 vector, so the Trainer, the bundle, serving and ONNX all
keep a plain (batch, features) matrix:

    [dense features (F) | text 1's ids (L1) | text 2's ids (L2) | ...]

Ids are exact integers stored as floats: 0 is padding (after the last token), 1 unknown; an id
outside the vocabulary reads as unknown, so perturbed inputs (explanations) stay valid. The
layout arrives as `model.inputs` = {"dense": F, "texts": [{"name", "length", "vocab"}, ...]}.
Each text column has its own embedding (`token_embeddings()`, id 0 = padding) and its own
encoder; the dense features and every text's encoding are concatenated and fused by dense
layers (mlp.py) before a Linear head.

    text_bag          mean or max of the token embeddings (fastText-like, Joulin et al. 2017)
    text_cnn          1-D convs, then masked max or mean pooling (Kim 2014)
    text_gru/lstm     recurrent layers; bidirectional reads each text both ways
    text_transformer  pre-norm encoder with positions; padding masked out of attention

Padding never changes an answer: embeddings are zero where padding is, pooling counts real
tokens only, each conv's output is zeroed at padding again (a stacked conv would otherwise read
what its neighbour computed there), a recurrent layer's backward direction starts at each
text's own last token, and attention never attends to padding. A text with no tokens encodes
as zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import nn

from . import block as b
from .activations import make_activation
from .mlp import MLP
from .positions import POSITIONS
from .registry import register
from .transformer import encoder_stack

PAD, UNKNOWN = 0, 1
POOLED_READOUTS = ("mean", "max")
RECURRENT_READOUTS = ("last", "mean", "max")
INPUTS_PROBLEM = "model.inputs: set by the run from the data's text columns"


@dataclass(frozen=True)
class TextInput:
    """One text column's slice of the packed row: ids at [offset, offset + length)."""

    name: str
    offset: int
    length: int
    vocab: int


def inputs_problems(inputs: Any, input_shape: Sequence[int]) -> list[str]:
    """Problems with a `model.inputs` layout, and with the sample shape it must match."""
    if inputs is None:
        return [f"{INPUTS_PROBLEM}; this model section has none (a text model needs a table with text columns)"]
    if not isinstance(inputs, dict) or set(inputs) != {"dense", "texts"}:
        return [f"{INPUTS_PROBLEM}; expected {{'dense': F, 'texts': [...]}}, got {inputs!r}"]
    problems = []
    dense, texts = inputs["dense"], inputs["texts"]
    if not b.is_int(dense) or dense < 0:
        problems.append(f"{INPUTS_PROBLEM}; 'dense' {dense!r} must be a count of features, 0 or more")
    if not isinstance(texts, list) or not texts:
        return [*problems, f"{INPUTS_PROBLEM}; 'texts' {texts!r} must list at least one text column"]
    for i, text in enumerate(texts):
        ok = (
            isinstance(text, dict)
            and set(text) == {"name", "length", "vocab"}
            and isinstance(text["name"], str)
            and text["name"] != ""
            and b.is_int(text["length"])
            and text["length"] >= 1
            and b.is_int(text["vocab"])
            and text["vocab"] >= 2
        )
        if not ok:
            problems.append(
                f"{INPUTS_PROBLEM}; texts[{i}] {text!r} must be {{'name': column, 'length': >= 1, 'vocab': >= 2}}"
            )
    names = [t["name"] for t in texts if isinstance(t, dict) and "name" in t]
    if len(set(names)) < len(names):
        problems.append(f"{INPUTS_PROBLEM}; text column names {names} repeat")
    if not problems:
        width = dense + sum(t["length"] for t in texts)
        if tuple(input_shape) != (width,):
            problems.append(
                f"{INPUTS_PROBLEM}; its layout takes rows of {width} values (dense {dense} + token ids "
                f"{' + '.join(str(t['length']) for t in texts)}), but the data gives samples of shape "
                f"{tuple(input_shape)}"
            )
    return problems


def layout(inputs: dict) -> tuple[int, list[TextInput]]:
    """The dense width and each text's slice, from a checked `model.inputs`."""
    dense = int(inputs["dense"])
    texts, offset = [], dense
    for t in inputs["texts"]:
        texts.append(TextInput(t["name"], offset, int(t["length"]), int(t["vocab"])))
        offset += int(t["length"])
    return dense, texts


def pool(h: torch.Tensor, mask: torch.Tensor, readout: str) -> torch.Tensor:
    """Mean or max over the real steps: (batch, steps, width), (batch, steps) -> (batch, width);
    zeros for a text without tokens."""
    if readout == "max":
        pooled = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        return pooled.masked_fill(~mask.any(1, keepdim=True), 0.0)
    count = mask.sum(1, keepdim=True).clamp(min=1).to(h.dtype)  # (batch, 1)
    return (h * mask.unsqueeze(-1).to(h.dtype)).sum(1) / count


class TextBlock(b.Block):
    """What every text encoder shares: the layout, one embedding per text column, the fusion."""

    embeds_tokens: ClassVar[bool] = True  # models/language.py: an `embedding` here is not a generator's
    example_config: ClassVar[dict[str, Any]] = {
        "inputs": {
            "dense": 3,
            "texts": [{"name": "review", "length": 7, "vocab": 30}, {"name": "title", "length": 4, "vocab": 15}],
        }
    }
    example_input_shape = (3 + 7 + 4,)

    inputs: Any
    dropout: Any
    hidden: Any
    activation: str
    readout: str
    fusion: MLP

    def _setup(self, inputs: Any, input_shape: Sequence[int], output_dim: int) -> None:
        """Store the layout and check every setting (before any layer is built)."""
        self.input_shape = tuple(input_shape)
        self.inputs = inputs
        self._check(self.input_shape, output_dim)
        self.inputs = {"dense": inputs["dense"], "texts": [dict(t) for t in inputs["texts"]]}  # plain, ours
        self.dense, self.texts = layout(self.inputs)

    def _embeddings(self, width: int) -> None:
        self.embeddings = nn.ModuleList(nn.Embedding(t.vocab, width, padding_idx=PAD) for t in self.texts)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()

    def _fusion(self, encoded: int, hidden: Sequence[int], output_dim: int) -> None:
        """Dense layers over [dense features, each text's encoding], then the head."""
        width = self.dense + encoded * len(self.texts)
        self.fusion = MLP((width,), list(hidden), output_dim, activation=self.activation, dropout=self.dropout)

    @property
    def head(self) -> nn.Linear:
        return self.fusion.head

    def token_embeddings(self) -> dict[str, nn.Embedding]:
        """Each text column's embedding, by column name (explanations, pretrained vectors)."""
        return {t.name: cast(nn.Embedding, e) for t, e in zip(self.texts, self.embeddings)}

    def tokens(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each text's ids (batch, length) and mask of real tokens (batch, length), from packed rows."""
        out = []
        for t in self.texts:
            ids = x[:, t.offset : t.offset + t.length].round().long()  # (batch, length)
            ids = torch.where((ids >= 0) & (ids < t.vocab), ids, torch.full_like(ids, UNKNOWN))
            out.append((ids, ids != PAD))
        return out

    def embed(self, i: int, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(batch, length) ids -> (batch, length, width) vectors, zero at padding."""
        h = self.embeddings[i](ids)
        return self.drop(h * mask.unsqueeze(-1).to(h.dtype))  # the table's own dtype (a half model stays half)

    def fuse(self, x: torch.Tensor, encodings: list[torch.Tensor]) -> torch.Tensor:
        """[dense (batch, F), each (batch, encoded)] -> (batch, output_dim)."""
        return self.fusion(torch.cat([x[:, : self.dense], *encodings], dim=1))

    def _common_problems(self) -> list[str]:
        return (
            inputs_problems(self.inputs, self.input_shape)
            + b.widths("hidden", self.hidden, "[64]")
            + b.activation(self.activation)
            + b.fraction("dropout", self.dropout)
        )

    @classmethod
    def example_input(cls, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rows for tests: dense N(0, 1) features, then texts of random lengths (row 0 empty, row 1 full)."""
        dense, texts = layout(cls.example_config["inputs"])
        parts = [torch.randn(batch, dense, generator=generator)]
        for t in texts:
            lengths = torch.randint(0, t.length + 1, (batch, 1), generator=generator)
            lengths[0], lengths[1:2] = 0, t.length
            ids = torch.randint(1, t.vocab, (batch, t.length), generator=generator)
            parts.append((ids * (torch.arange(t.length) < lengths)).float())  # right padding
        return torch.cat(parts, dim=1)  # (batch, F + sum of lengths)


def _float(value: Any) -> Any:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _list(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


@register("text_bag")
class TextBag(TextBlock):
    """The mean (or max) of each text's token embeddings: fast, and a strong baseline.

    Dropout 0.3 by default, here and in text_cnn: token embeddings are most of the parameters and
    few rows see each token (Kim 2014 used 0.5); on the Debian descriptions benchmark 0.3 gave
    +0.02 to +0.03 test accuracy over 0.1 in each of four seeds (benchmarks/text_classification.py)."""

    defaults = {
        "inputs": None,
        "embedding": 64,
        "readout": "mean",
        "hidden": [64],
        "activation": "relu",
        "dropout": 0.3,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        inputs: Any = None,
        embedding: int = 64,
        readout: str = "mean",
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
        dropout: float = 0.3,
    ):
        super().__init__()
        self.embedding, self.readout, self.hidden = embedding, readout, _list(hidden)
        self.activation, self.dropout = activation, _float(dropout)
        self._setup(inputs, input_shape, output_dim)
        self._embeddings(embedding)
        self._fusion(embedding, self.hidden, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encodings = [pool(self.embed(i, ids, mask), mask, self.readout) for i, (ids, mask) in enumerate(self.tokens(x))]
        return self.fuse(x, encodings)  # each encoding (batch, embedding)

    def _problems(self) -> list[str]:
        return (
            self._common_problems()
            + b.positive("embedding", self.embedding)
            + b.choice("readout", self.readout, POOLED_READOUTS)
        )


@register("text_cnn")
class TextCNN(TextBlock):
    """Stacked 1-D convs over each text's embeddings ('same' padding), then max or mean pooling."""

    defaults = {
        "inputs": None,
        "embedding": 64,
        "channels": [64],
        "kernel_size": 3,
        "readout": "max",
        "hidden": [64],
        "activation": "relu",
        "dropout": 0.3,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        inputs: Any = None,
        embedding: int = 64,
        channels: Sequence[int] = (64,),
        kernel_size: int = 3,
        readout: str = "max",
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
        dropout: float = 0.3,
    ):
        super().__init__()
        self.embedding, self.channels, self.kernel_size = embedding, _list(channels), kernel_size
        self.readout, self.hidden, self.activation, self.dropout = readout, _list(hidden), activation, _float(dropout)
        self._setup(inputs, input_shape, output_dim)
        self._embeddings(embedding)
        convs = []
        for _ in self.texts:
            width, stack = embedding, []
            for c in self.channels:
                stack.append(nn.Conv1d(width, c, kernel_size, padding=kernel_size // 2))
                width = c
            convs.append(nn.ModuleList(stack))
        self.convs = nn.ModuleList(convs)
        self.act = make_activation(activation)
        self._fusion(self.channels[-1], self.hidden, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encodings = []
        for i, (ids, mask) in enumerate(self.tokens(x)):
            keep = mask.unsqueeze(1).to(torch.float32)  # (batch, 1, length)
            h = self.embed(i, ids, mask).transpose(1, 2)  # (batch, embedding, length)
            for conv in cast(nn.ModuleList, self.convs[i]):
                h = self.act(conv(h)) * keep  # (batch, channels[j], length), zero at padding
            encodings.append(pool(h.transpose(1, 2), mask, self.readout))  # (batch, channels[-1])
        return self.fuse(x, encodings)

    def _problems(self) -> list[str]:
        problems = (
            self._common_problems()
            + b.positive("embedding", self.embedding)
            + b.widths("channels", self.channels, "[64]")
            + b.positive("kernel_size", self.kernel_size)
            + b.choice("readout", self.readout, POOLED_READOUTS)
        )
        if b.is_int(self.kernel_size) and self.kernel_size % 2 == 0:
            problems.append(
                f"model.kernel_size: {self.kernel_size} must be odd, so a conv centres on its token; "
                f"use {self.kernel_size + 1}"
            )
        return problems


def reverse_within(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first `length` steps in reverse order, padding left where it is; its own inverse.

    (batch, steps, width), (batch, 1) -> (batch, steps, width)
    """
    steps = torch.arange(h.shape[1], device=h.device).unsqueeze(0)  # (1, steps)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (batch, steps)
    return h.gather(1, index.unsqueeze(-1).expand(-1, -1, h.shape[2]))


class _TextRecurrent(TextBlock):
    """Recurrent layers over each text, then `last`, `mean` or `max` over its real tokens.

    Padding is not packed away (pack_padded_sequence does not survive ONNX export), and it need
    not be: the forward direction's state at a real token never depends on the padding after it,
    and the backward direction runs as a second forward-only layer over each text reversed within
    its own length, so it too starts at the real last token. `last` reads the forward state at
    the last real token and the backward state at the first.
    """

    cell: ClassVar[type[nn.LSTM] | type[nn.GRU]]
    defaults = {
        "inputs": None,
        "embedding": 64,
        "hidden": [64],
        "bidirectional": True,
        "readout": "max",
        "activation": "relu",
        "dropout": 0.1,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        inputs: Any = None,
        embedding: int = 64,
        hidden: Sequence[int] = (64,),
        bidirectional: bool = True,
        readout: str = "max",
        activation: str = "relu",
        dropout: float = 0.1,
    ):
        super().__init__()
        self.embedding, self.hidden, self.bidirectional = embedding, _list(hidden), bidirectional
        self.readout, self.activation, self.dropout = readout, activation, _float(dropout)
        self._setup(inputs, input_shape, output_dim)
        self._embeddings(embedding)
        directions = 2 if bidirectional else 1
        forward, backward = [], []
        for _ in self.texts:
            width, ahead, behind = embedding, [], []
            for h in self.hidden:
                ahead.append(self.cell(width, h, batch_first=True))
                if bidirectional:
                    behind.append(self.cell(width, h, batch_first=True))
                width = h * directions
            forward.append(nn.ModuleList(ahead))
            backward.append(nn.ModuleList(behind))
        self.forward_layers, self.backward_layers = nn.ModuleList(forward), nn.ModuleList(backward)
        # one dense layer of the last recurrent width fuses the texts with the dense features
        self._fusion(self.hidden[-1] * directions, [self.hidden[-1]], output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encodings = []
        for i, (ids, mask) in enumerate(self.tokens(x)):
            lengths = mask.sum(1, keepdim=True)  # (batch, 1): right padding, so the real tokens come first
            keep = mask.unsqueeze(-1).to(torch.float32)
            h = self.embed(i, ids, mask)  # (batch, length, embedding)
            behind = cast(nn.ModuleList, self.backward_layers[i])
            for j, ahead in enumerate(cast(nn.ModuleList, self.forward_layers[i])):
                if j:
                    h = self.drop(h)
                out, _ = ahead(h)  # (batch, length, hidden[j])
                if self.bidirectional:
                    back, _ = behind[j](reverse_within(h, lengths))
                    out = torch.cat([out, reverse_within(back, lengths)], dim=2)  # (batch, length, 2 * hidden[j])
                h = out * keep
            if self.readout == "last":
                width = self.hidden[-1]
                at = (lengths - 1).clamp(min=0).unsqueeze(-1).expand(-1, 1, width)  # (batch, 1, hidden[-1])
                last = h[:, :, :width].gather(1, at).squeeze(1)  # the forward state at the last real token
                if self.bidirectional:
                    last = torch.cat([last, h[:, 0, width:]], dim=1)  # the backward one at the first
                encodings.append(last * mask.any(1, keepdim=True).to(last.dtype))
            else:
                encodings.append(pool(h, mask, self.readout))
        return self.fuse(x, encodings)

    def _problems(self) -> list[str]:
        return (
            self._common_problems()
            + b.positive("embedding", self.embedding)
            + b.flag("bidirectional", self.bidirectional)
            + b.choice("readout", self.readout, RECURRENT_READOUTS)
        )


@register("text_gru")
class TextGRU(_TextRecurrent):
    """Gated recurrent units over each text (Cho et al. 2014)."""

    cell = nn.GRU


@register("text_lstm")
class TextLSTM(_TextRecurrent):
    """Long short-term memory over each text (Hochreiter & Schmidhuber 1997)."""

    cell = nn.LSTM


@register("text_transformer")
class TextTransformer(TextBlock):
    """Token embeddings of width d_model plus positions, a pre-norm Transformer encoder per text,
    masked mean or max pooling. `activation` serves the feed-forward and the fused layers."""

    defaults = {
        "inputs": None,
        "d_model": 64,
        "heads": 4,
        "layers": 2,
        "positions": "learned",
        "readout": "mean",
        "hidden": [64],
        "activation": "relu",
        "dropout": 0.1,
    }

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        inputs: Any = None,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        positions: str = "learned",
        readout: str = "mean",
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
        dropout: float = 0.1,
    ):
        super().__init__()
        self.d_model, self.heads, self.layers, self.positions = d_model, heads, layers, positions
        self.readout, self.hidden, self.activation, self.dropout = readout, _list(hidden), activation, _float(dropout)
        self._setup(inputs, input_shape, output_dim)
        self._embeddings(d_model)
        self.position = nn.ModuleList(POSITIONS[positions](t.length, d_model) for t in self.texts)
        encoders = [encoder_stack(d_model, heads, layers, self.dropout, activation) for _ in self.texts]
        self.encoders = nn.ModuleList(encoders)
        self._fusion(d_model, self.hidden, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encodings = []
        for i, (ids, mask) in enumerate(self.tokens(x)):
            h = self.drop(self.position[i](self.embeddings[i](ids) * mask.unsqueeze(-1).to(torch.float32)))
            # an empty text would leave attention nothing to attend to (softmax over no keys is NaN):
            # such a row attends to its position 0 instead; pooling still counts no tokens, so it encodes as zeros
            first = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0) == 0  # (1, length)
            keys = mask | (first & ~mask.any(1, keepdim=True))  # (batch, length)
            h = self.encoders[i](h, src_key_padding_mask=~keys)  # (batch, length, d_model)
            encodings.append(pool(h, mask, self.readout))
        return self.fuse(x, encodings)

    def _problems(self) -> list[str]:
        problems = (
            self._common_problems()
            + b.positive("d_model", self.d_model)
            + b.positive("heads", self.heads)
            + b.positive("layers", self.layers)
            + b.choice("positions", self.positions, POSITIONS)
            + b.choice("readout", self.readout, POOLED_READOUTS)
        )
        if not problems and self.d_model % self.heads:
            problems.append(
                f"model.heads: {self.heads} heads do not divide model.d_model {self.d_model}; "
                f"use heads in {[d for d in range(1, min(self.d_model, 16) + 1) if self.d_model % d == 0]}"
            )
        return problems
