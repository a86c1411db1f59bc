"""explain(): why these predictions, which inputs matter overall, and whether to trust the answer.

    model + data -> model-space inputs -> local attributions (Captum) on the chosen rows,
    summed back to the user's features -> global importance (permutation on all rows, mean
    |attribution| on the explained rows) -> honesty checks -> Explanation (-> DIR)

Image bundles get a heatmap per image against a black image (images.py), generation bundles
an attribution per prompt character (text.py); neither has a global permutation importance.
A table with text columns gets, beside its features' attributions, one per token (tokens.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..bundle.predictor import Predictor
from ..data import read_table
from ..errors import UsageError, did_you_mean
from ..evaluation.metrics import (
    DEFAULT_PRIMARY,
    HIGHER_IS_BETTER,
    classification_metrics,
    regression_metrics,
)
from ..training.runlog import Steps
from .attribute import METHODS
from .baseline import data_baseline, training_baseline
from .checks import completeness, randomization, reinitialized
from .codes import EXACT_CODES, SAMPLED_ORDERS, attribute_table, saliency_refused
from .explanation import Explanation, empty_importance
from .images import black, image_inputs
from .inputs import Inputs, model_inputs, select_rows, test_split
from .output import Output, of_module, of_predictor
from .permutation import mean_abs_importance, permutation_importance
from .space import FeatureSpace
from .text import explain_prompts, read_prompts
from .tokens import TokenAttribution, attribute_tokens, text_inputs, texts_of, token_table

ALL_METHODS = (*METHODS, "permutation")
# The randomization check re-explains this many of the explained rows with a random model.
CHECK_ROWS = 100


def explain(
    model: Any,
    data: Any = None,
    *,
    rows: str | None = None,
    method: str = "ig",
    steps: int = 50,
    repeats: int = 10,
    seed: int = 0,
    target: int | str | None = None,
    baseline: Any = None,
    names: list[str] | None = None,
    prompts: str | list[str] | None = None,
    out: str | Path | None = None,
    checks: bool = True,
    progress: bool = False,
) -> Explanation:
    """Explain a model's predictions on `data`.

    Args:
        model: a bundle folder, a `layerwise.load` Predictor, a Result, or a plain nn.Module.
        data: a DataFrame or CSV/Parquet path of raw rows (a bundle); an image file, a folder of
            images or an image array (an image bundle); a .txt file of prompts, one a line (a
            generation bundle); NumPy inputs (a plain module). None: the run's own test split,
            re-read and re-split as the run did (a generation bundle needs `prompts`).
        rows: which rows (images, prompts) get local attributions: 'all', '0:100', '3,7,12'
            (default the first 200).
        method: ig | saliency | ablation (local, plus permutation importance on tables and
            series), or permutation alone.
        steps: Integrated Gradients' integration steps.
        repeats: permutation importance's shuffles per feature.
        target: the output to explain: a class index, a forecast's horizon step, or a generation
            model's next character (default: the predicted class, the first output, the likeliest
            next character).
        baseline: plain modules only: 'zeros' (default), 'mean' or an array; a bundle's baseline
            comes from its training statistics.
        names: plain modules only: feature names.
        prompts: generation bundles: the prompt(s) whose next character is explained.
        out: write the Explanation there (CSVs, explain.json, PNG plots).
        progress: show the work on stderr as it goes (permutation importance's scorings, the
            attributions, the sanity check): a bar on a terminal, a line per tenth elsewhere.
    """
    if method not in ALL_METHODS:
        raise UsageError(
            f"--method {method!r}: unknown method{did_you_mean(method, ALL_METHODS)}",
            hint=f"choose one of {', '.join(ALL_METHODS)}",
        )
    if steps < 1:
        raise UsageError(f"--steps {steps}: at least 1")
    predictor = _predictor(model, data)
    if prompts is not None and (predictor is None or predictor.vocabulary is None):
        raise UsageError(
            "prompts: only a generation bundle is explained on prompts",
            hint="pass DATA (rows or images) for this model",
        )
    if isinstance(target, str) and (predictor is None or predictor.vocabulary is None):
        raise UsageError(
            f"--next {target!r}: a next character is explained for generation bundles only",
            hint="for this model pass target= a class index or a horizon step",
        )
    with Steps("explain", quiet=not progress) as shown:
        if predictor is None:
            result = _explain_module(
                model,
                np.asarray(data, dtype=np.float32),
                rows=rows,
                method=method,
                steps=steps,
                seed=seed,
                target=target,
                baseline=baseline,
                names=names,
                checks=checks,
                shown=shown,
            )
        elif predictor.vocabulary is not None:
            chosen = _prompts(data, prompts)
            picked = [chosen[i] for i in select_rows(rows, len(chosen))]
            result = explain_prompts(
                predictor,
                picked,
                method=method,
                steps=steps,
                seed=seed,
                checks=checks,
                target=None if target is None else str(target),
            )
        elif predictor.images is not None:
            result = _explain_images(
                predictor,
                model,
                data,
                rows=rows,
                method=method,
                steps=steps,
                seed=seed,
                target=target,
                checks=checks,
                shown=shown,
            )
        else:
            result = _explain_predictor(
                predictor,
                _frame(model, predictor, data),
                rows=rows,
                method=method,
                steps=steps,
                repeats=repeats,
                seed=seed,
                target=target,
                checks=checks,
                shown=shown,
            )
    if out is not None:
        result.save(out)
    return result


def explain_run(
    result: Any, folder: Path, options: Any, note: Callable[[str], None] = print, *, quiet: bool = True
) -> Explanation | None:
    """A run's own step (evaluate.explain): explain its test split into `folder` (RUN/explain/).

    `options` is True or an ExplainConfig; a generation run has no test rows to explain, so it
    only says how to explain prompts. Unless `quiet`, its progress is shown on stderr.
    """
    if result.predictor.vocabulary is not None:
        note("explain: a generation run is explained on prompts: `layerwise explain BUNDLE --prompt TEXT`")
        return None
    from ..config.schema import ExplainConfig

    options = options if isinstance(options, ExplainConfig) else ExplainConfig()
    if result.predictor.images is not None and options.method == "permutation":
        # found only after training: say so in run.log rather than throw the trained run away
        note(
            "explain: skipped: evaluate.explain.method permutation does not apply to images; use ig, saliency "
            "or ablation"
        )
        return None
    table = result.predictor.features is not None  # embedded category codes come with a table's columns
    if options.method == "saliency" and table and FeatureSpace.from_predictor(result.predictor).codes:
        note(f"explain: skipped: {saliency_refused().message}; set evaluate.explain.method to ig or ablation")
        return None
    rows = f"0:{options.rows}" if isinstance(options.rows, int) else options.rows
    start = time.perf_counter()
    e = explain(
        result,
        rows=rows,
        method=options.method,
        steps=options.steps,
        repeats=options.repeats,
        seed=result.config.train.seed if result.config is not None else 0,
        out=folder,
        progress=not quiet,
    )
    checks = "; ".join(f"{c['check']} {'pass' if c['passed'] else 'FAIL'}" for c in e.checks)
    unit = "images" if result.predictor.images is not None else "rows"
    note(
        f"explain: {options.method} on {len(e.rows)} test {unit} "
        f"in {time.perf_counter() - start:.1f}s" + (f"; {checks}" if checks else "")
    )
    return e


def _predictor(model: Any, data: Any) -> Predictor | None:
    """The bundle's Predictor; None for a plain module."""
    if isinstance(model, nn.Module):
        if data is None:
            raise UsageError("explaining a plain module needs its inputs: data=array of shape (n, ...)")
        return None
    if isinstance(model, (str, Path)):
        from ..bundle.store import load

        model = load(model)
    predictor = getattr(model, "predictor", model)  # a Result holds its Predictor
    if not isinstance(predictor, Predictor):
        raise UsageError(f"cannot explain a {type(model).__name__}: pass a bundle, Predictor, Result or nn.Module")
    return predictor


