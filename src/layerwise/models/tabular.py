"""The table recipe (`model.type: tabular`): column embeddings, a scaling layer, an MLP with
parametric activations, and a parameter-efficient ensemble of members.

The ideas, from the papers that measured them (no code copied):
  - numeric embeddings (Gorishniy et al., NeurIPS 2022): `periodic`, sin and cos of k learned
    frequencies per column, then a linear map and ReLU (their PLR); `piecewise`, the
    piecewise-linear encoding over quantile bins of the training split, then linear and ReLU;
  - RealMLP-TD (Holzmueller et al., NeurIPS 2024): a learned per-feature scale in front of the
    first dense layer (starting at 1) and parametric activations (prelu); its label smoothing
    and flat-then-cosine schedule are training settings (training/losses.py, schedules.py);
  - TabM (Gorishniy et al., ICLR 2025), its "mini" form: `members` k share every dense weight;
    each has its own multiplicative adapter on the MLP's input (+-1 at the start, so the members
    differ from the first step) and its own head. Training scores every member (the mean of
    their losses, training/losses.py); evaluation averages them.

Our own ~150 lines rather than rtdl_num_embeddings: no new dependency, and the bins come from
this run's training split through `fit_data`, kept as a buffer in the bundle's weights.

A row arrives packed in one float32 vector (data/ `Preprocessor.table_layout`):

    [dense features (D): scaled numeric columns, one-hot, booleans, indicators, date parts | codes (C)]

`model.inputs` = {"dense": D, "numeric": [positions of the scaled numeric columns in 0..D-1],
"categories": [{"name": column, "cardinality": K}, ...]}, set by the run. Unset (your own use
from Python), every value of the row is a numeric column. A category code is 0 (missing or
unseen) or 1..K; it is rounded and clamped to [0, K], so any float is a valid input (ONNX,
explanations' perturbed rows). Dense values that are not numeric columns pass through as they are.

Members' outputs are averaged as raw outputs (logits), not probabilities: raw outputs are what
every task decodes, calibrates and exports, and one forward gives them; for regression the two
are the same, for classification averaging logits is the members' normalized geometric mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import nn

from ..errors import UsageError
from . import block as b
from .activations import make_activation
from .registry import register

NUMERIC_EMBEDDINGS = ("periodic", "piecewise", "none")
FREQUENCIES = 16  # periodic: learned frequencies per numeric column
# periodic: the frequencies' initial spread, c ~ N(0, SIGMA^2). Inputs are scaled to about unit
# spread, so sin(2 pi c x) starts smooth over the data's range; the frequencies are learned.
SIGMA = 0.1
EDGE_PROBABILITY = 0.001  # the default bins span N(0, 1)'s 0.1% to 99.9% quantiles
MIN_BIN = 1e-6  # a bin of repeated quantiles (a discrete column) acts as a step there
INPUTS_PROBLEM = "model.inputs: set by the run from the table's columns"


class ColumnLinear(nn.Module):
    """One linear map per column: (batch, columns, d_in) -> (batch, columns, d_out)."""

    axis = "columns"  # what the first dimension counts, as printed

    def __init__(self, columns: int, d_in: int, d_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(columns, d_in, d_out))
        self.bias = nn.Parameter(torch.empty(columns, d_out))

    def extra_repr(self) -> str:
        count, d_in, d_out = self.weight.shape
        return f"{self.axis}={count}, d_in={d_in}, d_out={d_out}"

    def initialize_own(self, generator: torch.Generator | None) -> None:
        """torch's nn.Linear default, U(-1/sqrt(d_in), 1/sqrt(d_in)), for each column."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound, generator=generator)
        nn.init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bci,cio->bco", x, self.weight) + self.bias


