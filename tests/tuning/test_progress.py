"""The search's live display (tuning/progress.py): off a terminal, one line on stderr per trial."""

from __future__ import annotations

import re

from layerwise import Experiment


def test_off_a_terminal_each_trial_is_a_line_on_stderr_unless_quiet(tmp_path, iris, capsys):
    cfg = {
        "data": {"target": "target"},
        "model": {"hidden": [8]},
        "train": {"epochs": 2, "patience": None, "batch_size": 16},
        "evaluate": {"bootstrap": 0, "report": False, "leakage": False},
        "tune": {"space": {"train.lr": {"choice": [0.01, 0.02, 0.05]}}, "method": "grid", "pruner": "none"},
    }
    Experiment(cfg, data=iris).tune(tmp_path / "loud", quiet=False)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tuning: ")]
    assert len(lines) == 3, lines
    for k, line in enumerate(lines):
        assert re.fullmatch(
            rf"tuning: trial {k} complete, validation accuracy \S+ in \S+s \({k + 1}/3\); best \S+ \(trial \d\)", line
        ), line
    Experiment(cfg, data=iris).tune(tmp_path / "quiet", quiet=True)
    assert "tuning: " not in capsys.readouterr().err