def _frame(model: Any, predictor: Predictor, data: Any) -> pd.DataFrame:
    """The raw rows of a table or series bundle: DATA, a Result's test rows, or the re-split test split."""
    if data is None:
        data = getattr(model, "test_rows", None)
    if data is None:
        return test_split(predictor)
    if isinstance(data, (str, Path)):
        return read_table(data, delimiter=predictor.delimiter)
    if not isinstance(data, pd.DataFrame):
        raise UsageError("data: a DataFrame or a CSV/Parquet path of raw rows, as `predict` takes")
    return data


def _prompts(data: Any, prompts: str | list[str] | None) -> list[str]:
    if prompts is not None and data is not None:
        raise UsageError("pass prompts or a .txt file of prompts, not both")
    if prompts is not None:
        return [prompts] if isinstance(prompts, str) else list(prompts)
    if data is None:
        raise UsageError(
            "a generation model is explained on prompts: none given",
            hint="pass --prompt TEXT (repeatable) or a .txt file of prompts, one a line",
        )
    if isinstance(data, (str, Path)):
        return read_prompts(data)
    raise UsageError(
        f"data: a generation model takes a .txt file of prompts, not a {type(data).__name__}",
        hint="or pass prompts=[...]",
    )


def _explain_images(
    predictor: Predictor, model: Any, data: Any, *, rows, method, steps, seed, target, checks, shown: Steps
) -> Explanation:
    if method == "permutation":
        raise UsageError(
            "--method permutation: does not apply to an image model (shuffling single pixels "
            "across images measures nothing the model uses); images are explained with ig, "
            "saliency or ablation",
            hint="use --method ig, saliency or ablation",
        )
    test = getattr(model, "test_rows", None)
    files = test["file"].tolist() if test is not None and "file" in test.columns else None
    inputs = image_inputs(predictor, data, test_images=getattr(model, "test_images", None), test_labels=files)
    space = FeatureSpace.from_shape(tuple(predictor.model["input_shape"]))
    output = of_predictor(predictor)
    chosen = select_rows(rows, len(inputs.x))
    x = inputs.x[chosen]
    base, described = black(predictor)
    targets = output.target(x, target)
    result = Explanation(space.kind, method, space.names, output.unit, empty_importance(), baseline=described)
    shown.total = 1 + checks
    _local(result, space, output, x, targets, base, method, steps, shown)
    result.rows = [inputs.labels[i] for i in chosen]
    result.inputs = inputs.pixels[chosen]  # (n, h, w): the picture the heatmap is laid over
    result.predictions = _predictions(predictor, x, None)
    if checks:
        _check(result, space, of_predictor(predictor, _random(predictor, seed)), x, targets, base, method, steps, shown)
    return result


