"""What a search leaves on disk: tuning.csv, best.yaml, tuning.json and the PNG plots."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import yaml

from ..atomic import write_bytes, write_json, write_table, write_text
from ..config.space import Space

PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "param_importances.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
}


def trials_table(study: optuna.Study, space: Space) -> pd.DataFrame:
    """One row per trial: number, state, value, each setting by its dotted path, seconds, epochs."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        row = {"number": t.number, "state": t.state.name, "value": t.value}
        row.update(space.decode(dict(t.params)))
        row.update(seconds=seconds, epochs=t.user_attrs.get("epochs"), retry_of=t.system_attrs.get("failed_trial"))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for path in (p.path for p in space.params):
        if path in frame and frame[path].map(lambda v: isinstance(v, (list, dict))).any():
            frame[path] = frame[path].map(str)
    return frame


def write_best_yaml(path: Path, config: dict[str, Any]) -> None:
    """A complete config without the `tune` section, so `layerwise run best.yaml` trains it once."""
    text = "# The best configuration found by `layerwise tune`; `layerwise run` accepts it as it is.\n"
    write_text(path, text + yaml.safe_dump(config, sort_keys=False))


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    write_json(path, summary)


def write_plots(study: optuna.Study, out: Path) -> list[str]:
    """The PNG plots Optuna can draw for this study; returns notes for those it cannot."""
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    notes = []
    for name, function in PLOTS.items():
        try:
            with warnings.catch_warnings():
                # Optuna marks its matplotlib plots experimental; the PNGs are a convenience
                # beside tuning.csv, which holds the same numbers.
                warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
                # Importances from a handful of trials are all equal: say so instead of drawing them.
                warnings.filterwarnings("error", message="The number of trials is too small", category=UserWarning)
                # a parameter that took one value in every trial: matplotlib widens its axis itself
                warnings.filterwarnings("ignore", message="Attempting to set identical", category=UserWarning)
                axes = getattr(plots, function)(study)
        except (ValueError, RuntimeError, UserWarning) as err:
            notes.append(f"{name}: not drawn ({err})")
            continue
        figure = getattr(axes, "figure", None) or axes.flat[0].figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        write_bytes(out / name, buffer.getvalue())
    return notes


__all__ = ["trials_table", "write_best_yaml", "write_plots", "write_summary", "write_table"]
