"""Create or join a study, refusing to mix two different searches under one name.

The study records what it searches (space, method, objective) as a user attribute; a
second process with the same name and the same search joins it, one with a different
search is an error unless `resume_study` says to go on with the stored study anyway.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import optuna
from optuna.trial import TrialState

from ..errors import ConfigError

SIGNATURE = "layerwise_search"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    *,
    signature: dict[str, Any],
    direction: Literal["minimize", "maximize"],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    resume_study: bool = False,
) -> optuna.Study:
    text = json.dumps(signature, sort_keys=True)
    study = optuna.create_study(
        storage=storage, study_name=name, direction=direction, sampler=sampler, pruner=pruner, load_if_exists=True
    )
    stored = study.user_attrs.get(SIGNATURE)
    if stored is None:
        study.set_user_attr(SIGNATURE, text)
    elif stored != text and not resume_study:
        raise ConfigError(
            f"--study {name}: a study of that name already exists with a different search "
            f"({_difference(json.loads(stored), signature)})",
            hint="choose another --study name, or pass --resume-study to continue the stored study",
        )
    return study


def finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def work(
    study: optuna.Study,
    objective,
    *,
    trials: int,
    deadline: float | None,
    catch: tuple,
    callbacks: list,
    max_failures: int = 3,
) -> None:
    """Run trials until the study holds `trials` finished ones (over all workers), time runs
    out, or this worker's trials fail `max_failures` times in a row.

    One trial per `optimize` call so the count is re-read from the shared storage each time;
    with K workers the study can end with up to K - 1 trials more than asked, never fewer.
    """
    failures = [0]

    def count_failures(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        failures[0] = failures[0] + 1 if trial.state == TrialState.FAIL else 0

    while finished(study) < trials and failures[0] < max_failures:
        if deadline is not None and time.monotonic() >= deadline:
            break
        study.optimize(objective, n_trials=1, catch=catch, callbacks=[*callbacks, count_failures])


def _difference(stored: dict[str, Any], wanted: dict[str, Any]) -> str:
    keys = [k for k in sorted(set(stored) | set(wanted)) if stored.get(k) != wanted.get(k)]
    return "; ".join(f"{k}: stored {stored.get(k)!r}, now {wanted.get(k)!r}" for k in keys)
