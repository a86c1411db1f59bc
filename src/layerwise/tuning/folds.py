"""k folds over the rows a search may see (train + validation), each prepared like a run's split.

The test rows stay where the run's split put them and are never scored. Folds of a series
are time-ordered (train on the past, validate on the block after it, with the run's gap);
classification folds are stratified when the split is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.schema import ExperimentConfig
from ..data import Split, kfold
from ..tasks.prepare import Prepared, prepare_forecast, prepare_tabular, split_method


def folds(cfg: ExperimentConfig, df: pd.DataFrame, kinds: dict[str, str], task: str, source: str,
          prepared: Prepared, k: int) -> list[Prepared]:
    test = prepared.index["test"]
    method = split_method(cfg, task)
    if method == "time":
        # Every row before the test part (the gap rows between train and validation too): a
        # fold must be a contiguous stretch of the series, or windows would straddle a hole.
        pool = np.arange(0, int(prepared.index["val"][-1]) + 1 if len(prepared.index["val"]) else
                         int(prepared.index["train"][-1]) + 1, dtype=np.int64)
        gap = cfg.data.split.gap
        if gap is None:
            gap = cfg.data.window.lookback + cfg.data.window.horizon if task == "forecast" else 0
    else:
        pool = np.sort(np.concatenate([prepared.index["train"], prepared.index["val"]]))
        gap = 0
    labels = df[cfg.data.target].astype(str).to_numpy()[pool] if method == "stratified" else None
    out = []
    for train, val in kfold(len(pool), k, method=method, y=labels, gap=gap, seed=cfg.train.seed):
        parts = Split(pool[train], pool[val], test)
        if task == "forecast":
            out.append(prepare_forecast(cfg, df, kinds, source, parts=parts))
        else:
            out.append(prepare_tabular(cfg, df, kinds, task, source, parts=parts))
    return out
