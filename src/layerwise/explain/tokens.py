"""Text columns: why a row's prediction, per token of each text column, beside its other features.

A text run packs each row as [dense features | text 1's token ids | text 2's ids | ...]
(models/text.py). Ids are not quantities, so no method here ever moves an id to a value between
two ids; each method works where ids have a meaning:

    ig          Captum LayerIntegratedGradients on every text column's embedding layer and on
                an identity layer over the dense features, along one straight path from the
                baseline (the dense features at their training fill values, every token's vector
                at the [PAD] embedding, zero) to the row. A token's attribution is the sum over
                the embedding dimension of its position.
    saliency    gradient × (input − baseline): a token's gradient times its embedding (summed over
                the embedding dimension), a dense feature's gradient times its distance from the
                baseline; the first-order estimate of the same difference, from one gradient.
    ablation    each token replaced by [PAD] alone, each dense feature set to its baseline alone:
                the output's drop.
    permutation (global only) a whole text column shuffled across rows, as the user's column.

The baseline row is the row with every token id [PAD] (no text) and the dense features at the
table's training baseline. A text model also reacts to *where* there are tokens, not only to
which (a conv's bias at each position, a position embedding, a recurrent state): the embedding
path starts from the row's own token positions holding zero vectors, and the step from the
baseline to that start, f(positions) − f(baseline), is the text's `presence`, shared between
the text columns by their Shapley values (exact for one column). For `text_bag` it is zero. So
for ig: dense + tokens + presence = f(x) − f(baseline), up to Captum's integration error, which
the completeness check measures. A text column's attribution as a feature (attributions.csv,
the importance bars) is its tokens' sum plus its presence.

What an explanation of a text run writes, beside the files of any table (explanation.py):

    DIR/tokens.csv            row, column, position, token, start, end, attribution: one line per
                              real token of each explained row (padding dropped); start and end
                              are character offsets into the row's text, as `tokenizer.pieces`
                              gives them, so text[start:end] is the token as written
    DIR/token_importance.csv  column, token, importance, mean, count, rows: mean |attribution| of
                              each token over its occurrences in the explained rows (mean: the
                              signed mean), the TOP_TOKENS largest
    DIR/explain.json          each row also holds "texts" {column: text} and, for ig, "presence"
                              {column: value}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..bundle.predictor import Predictor
from ..errors import needs_extra
from ..models.text import PAD, TextInput, layout
from .attribute import PER_CALL, attribute
from .output import of_predictor

with needs_extra("explain"):
    from captum.attr import LayerGradientXActivation, LayerIntegratedGradients

# The tokens token_importance.csv keeps, most important first.
TOP_TOKENS = 30
TOKEN_COLUMNS = ["row", "column", "position", "token", "start", "end", "attribution"]
IMPORTANCE_COLUMNS = ["column", "token", "importance", "mean", "count", "rows"]


@dataclass
class TokenAttribution:
    values: np.ndarray  # (n, width) model space: dense attributions, then each text's per position (0 at padding)
    presence: np.ndarray  # (n, texts) ig: the effect of the texts' token positions; zeros otherwise
    output: np.ndarray  # (n,) the explained output
    baseline_output: np.ndarray  # (n,) the same at the baseline row; NaN for saliency
    delta: np.ndarray | None  # (n,) ig: everything attributed minus (output - baseline_output)


def text_inputs(predictor: Predictor) -> list[TextInput]:
    """Each text column's slice of the packed row; none for a bundle without text columns."""
    features = predictor.features
    if features is None or features.columns is None:
        return []
    if not any(state["kind"] == "text" for state in features.columns.values()):
        return []
    return layout(features.layout)[1]


class _Split(nn.Module):
    """The model with an identity layer over the dense features, so that Captum reaches them as it
    reaches the embeddings: a layer whose output it can interpolate."""

    def __init__(self, module: nn.Module, dense: int):
        super().__init__()
        self.module, self.dense, self.features = module, dense, nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, width) packed rows
        return self.module(torch.cat([self.features(x[:, : self.dense]), x[:, self.dense :]], dim=1))


