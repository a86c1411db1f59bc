"""k folds over the rows a search may see (train + validation), each prepared like a run's split.

The test rows stay where the run's split put them and are never scored. Folds of a series
are time-ordered (train on the past, validate on the block after it, with the run's gap);
classification folds are stratified when the split is.
"""

from __future__ import annotations

import numpy as np

from ..config.schema import ExperimentConfig
from ..data import Split, kfold
from ..tasks import Prepared, Task
from ..tasks.common import split_method


def folds(cfg: ExperimentConfig, task: Task, prepared: Prepared, k: int) -> list[Prepared]:
    """k Prepared, each the run's rows split as one fold and refitted by the Task on its training rows."""
    test = prepared.index["test"]
    method = split_method(cfg, prepared.task.type)
    if method == "time":
        # Every row before the test part (the gap rows between train and validation too): a
        # fold must be a contiguous stretch of the series, or windows would straddle a hole.
        pool = np.arange(
            0,
            int(prepared.index["val"][-1]) + 1 if len(prepared.index["val"]) else int(prepared.index["train"][-1]) + 1,
            dtype=np.int64,
        )
        gap = task.gap(cfg)
    else:
        pool = np.sort(np.concatenate([prepared.index["train"], prepared.index["val"]]))
        gap = 0
    labels = prepared.table[cfg.data.target].astype(str).to_numpy()[pool] if method == "stratified" else None
    out = []
    for train, val in kfold(len(pool), k, method=method, y=labels, gap=gap, seed=cfg.train.seed):
        parts = Split(pool[train], pool[val], test)
        out.append(task.refit(cfg, prepared, parts))
    return out