def _random(predictor: Predictor, seed: int) -> nn.Module:
    from ..models import build

    spec = predictor.model
    return build(spec["config"], tuple(spec["input_shape"]), spec["output_dim"], seed=seed + 1).eval()


def _explain_predictor(
    predictor: Predictor, frame: pd.DataFrame, *, rows, method, steps, repeats, seed, target, checks, shown: Steps
) -> Explanation:
    task = predictor.task
    space = FeatureSpace.from_predictor(predictor)
    if method == "saliency" and space.codes:
        raise saliency_refused()
    inputs = model_inputs(predictor, frame)
    output = of_predictor(predictor)
    result = Explanation(space.kind, method, space.names, output.unit, empty_importance())
    local = method != "permutation"
    # the units of work: each scoring of permutation importance, the attributions, the check
    shown.total = (1 + len(space.groups) * repeats) * (inputs.actual is not None) + local * (1 + checks)
    if inputs.actual is None:
        if method == "permutation":
            raise UsageError(
                f"--method permutation needs the target column '{task.target}' in the data, "
                "to score the model with each feature shuffled",
                hint="add the target column, or use ig, saliency or ablation",
            )
        result.notes.append(f"permutation importance skipped: the data has no target column '{task.target}'")
    else:
        metric = predictor.metrics.get("primary_metric") or DEFAULT_PRIMARY[task.type]
        score = _scorer(predictor, inputs, metric)

        def counted(x: np.ndarray) -> float:
            found = score(x)
            shown.advance(1, "permutation importance")
            return found

        result.importance = permutation_importance(
            counted,
            inputs.x,
            space.groups,
            space.names,
            higher_is_better=HIGHER_IS_BETTER[metric],
            repeats=repeats,
            seed=seed,
        )
        result.notes.append(
            f"permutation importance: worsening of test {metric} over {len(inputs.x)} "
            f"{predictor.kind.unit}, {repeats} shuffles per feature"
        )
    if method == "permutation":
        return result
    chosen = select_rows(rows, len(inputs.x))
    x = inputs.x[chosen]
    base, result.baseline = training_baseline(predictor)
    if space.codes and method == "ig":
        result.notes.append(_codes_note(space.embedded))
    # classification: the predicted class unless one is named; otherwise output (horizon step) 0
    targets = output.target(x, target if task.classes else (target or 0))
    result.rows = inputs.labels[chosen].tolist()
    tokens = None
    if text_inputs(predictor):
        assert inputs.raw is not None, "a table's inputs keep the user's values"
        tokens = _local_tokens(result, space, predictor, x, inputs.raw[chosen], targets, base, method, steps, shown)
        attributions = result.attributions
        assert attributions is not None, "_local_tokens fills them"
    else:
        attributions = _local(result, space, output, x, targets, base, method, steps, shown)
    result.inputs = None if inputs.raw is None else inputs.raw[chosen]
    result.predictions = _predictions(predictor, x, None if inputs.last is None else inputs.last[chosen])
    mean_abs = mean_abs_importance(attributions, space.names, method, seed=seed)
    result.importance = (
        mean_abs if result.importance.empty else pd.concat([result.importance, mean_abs], ignore_index=True)
    )
    if checks and tokens is not None:
        _check_tokens(
            result, space, predictor, _random(predictor, seed), x, targets, base, method, steps, shown, tokens
        )
    elif checks:
        _check(result, space, of_predictor(predictor, _random(predictor, seed)), x, targets, base, method, steps, shown)
    return result


