"""Search methods and pruners by their YAML names; a real Optuna object is accepted too.

`grid` visits every point of a discrete space once; `random` draws independently;
`tpe` (Optuna's Tree-structured Parzen Estimator) learns from finished trials where
good settings lie. Pruners stop a trial early when its per-epoch validation score
is worse than other trials' at the same epoch: `median` (the median of earlier
trials), `hyperband` (successive halving over several brackets).
"""

from __future__ import annotations

from collections.abc import Callable

import optuna

from ..config.space import Space

Sampler = Callable[[Space, int], optuna.samplers.BaseSampler]

SAMPLERS: dict[str, Sampler] = {
    "grid": lambda space, seed: optuna.samplers.GridSampler(space.grid(), seed=seed),
    "random": lambda space, seed: optuna.samplers.RandomSampler(seed=seed),
    # Few startup trials: a tuning run here is tens of trials, not thousands.
    "tpe": lambda space, seed: optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(10, 2 * len(space.params) + 2)
    ),
}

PRUNERS: dict[str, Callable[[int], optuna.pruners.BasePruner]] = {
    "none": lambda epochs: optuna.pruners.NopPruner(),
    # Warm-up of two epochs: the first epochs' losses say little about the last.
    "median": lambda epochs: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min(2, epochs - 1)),
    "hyperband": lambda epochs: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3),
}


def sampler(method: str | optuna.samplers.BaseSampler, space: Space, seed: int) -> optuna.samplers.BaseSampler:
    return method if isinstance(method, optuna.samplers.BaseSampler) else SAMPLERS[method](space, seed)


def pruner(name: str | optuna.pruners.BasePruner, epochs: int) -> optuna.pruners.BasePruner:
    return name if isinstance(name, optuna.pruners.BasePruner) else PRUNERS[name](epochs)
