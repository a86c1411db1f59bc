"""Generation: why the model predicts its next character after a prompt, per prompt character.

A generator reads `<s> c1 ... cn` as token ids and scores the next character at every step;
the explained number is the logit of one next character (the likeliest, or a chosen one) at
the prompt's last position. Ids are not continuous, so the gradient methods work on the
embedding layer's output:

    ig        Captum LayerIntegratedGradients on the embedding, from the <pad> embedding at
              every prompt position (<s> stays, so it gets no attribution); summed over the
              embedding dimension, so a character's attributions add up to f(prompt) - f(pads)
    saliency  gradient x embedding (Captum LayerGradientXActivation), summed over the embedding
              dimension: the first-order estimate of the same difference, from one gradient
    ablation  each prompt character replaced by <pad> alone, the logit's drop

Permutation importance needs a metric over rows and features; a prompt has neither, so it
does not apply.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..bundle.predictor import Predictor
from ..data.text import END, SPECIALS, Vocabulary
from ..errors import DataError, UsageError, needs_extra
from .checks import completeness, randomization, reinitialized
from .explanation import Explanation, empty_importance

with needs_extra("explain"):
    from captum.attr import (
        FeatureAblation,
        LayerGradientXActivation,
        LayerIntegratedGradients,
    )

METHODS = ("ig", "saliency", "ablation")
UNIT = "logit of the next character"


def read_prompts(source: str | Path) -> list[str]:
    """The prompts of a .txt file, one a line (empty lines skipped), as `generate --prompt` takes them."""
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="pass a .txt file of prompts, one a line, or --prompt TEXT")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text", hint="pass a .txt file of prompts, one a line") from None
    prompts = [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]
    if not prompts:
        raise DataError(f"{path}: holds no prompt", hint="write one prompt a line")
    return prompts


def check_prompts(predictor: Predictor, prompts: list[str], target: str | None) -> None:
    """Every problem at once, in `generate`'s words: unknown characters, too long, empty."""
    vocab, steps = _vocabulary(predictor), predictor.task.lookback
    known = "".join(vocab.tokens[len(SPECIALS) :])
    problems = []
    for i, prompt in enumerate(prompts):
        where = f"prompt {i + 1} {prompt!r}"
        unknown = vocab.unknown(prompt)
        if unknown:
            problems.append(f"{where} holds characters outside the vocabulary: {unknown}; the model knows {known!r}")
        if not prompt:
            problems.append(f"prompt {i + 1} is empty: there is no character to attribute to")
        elif len(prompt) >= steps:
            problems.append(f"{where} has {len(prompt)} characters; the model reads at most {steps - 1}")
    if target is not None and (target not in vocab.index or target in SPECIALS[:2]):
        problems.append(
            f"next character {target!r} is not one the model predicts; it knows {known!r} and {END!r} (the end)"
        )
    if problems:
        raise DataError("; ".join(problems), hint="use only characters of the training text")


def explain_prompts(
    predictor: Predictor,
    prompts: list[str],
    *,
    method: str = "ig",
    steps: int = 50,
    target: str | None = None,
    seed: int = 0,
    checks: bool = True,
) -> Explanation:
    """Attributions of the next character's logit to each character of each prompt."""
    if method not in METHODS:
        raise UsageError(
            f"--method {method}: does not apply to a generation model (no rows or metric to "
            "permute); per prompt character it explains with ig, saliency or ablation",
            hint="use --method ig, saliency or ablation",
        )
    if not prompts:
        raise UsageError("no prompt to explain", hint="pass --prompt TEXT (repeatable) or a .txt file of prompts")
    check_prompts(predictor, prompts, target)
    vocab, module = _vocabulary(predictor), predictor.module.eval()
    width = max(map(len, prompts))
    ids = [[vocab.index[c] for c in p] for p in prompts]
    targets = np.array([_next(module, vocab, row) if target is None else vocab.index[target] for row in ids])
    values, out, base_out, delta = _attribute(module, vocab.start, ids, targets, method, steps, width)
    e = Explanation(
        "text",
        method,
        ["character"],
        UNIT,
        empty_importance(),
        baseline="<pad> at every prompt character (the start mark <s> kept)",
    )
    e.rows = list(range(len(prompts)))
    e.attributions = values
    e.inputs = np.array([list(p) + [""] * (width - len(p)) for p in prompts], dtype=object)  # (n, width)
    e.predictions = [vocab.tokens[t] for t in targets]
    e.output, e.baseline_output, e.delta = out, base_out, delta
    e.notes.append(
        f"explained: the logit of {'the likeliest next character' if target is None else repr(target)} "
        "after each prompt; permutation importance does not apply to generation"
    )
    if delta is not None:
        e.checks.append(completeness(delta, out, base_out))
    if checks:
        random = reinitialized(module, seed + 1)
        other = _attribute(random, vocab.start, ids, targets, method, steps, width)[0]
        e.checks.append(
            randomization([v[: len(p)] for v, p in zip(values, prompts)], [v[: len(p)] for v, p in zip(other, prompts)])
        )
    return e