def _explain_module(
    module: nn.Module, x: np.ndarray, *, rows, method, steps, seed, target, baseline, names, checks, shown: Steps
) -> Explanation:
    if method == "permutation":
        raise UsageError(
            "permutation importance needs a bundle (a target and a metric to score with)",
            hint="use ig, saliency or ablation with a plain module",
        )
    space = FeatureSpace.from_shape(x.shape[1:], names)
    module.eval()
    with torch.no_grad():
        width = module(torch.as_tensor(x[:1])).reshape(1, -1).shape[1]
    output = of_module(module, width)
    chosen = select_rows(rows, len(x))
    xs = x[chosen]
    base, described = data_baseline(x, "zeros" if baseline is None else baseline)
    targets = output.target(xs, target)
    result = Explanation(space.kind, method, space.names, output.unit, empty_importance(), baseline=described)
    shown.total = 1 + checks
    attributions = _local(result, space, output, xs, targets, base, method, steps, shown)
    result.rows = chosen.tolist()
    result.predictions = targets.tolist() if width > 1 else output.values(xs)[:, 0].tolist()
    result.inputs = space.inputs(xs)
    if space.ranks_features:
        result.importance = mean_abs_importance(attributions, space.names, method, seed=seed)
    if checks:
        _check(
            result, space, of_module(reinitialized(module, seed + 1), width), xs, targets, base, method, steps, shown
        )
    return result


def _local(
    result: Explanation,
    space: FeatureSpace,
    output: Output,
    x: np.ndarray,
    targets: np.ndarray,
    base: np.ndarray,
    method: str,
    steps: int,
    shown: Steps,
) -> np.ndarray:
    """Fill `result` with the local attributions of `x` and return them."""
    a = attribute_table(
        output, x, targets, method=method, baseline=base, steps=steps, mask=space.mask(), codes=space.codes
    )
    shown.advance(1, f"{method} attributions of {len(x)} rows")
    result.attributions = space.collapse(a.values)
    result.output, result.baseline_output, result.delta = a.output, a.baseline_output, a.delta
    if a.delta is not None:
        result.checks.append(completeness(a.delta, a.output, a.baseline_output))
    return result.attributions


def _codes_note(embedded: list[str]) -> str:
    """What an Integrated Gradients explanation of a table with embedded category codes did (codes.py)."""
    named = ", ".join(repr(name) for name in embedded)
    orders = "every order of them" if len(embedded) <= EXACT_CODES else f"{SAMPLED_ORDERS} random orders of them"
    return (
        f"embedded categories ({named}): no gradient reaches a category code (it is rounded to pick its "
        "embedding), so each of these columns is attributed by ablation: its Shapley value of putting the row's "
        f"own code back in place of the baseline's ({orders}), the other columns stay at the row's values; "
        "the other columns get Integrated Gradients from the baseline to the row with these codes at the "
        "baseline's. Together they add up to f(row) - f(baseline)"
    )


def _check(
    result: Explanation,
    space: FeatureSpace,
    random: Output,
    x: np.ndarray,
    targets: np.ndarray,
    base: np.ndarray,
    method: str,
    steps: int,
    shown: Steps,
) -> None:
    n = min(len(x), CHECK_ROWS)
    a = attribute_table(
        random, x[:n], targets[:n], method=method, baseline=base, steps=steps, mask=space.mask(), codes=space.codes
    )
    shown.advance(1, "randomization check")
    assert result.attributions is not None, "_local ran first"
    result.checks.append(randomization(result.attributions[:n], space.collapse(a.values)))