class PeriodicEmbedding(nn.Module):
    """(batch, columns) -> (batch, columns, width): [sin(2 pi c x), cos(2 pi c x)] -> linear -> ReLU."""

    def __init__(self, columns: int, width: int):
        super().__init__()
        self.frequencies = nn.Parameter(torch.empty(columns, FREQUENCIES))
        self.linear = ColumnLinear(columns, 2 * FREQUENCIES, width)

    def extra_repr(self) -> str:
        return f"frequencies={FREQUENCIES}, sigma={SIGMA}"

    def initialize_own(self, generator: torch.Generator | None) -> None:
        nn.init.normal_(self.frequencies, 0.0, SIGMA, generator=generator)
        self.linear.initialize_own(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = 2 * math.pi * self.frequencies * x.unsqueeze(-1)  # (batch, columns, FREQUENCIES)
        return torch.relu(self.linear(torch.cat([torch.sin(z), torch.cos(z)], dim=-1)))


class PiecewiseEmbedding(nn.Module):
    """(batch, columns) -> (batch, columns, width): the piecewise-linear encoding over `bins`
    bins per column -> linear -> ReLU.

    Bin t of a column, edges e_t < e_{t+1}, encodes x as (x - e_t) / (e_{t+1} - e_t) clipped to
    [0, 1]; the first bin is not clipped below and the last not above, so values beyond the
    training range still move the output. `edges` (columns, bins + 1) is a buffer: `fit` sets it
    from data, the state dict (and a bundle) keeps it."""

    edges: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    def __init__(self, columns: int, bins: int, width: int):
        super().__init__()
        self.bins = bins
        self.register_buffer("edges", default_edges(bins).repeat(columns, 1))
        low, high = torch.zeros(bins), torch.ones(bins)
        low[0], high[-1] = -math.inf, math.inf
        self.register_buffer("low", low, persistent=False)
        self.register_buffer("high", high, persistent=False)
        self.linear = ColumnLinear(columns, bins, width)

    def extra_repr(self) -> str:
        return f"bins={self.bins}"

    def initialize_own(self, generator: torch.Generator | None) -> None:
        self.linear.initialize_own(generator)

    def fit(self, x: np.ndarray) -> None:
        """Edges from the quantiles of each column of `x` (rows, columns); NaNs are left out,
        and a column without values keeps the default edges."""
        probabilities = np.linspace(0.0, 1.0, self.bins + 1)
        edges = self.edges.detach().cpu().double().numpy().copy()
        for j in range(x.shape[1]):
            values = x[:, j][np.isfinite(x[:, j])]
            if values.size:
                edges[j] = np.quantile(values, probabilities)
        self.edges.copy_(torch.as_tensor(edges, dtype=self.edges.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.edges[:, :-1]  # (columns, bins)
        width = (self.edges[:, 1:] - left).clamp_min(MIN_BIN)
        encoded = (x.unsqueeze(-1) - left) / width  # (batch, columns, bins)
        encoded = torch.maximum(torch.minimum(encoded, self.high), self.low)
        return torch.relu(self.linear(encoded))


def default_edges(bins: int) -> torch.Tensor:
    """Bin edges before `fit_data`: equal-probability bins of a standard normal (scaled inputs)."""
    normal = NormalDist()  # plain Python: a bundle builds its model on the meta device first
    p = np.linspace(EDGE_PROBABILITY, 1 - EDGE_PROBABILITY, bins + 1)
    return torch.tensor([normal.inv_cdf(float(q)) for q in p], dtype=torch.float32)


class CategoryEmbeddings(nn.Module):
    """Codes (batch, columns) -> (batch, columns * width): one nn.Embedding(K + 1, width) per column."""

    def __init__(self, cardinalities: Sequence[int], width: int):
        super().__init__()
        self.cardinalities = list(cardinalities)
        self.tables = nn.ModuleList(nn.Embedding(k + 1, width) for k in self.cardinalities)

    def initialize_own(self, generator: torch.Generator | None) -> None:
        """U(-1/sqrt(width), 1/sqrt(width)): the spread of the numeric embeddings' linear maps,
        so no kind of column starts louder than another (N(0, 1), torch's default, would)."""
        for table in self.tables:
            weight = cast(nn.Embedding, table).weight
            bound = 1 / math.sqrt(weight.shape[1])
            nn.init.uniform_(weight, -bound, bound, generator=generator)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        codes = torch.where(torch.isnan(codes), torch.zeros_like(codes), codes).round()
        out = []
        for j, (k, table) in enumerate(zip(self.cardinalities, self.tables)):
            out.append(table(codes[:, j].clamp(0, k).long()))  # (batch, width); 0 = missing or unseen
        return torch.cat(out, dim=1)


class InputScaling(nn.Module):
    """RealMLP's scaling layer and TabM's member adapters on the MLP's input:
    (batch, d) -> (batch, d) with one member, (batch, members, d) with more."""

    def __init__(self, width: int, members: int):
        super().__init__()
        self.members = members
        self.scale = nn.Parameter(torch.ones(width))
        self.adapters = nn.Parameter(torch.ones(members, width)) if members > 1 else None

    def extra_repr(self) -> str:
        return f"width={self.scale.numel()}, members={self.members}"

    def initialize_own(self, generator: torch.Generator | None) -> None:
        """Scale 1; each adapter entry +1 or -1 at random (TabM's random signs)."""
        nn.init.ones_(self.scale)
        if self.adapters is not None:
            signs = torch.empty_like(self.adapters).bernoulli_(0.5, generator=generator)
            self.adapters.copy_(2 * signs - 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h * self.scale
        if self.adapters is None:
            return h
        return h.unsqueeze(1) * self.adapters  # (batch, members, d)


class MemberHeads(ColumnLinear):
    """Each member's own Linear head: (batch, members, width) -> (batch, members, out);
    one member: (batch, width) -> (batch, out). A ColumnLinear over members instead of columns."""

    axis = "members"

    def __init__(self, members: int, width: int, out: int):
        super().__init__(members, width, out)
        self.members = members

    def initialize_own(self, generator: torch.Generator | None) -> None:
        """Xavier-normal with gain 1 per member (a head: no activation follows), biases zero."""
        _, width, out = self.weight.shape
        nn.init.normal_(self.weight, 0.0, math.sqrt(2.0 / (width + out)), generator=generator)
        nn.init.zeros_(self.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.members == 1:
            return h @ self.weight[0] + self.bias[0]
        return super().forward(h)


@register("tabular")
class Tabular(b.Block):
    """Rows of a table: embeddings of numeric and categorical columns, a scaling layer, dense
    layers (Linear -> activation -> dropout) shared by `members`, each member its own head.

    In training mode with members > 1 the output is (batch, members, output_dim), one prediction
    per member; in eval mode (batch, output_dim), their mean."""

    embeds_tokens: ClassVar[bool] = True  # models/language.py: its `embedding` is a column's, not a generator's
    reads_table: ClassVar[bool] = True  # model.inputs is the table's layout; its categories are embedded codes
    # Defaults measured with a plain Trainer (AdamW 2e-3, batch 256, flat_cosine, early stopping):
    # test RMSE on a 20,000 x 20 synthetic regression with thresholds and interactions (noise
    # 0.3), RMSE on scikit-learn's diabetes (mean of 3 seeds), accuracy on a 20,000 x 20
    # make_classification; time of an epoch against these defaults (one core):
    #   mlp [256]*3 (dropout 0.1)                0.686  59.3  0.951  0.17x
    #   these defaults                           0.345  56.9  0.951  1x (~1 s at 14,000 rows)
    #   numeric_embedding none                   0.548                0.9x
    #   numeric_embedding piecewise              0.364  58.8  0.936   1x
    #   members 1                                0.352  56.9  0.953   0.24x
    #   members 4, hidden [128]*3                0.344  57.6  0.952   0.67x
    #   hidden [128]*3                                  57.6  0.953   1.4x
    #   embedding 16                             0.344  57.8  0.953   1.4x
    #   dropout 0                                0.343  57.5  0.953   0.8x
    # The periodic embeddings are what beats the plain MLP; members add a little at a cost in
    # proportion (every dense layer sees batch x members rows), hence 8 members of [128, 128].
    # members 32 gave 56.7 on diabetes at 6x the time. A linear map shared by all columns'
    # frequencies ("lite") scored worse (0.948 accuracy; diabetes 58.2) and was not faster, so
    # each column has its own.
    defaults = {
        "inputs": None,
        "numeric_embedding": "periodic",
        "embedding": 8,
        "bins": 16,
        "hidden": [128, 128],
        "activation": "prelu",
        "dropout": 0.1,
        "members": 8,
    }
    example_config: ClassVar[dict[str, Any]] = {
        "inputs": {
            "dense": 5,
            "numeric": [0, 1, 3],
            "categories": [{"name": "city", "cardinality": 4}, {"name": "shop", "cardinality": 2}],
        }
    }
    example_input_shape = (5 + 2,)

    numeric_index: torch.Tensor
    other_index: torch.Tensor

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        inputs: Any = None,
        numeric_embedding: str = "periodic",
        embedding: int = 8,
        bins: int = 16,
        hidden: Sequence[int] = (128, 128),
        activation: str = "prelu",
        dropout: float = 0.1,
        members: int = 8,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.inputs = inputs
        self.numeric_embedding, self.embedding, self.bins = numeric_embedding, embedding, bins
        self.hidden = list(hidden) if isinstance(hidden, (list, tuple)) else hidden
        self.activation, self.members = activation, members
        number = isinstance(dropout, (int, float)) and not isinstance(dropout, bool)
        self.dropout = float(dropout) if number else dropout
        self._check(self.input_shape, output_dim)

        if inputs is None:  # your own rows: every value is a numeric column
            self.dense, self.numeric, self.cardinalities = self.input_shape[0], list(range(self.input_shape[0])), []
        else:
            self.inputs = {
                "dense": inputs["dense"],
                "numeric": list(inputs["numeric"]),
                "categories": [dict(c) for c in inputs["categories"]],
            }
            self.dense, self.numeric = inputs["dense"], sorted(inputs["numeric"])
            self.cardinalities = [c["cardinality"] for c in inputs["categories"]]
        embedded = self.numeric if numeric_embedding != "none" else []
        others = [i for i in range(self.dense) if i not in set(embedded)]
        self.register_buffer("numeric_index", torch.tensor(embedded, dtype=torch.long), persistent=False)
        self.register_buffer("other_index", torch.tensor(others, dtype=torch.long), persistent=False)

        self.numbers: nn.Module | None = None  # (batch, N) -> (batch, N, embedding)
        if embedded and numeric_embedding == "periodic":
            self.numbers = PeriodicEmbedding(len(embedded), embedding)
        elif embedded:
            self.numbers = PiecewiseEmbedding(len(embedded), bins, embedding)
        self.categories = CategoryEmbeddings(self.cardinalities, embedding) if self.cardinalities else None
        width = len(others) + (len(embedded) + len(self.cardinalities)) * embedding
        self.scaling = InputScaling(width, members)
        layers: list[nn.Module] = []
        for h in self.hidden:  # each works on the last dim: (batch, [members,] width)
            layers += [nn.Linear(width, h), make_activation(activation, h)]
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = MemberHeads(members, width, output_dim)

    def fit_data(self, x: torch.Tensor) -> None:
        """The piecewise embedding's bin edges from the training rows `x` (n, D + C): each numeric
        column's quantiles. Other settings take nothing from the data."""
        if not isinstance(self.numbers, PiecewiseEmbedding):
            return
        if x.dim() != 2 or x.shape[1] != self.input_shape[0]:
            raise UsageError(
                f"fit_data: the tabular block reads rows of {self.input_shape[0]} values, got shape {tuple(x.shape)}",
                hint="pass the training split's inputs, (rows, features), as the model takes them",
            )
        columns = x.detach()[:, self.numeric_index.to(x.device)].to("cpu", torch.float64).numpy()
        self.numbers.fit(columns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.is_floating_point():  # integer rows (the Trainer keeps them for a model with embeddings)
            x = x.to(self.scaling.scale.dtype)
        parts = []  # each (batch, some width)
        if self.other_index.numel():
            parts.append(x.index_select(1, self.other_index))
        if self.numbers is not None:
            parts.append(self.numbers(x.index_select(1, self.numeric_index)).flatten(1))  # (batch, N * embedding)
        if self.categories is not None:
            parts.append(self.categories(x[:, self.dense :]))  # (batch, C * embedding)
        h = self.body(self.scaling(torch.cat(parts, dim=1)))  # (batch, [members,] hidden[-1])
        out = self.head(h)  # (batch, members, output_dim) or (batch, output_dim)
        if self.members > 1 and not self.training:
            return out.mean(dim=1)
        return out

    def _problems(self) -> list[str]:
        shape = (
            []
            if len(self.input_shape) == 1
            else [
                f"model.type: tabular reads rows (features,), got a sample shape {self.input_shape}; "
                "use it on tables (task rows)"
            ]
        )
        problems = (
            shape
            + (inputs_problems(self.inputs, self.input_shape) if self.inputs is not None and not shape else [])
            + b.choice("numeric_embedding", self.numeric_embedding, NUMERIC_EMBEDDINGS)
            + b.positive("embedding", self.embedding)
            + b.positive("bins", self.bins)
            + b.widths("hidden", self.hidden, "[128, 128]", allow_empty=True)
            + b.activation(self.activation)
            + b.fraction("dropout", self.dropout)
            + b.positive("members", self.members)
        )
        return problems

    @classmethod
    def example_input(cls, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rows for tests: N(0, 1) numeric columns, 0/1 elsewhere in the dense part, valid codes."""
        layout = cls.example_config["inputs"]
        dense = torch.randint(0, 2, (batch, layout["dense"]), generator=generator).float()
        dense[:, layout["numeric"]] = torch.randn(batch, len(layout["numeric"]), generator=generator)
        codes = [torch.randint(0, c["cardinality"] + 1, (batch, 1), generator=generator) for c in layout["categories"]]
        return torch.cat([dense, *[c.float() for c in codes]], dim=1)  # (batch, D + C)


def inputs_problems(inputs: Any, input_shape: Sequence[int]) -> list[str]:
    """Problems with a `model.inputs` table layout, and with the sample shape it must match."""
    if not isinstance(inputs, dict) or set(inputs) != {"dense", "numeric", "categories"}:
        return [
            f"{INPUTS_PROBLEM}; expected {{'dense': D, 'numeric': [positions], 'categories': [...]}}, got {inputs!r}"
        ]
    dense, numeric, categories = inputs["dense"], inputs["numeric"], inputs["categories"]
    if not b.is_int(dense) or dense < 0:
        return [f"{INPUTS_PROBLEM}; 'dense' {dense!r} must be a count of features, 0 or more"]
    problems = []
    ok = isinstance(numeric, list) and all(b.is_int(i) and 0 <= i < dense for i in numeric)
    if not ok or len(set(numeric)) < len(numeric):
        problems.append(f"{INPUTS_PROBLEM}; 'numeric' {numeric!r} must list distinct positions in 0..{dense - 1}")
    if not isinstance(categories, list):
        return [*problems, f"{INPUTS_PROBLEM}; 'categories' {categories!r} must be a list"]
    for i, c in enumerate(categories):
        fine = (
            isinstance(c, dict)
            and set(c) == {"name", "cardinality"}
            and isinstance(c["name"], str)
            and c["name"] != ""
            and b.is_int(c["cardinality"])
            and c["cardinality"] >= 1
        )
        if not fine:
            problems.append(f"{INPUTS_PROBLEM}; categories[{i}] {c!r} must be {{'name': column, 'cardinality': >= 1}}")
    names = [c["name"] for c in categories if isinstance(c, dict) and "name" in c]
    if len(set(names)) < len(names):
        problems.append(f"{INPUTS_PROBLEM}; category column names {names} repeat")
    if not problems and tuple(input_shape) != (dense + len(categories),):
        problems.append(
            f"{INPUTS_PROBLEM}; its layout takes rows of {dense + len(categories)} values (dense {dense} + "
            f"{len(categories)} category codes), but the data gives samples of shape {tuple(input_shape)}"
        )
    return problems