def _vocabulary(predictor: Predictor) -> Vocabulary:
    if predictor.vocabulary is None:
        raise UsageError(
            "prompts: only a generation bundle is explained on prompts",
            hint="pass DATA (rows or images) for this model",
        )
    return predictor.vocabulary


def _next(module: nn.Module, vocab: Vocabulary, row: list[int]) -> int:
    """The likeliest next id after `<s> row`, as `generate` would draw it (never <pad> or <s>)."""
    with torch.no_grad():
        logits = module(torch.tensor([[vocab.start, *row]]))[0, -1]
    logits[: vocab.end] = -torch.inf
    return int(logits.argmax())


def _attribute(
    module: nn.Module, start: int, ids: list[list[int]], targets: np.ndarray, method: str, steps: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(attributions (n, width) NaN past each prompt, output, baseline output, IG delta or None).

    Prompts of one length go through together; the forward adds <s> in front of each.
    """

    def forward(x: torch.Tensor) -> torch.Tensor:  # (m, length) prompt ids -> (m, vocab) next logits
        head = torch.full((len(x), 1), start, dtype=x.dtype)
        return module(torch.cat([head, x], dim=1))[:, -1]

    n = len(ids)
    values = np.full((n, width), np.nan)
    out, base_out = np.zeros(n), np.zeros(n)
    delta = np.zeros(n) if method == "ig" else None
    for length in sorted({len(r) for r in ids}):
        rows = [i for i, r in enumerate(ids) if len(r) == length]
        x = torch.tensor([ids[i] for i in rows], dtype=torch.long)  # (m, length)
        t = torch.as_tensor(targets[rows], dtype=torch.long)
        pads = torch.zeros_like(x)
        if method == "ig":
            a, d = LayerIntegratedGradients(forward, module.embed).attribute(
                x, baselines=pads, target=t, n_steps=steps, return_convergence_delta=True
            )
            a = a[:, 1:].sum(dim=-1)  # (m, 1 + length, embedding) -> (m, length)
            assert delta is not None  # made above for ig
            delta[rows] = d.detach().numpy()
        elif method == "saliency":
            a = LayerGradientXActivation(forward, module.embed).attribute(x, target=t)[:, 1:].sum(dim=-1)
        else:
            mask = torch.arange(length)[None]
            a = FeatureAblation(forward).attribute(x, baselines=0, target=t, feature_mask=mask)
        values[rows, :length] = a.detach().numpy()
        with torch.no_grad():
            index = torch.arange(len(rows))
            out[rows] = forward(x)[index, t].double().numpy()
            base_out[rows] = forward(pads)[index, t].double().numpy()
    return values, out, base_out, delta


def describe(e: Explanation) -> list[str]:
    """One line per prompt for the terminal: the prompt, the explained character, the strongest characters."""
    assert e.inputs is not None and e.attributions is not None, "a text explanation carries both"
    lines = []
    for i, _row in enumerate(e.rows):
        chars = [c for c in e.inputs[i] if c != ""]
        a = e.attributions[i][: len(chars)]
        top = np.argsort(-np.abs(a))[:3]
        lines.append(
            f"{''.join(chars)!r} -> {e.predictions[i]!r}: " + ", ".join(f"{chars[j]!r}@{j} {a[j]:+.3g}" for j in top)
        )
    return lines