def _local_tokens(
    result: Explanation,
    space: FeatureSpace,
    predictor: Predictor,
    x: np.ndarray,
    raw: np.ndarray,
    targets: np.ndarray,
    base: np.ndarray,
    method: str,
    steps: int,
    shown: Steps,
) -> TokenAttribution:
    """A table with text columns: `result`'s per-feature attributions (a text column's is its tokens'
    sum plus its presence), its tokens and texts; returns the model-space attribution."""
    a = attribute_tokens(predictor, predictor.module, x, targets, method=method, baseline=base, steps=steps)
    shown.advance(1, f"{method} attributions of {len(x)} rows, per token")
    texts = text_inputs(predictor)
    result.attributions = _with_presence(space, texts, a)
    result.output, result.baseline_output, result.delta = a.output, a.baseline_output, a.delta
    if a.delta is not None:
        result.checks.append(completeness(a.delta, a.output, a.baseline_output))
    values = texts_of(predictor, raw, predictor.task.features)
    result.tokens = token_table(predictor, x, a.values, values, result.rows)
    result.texts = [{name: column[i] for name, column in values.items()} for i in range(len(x))]
    if method == "ig":
        result.presence = [{t.name: float(a.presence[i, j]) for j, t in enumerate(texts)} for i in range(len(x))]
    result.notes.append(
        "tokens: each text column's attribution is split per token (tokens.csv); padding gets none"
        + (
            "; a text's presence (the effect of where its tokens are, apart from which) is added to its "
            "column's attribution"
            if method == "ig"
            else ""
        )
    )
    return a


def _with_presence(space: FeatureSpace, texts: list, a: TokenAttribution) -> np.ndarray:
    features = space.collapse(a.values)  # (n, features): a text column sums its tokens
    for j, t in enumerate(texts):
        features[:, space.names.index(t.name)] += a.presence[:, j]
    return features


def _check_tokens(
    result: Explanation,
    space: FeatureSpace,
    predictor: Predictor,
    random: nn.Module,
    x: np.ndarray,
    targets: np.ndarray,
    base: np.ndarray,
    method: str,
    steps: int,
    shown: Steps,
    trained: TokenAttribution,
) -> None:
    """The randomization check over every row's features and real tokens together."""
    n = min(len(x), CHECK_ROWS)
    a = attribute_tokens(predictor, random, x[:n], targets[:n], method=method, baseline=base, steps=steps)
    shown.advance(1, "randomization check")
    dense = text_inputs(predictor)[0].offset
    real = x[:n, dense:] != 0  # (n, token positions): padding is never a token

    def per_row(features: np.ndarray, values: np.ndarray) -> list[np.ndarray]:
        return [np.concatenate([features[i], values[i, dense:][real[i]]]) for i in range(n)]

    assert result.attributions is not None, "_local_tokens ran first"
    mine = per_row(result.attributions[:n], trained.values[:n])
    other = per_row(_with_presence(space, text_inputs(predictor), a), a.values)
    result.checks.append(randomization(mine, other))


def _scorer(predictor: Predictor, inputs: Inputs, metric: str) -> Callable[[np.ndarray], float]:
    task = predictor.task
    actual = inputs.actual
    assert actual is not None, "scored only on data with the target column"

    # The default metrics directly in NumPy: scikit-learn's input checks cost ~40 ms a call,
    # and permutation importance scores features × repeats times.
    def score(x: np.ndarray) -> float:
        raw = predictor.raw_outputs(x)
        if task.classes:
            proba = predictor.probabilities(raw)
            if metric == "accuracy":
                return float((proba.argmax(axis=1) == actual).mean())
            return classification_metrics(actual, proba)[0][metric]
        values = predictor.decode(raw, inputs.last).reshape(len(raw), -1)
        if metric == "mae":
            return float(np.abs(values - actual.reshape(len(raw), -1)).mean())
        return regression_metrics(actual, values)[0][metric]

    return score


def _predictions(predictor: Predictor, x: np.ndarray, last: np.ndarray | None) -> list[Any]:
    raw = predictor.raw_outputs(x)
    if predictor.task.classes:
        assert predictor.target is not None, "a classifier keeps its target encoder"
        return predictor.target.decode(predictor.probabilities(raw).argmax(axis=1)).tolist()
    return predictor.decode(raw, last)[:, 0].tolist()