def attribute_tokens(
    predictor: Predictor,
    module: nn.Module,
    x: np.ndarray,
    target: np.ndarray,
    *,
    method: str,
    baseline: np.ndarray,
    steps: int = 50,
) -> TokenAttribution:
    """Attribute the explained output of `module` (the bundle's, or a re-initialized copy) at each
    packed row of `x` to its dense features and to each token of its texts."""
    texts = text_inputs(predictor)
    dense = texts[0].offset
    x = np.ascontiguousarray(x, dtype=np.float32)
    base = np.asarray(baseline, dtype=np.float32)
    if method == "ablation":
        mask = _ablation_mask(predictor, dense, x.shape[1])
        a = attribute(of_predictor(predictor, module), x, target, method="ablation", baseline=base, mask=mask)
        return TokenAttribution(a.values, np.zeros((len(x), len(texts))), a.output, a.baseline_output, None)
    split = _Split(module, dense).eval()
    output = of_predictor(predictor, split)
    embeddings = [module.token_embeddings()[t.name] for t in texts]  # type: ignore[operator]
    layers: list[nn.Module] = ([split.features] if dense else []) + embeddings
    values = np.zeros_like(x)
    per = max(1, PER_CALL // (steps if method == "ig" else 1))
    for i in range(0, len(x), per):
        xb = torch.as_tensor(x[i : i + per])
        tb = torch.as_tensor(target[i : i + per], dtype=torch.int64)
        if method == "ig":
            bb = torch.as_tensor(base)[None].expand_as(xb).contiguous()
            with warnings.catch_warnings():
                # Captum warns whenever it gets several layers; ours never feed one another
                warnings.filterwarnings("ignore", "Multiple layers provided", UserWarning)
                found = LayerIntegratedGradients(output.forward, layers).attribute(
                    xb, baselines=bb, target=tb, n_steps=steps
                )
            found = [f.detach() for f in found]
        else:  # saliency: the layers' gradients, times their distance from the baseline
            grads = LayerGradientXActivation(output.forward, layers, multiply_by_inputs=False).attribute(xb, target=tb)
            grads = [g.detach() for g in grads]
            found = [grads[0] * (xb[:, :dense] - torch.as_tensor(base[:dense]))] if dense else []
            with torch.no_grad():
                found += [g * e(_ids(xb, t)) for g, e, t in zip(grads[len(found) :], embeddings, texts)]
        if dense:
            values[i : i + per, :dense] = found[0].numpy()
        for t, f in zip(texts, found[1:] if dense else found):
            values[i : i + per, t.offset : t.offset + t.length] = f.sum(
                dim=-1
            ).numpy()  # (m, length, width) -> (m, length)
    values[:, dense:][x[:, dense:] == PAD] = 0.0  # padding is never a token: nothing lands there
    out = _pick(output.values(x), target)
    if method == "saliency":
        return TokenAttribution(values, np.zeros((len(x), len(texts))), out, np.full(len(x), np.nan), None)
    base_out = output.values(base[None])[0][target].astype(np.float64)
    presence = _presence(output.forward, embeddings, texts, x, base, target)
    delta = values.sum(axis=1, dtype=np.float64) + presence.sum(axis=1) - (out - base_out)
    return TokenAttribution(values, presence, out, base_out, delta)


def _ids(x: torch.Tensor, t: TextInput) -> torch.Tensor:
    """One text's ids (m, length) from packed rows, as the model reads them."""
    ids = x[:, t.offset : t.offset + t.length].round().long()
    return torch.where((ids >= 0) & (ids < t.vocab), ids, torch.ones_like(ids))


def _pick(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    return values[np.arange(len(values)), target].astype(np.float64)


def _ablation_mask(predictor: Predictor, dense: int, width: int) -> np.ndarray:
    """Captum's feature_mask (1, width): a dense feature's model columns share an id; each token
    position has its own."""
    from .space import FeatureSpace

    ids = np.zeros(width, dtype=np.int64)
    groups = [g for g in FeatureSpace.from_predictor(predictor).groups if g and g[0] < dense]
    for k, group in enumerate(groups):
        ids[group] = k
    ids[dense:] = np.arange(len(groups), len(groups) + width - dense)
    return ids[None]


def _presence(
    forward: Any,
    embeddings: list[nn.Module],
    texts: list[TextInput],
    x: np.ndarray,
    base: np.ndarray,
    target: np.ndarray,
) -> np.ndarray:
    """(n, texts): each text's share of f(token positions, zero vectors) − f(baseline), by Shapley
    value over the text columns: v(S) is the output with the texts in S at their own token
    positions, every embedding zero, the others empty and the dense features at the baseline."""
    k = len(texts)
    zero = [e.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out)) for e in embeddings]
    try:
        value = {}
        for size in range(k + 1):
            for present in combinations(range(k), size):
                rows = np.repeat(base[None], len(x), axis=0)
                for j in present:
                    t = texts[j]
                    rows[:, t.offset : t.offset + t.length] = x[:, t.offset : t.offset + t.length]
                with torch.no_grad():
                    value[present] = _pick(forward(torch.as_tensor(rows)).numpy(), target)
    finally:
        for hook in zero:
            hook.remove()
    shares = np.zeros((len(x), k))
    for j in range(k):
        for subset, v in value.items():
            if j in subset:
                continue
            weight = factorial(len(subset)) * factorial(k - len(subset) - 1) / factorial(k)
            shares[:, j] += weight * (value[tuple(sorted((*subset, j)))] - v)
    return shares


def token_table(
    predictor: Predictor, x: np.ndarray, values: np.ndarray, texts: dict[str, list[Any]], rows: list[Any]
) -> pd.DataFrame:
    """One line per real token of each row: row, column, position, token, start, end, attribution.

    `texts` holds each text column's raw values of the rows, in the order of `x`; each position's
    token and character offsets come from the column's tokenizer (`pieces`), as `encode` made the ids.
    """
    assert predictor.features is not None, "a text bundle keeps its preprocessor"
    parts = []
    for t in text_inputs(predictor):
        tokenizer = predictor.features.tokenizer(t.name)
        ids = x[:, t.offset : t.offset + t.length]
        for i, text in enumerate(texts[t.name]):
            real = np.flatnonzero(ids[i] != PAD)
            if not len(real):
                continue
            pieces = tokenizer.pieces(text)
            if len(pieces) != len(real):  # encode and pieces tokenize alike; a mismatch is a bug, not data
                raise RuntimeError(f"column '{t.name}', row {rows[i]}: {len(pieces)} pieces for {len(real)} token ids")
            parts.append(
                pd.DataFrame(
                    {
                        "row": [rows[i]] * len(real),
                        "column": t.name,
                        "position": real,
                        "token": [p[0] for p in pieces],
                        "start": [p[1][0] for p in pieces],
                        "end": [p[1][1] for p in pieces],
                        "attribution": values[i, t.offset + real].astype(np.float64),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=TOKEN_COLUMNS)
    return pd.concat(parts, ignore_index=True)[TOKEN_COLUMNS]


def token_importance(table: pd.DataFrame, top: int = TOP_TOKENS) -> pd.DataFrame:
    """Mean |attribution| per (column, token) over its occurrences, the `top` largest first;
    `mean` is the signed mean, `count` the occurrences, `rows` the rows holding it."""
    if table.empty:
        return pd.DataFrame(columns=IMPORTANCE_COLUMNS)
    frame = table.assign(magnitude=table["attribution"].abs())
    grouped = frame.groupby(["column", "token"], sort=False)
    out = pd.DataFrame(
        {
            "importance": grouped["magnitude"].mean(),
            "mean": grouped["attribution"].mean(),
            "count": grouped.size(),
            "rows": grouped["row"].nunique(),
        }
    ).reset_index()
    return (
        out.sort_values(["importance", "count"], ascending=[False, False], kind="stable")
        .head(top)
        .reset_index(drop=True)
    )


def texts_of(predictor: Predictor, raw: np.ndarray | None, features: list[str]) -> dict[str, list[Any]]:
    """Each text column's raw values from the explained rows' (n, features) values."""
    assert raw is not None, "a table's inputs keep the user's values"
    return {t.name: raw[:, features.index(t.name)].tolist() for t in text_inputs(predictor)}
