"""A run's record is written as it goes (training/runlog.py): OUT/run.log through `logging` and OUT/history.csv
a row an epoch, so a run killed at any moment keeps both; off a terminal one line per epoch on stderr."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from held_runs import held_run, kill_at_second_epoch_checkpoint, start
from rich.console import Console

from layerwise import experiment
from layerwise.experiment import steps
from layerwise.training import Callback
from layerwise.training.runlog import Steps

EPOCHS = 5


@pytest.fixture
def config(tmp_path):
    """A seeded 300-row regression table and a five-epoch config for it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    rows = ["a,b,y", *(f"{a:.4f},{b:.4f},{a - 2 * b:.4f}" for a, b in x)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = tmp_path / "e.yaml"
    path.write_text(
        "data: {path: d.csv, target: y}\nmodel: {hidden: [8]}\n"
        f"train: {{epochs: {EPOCHS}, patience: null, batch_size: 32, threads: 1}}\n"
        "evaluate: {report: false, bootstrap: 0, leakage: false}\n",
        encoding="utf-8",
    )
    return path


# A real `layerwise run`, held at the start of epoch 3 (epochs 1 and 2 done) until the test kills it.
HELD = held_run(
    """
    def on_epoch_start(self, trainer, epoch):
        if epoch == 3:
            (folder / "paused").touch()
            threading.Event().wait()  # for ever: the test kills us here
""",
)


def _rows(path: Path) -> list[list[str]]:
    """(epoch, train_loss, val_loss) of each row of a history.csv."""
    return [line.split(",")[:3] for line in path.read_text().splitlines()[1:]]


def test_a_run_killed_with_sigkill_keeps_its_run_log_and_history(tmp_path, config, cli):
    out = tmp_path / "run"
    err = kill_at_second_epoch_checkpoint(start(HELD, config, out, tmp_path), tmp_path, out)
    # off a terminal (a pipe here), one line per epoch went to stderr as it ended
    assert re.search(r"^epoch 2/5 train_loss \S+ val_loss \S+ val_metric \S+ lr 0.001 seconds \S+$", err, re.M), err

    log = (out / "run.log").read_text()
    assert "] read " in log and "] split: train 210" in log
    assert "] epoch 1/5 train_loss " in log and "] epoch 2/5 train_loss " in log and "epoch 3/5" not in log
    killed = _rows(out / "history.csv")
    assert [row[0] for row in killed] == ["1", "2"]

    # the oracle: the same run, uninterrupted
    assert cli("run", config, "--out", tmp_path / "whole", "--quiet")[0] == 0
    assert killed == _rows(tmp_path / "whole" / "history.csv")[:2]

    # continued with --resume: the published run.log tells the whole story, history.csv has every epoch once
    code, _, err = cli("run", config, "--out", out, "--quiet", "--resume")
    assert code == 0, err
    assert _rows(out / "history.csv") == _rows(tmp_path / "whole" / "history.csv")
    log = (out / "run.log").read_text()
    assert log.index("] epoch 2/5") < log.index("resumed by process") < log.index("] epoch 3/5")
    assert log.count("] epoch 2/5") == 1 and "] epoch 5/5" in log and "training: resumed from checkpoint" in log


def test_each_epoch_is_on_disk_when_it_ends(tmp_path, config, monkeypatch, cli):
    """Seen from inside the run: at every epoch's end, run.log and history.csv already hold it."""
    out, seen = tmp_path / "run", []

    class Look(Callback):  # runs after the run's own recorders
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(
                (epoch, len(_rows(out / "history.csv")), f"] epoch {epoch}/5 " in (out / "run.log").read_text())
            )
            if epoch == 3:
                raise RuntimeError("the disk went away")

    build = steps.run_trainer
    monkeypatch.setattr(
        steps,
        "run_trainer",
        lambda cfg, task, prepared, predictor, loss, log, extra=(), **kw: build(
            cfg, task, prepared, predictor, loss, log, [*extra, Look()], **kw
        ),
    )
    code, _, err = cli("run", config, "--out", out, "--quiet")
    assert code == 1 and "RuntimeError: the disk went away" in err
    assert seen == [(1, 1, True), (2, 2, True), (3, 3, True)]
    # a run that failed part-way keeps its record, and says how it stopped
    assert (out / "run.log").read_text().splitlines()[-1].endswith("] stopped: RuntimeError: the disk went away")


def test_off_a_terminal_each_epoch_is_a_line_on_stderr_unless_quiet(tmp_path, config, cli):
    code, _, err = cli("run", config, "--out", tmp_path / "a")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == [f"{k}/5" for k in range(1, 6)]
    assert all(
        " train_loss " in x and " val_loss " in x and " val_metric " in x and " lr " in x and " seconds " in x
        for x in lines
    )
    assert err.index("split: train 210") < err.index(lines[0]) < err.index("training: 5 epochs")
    code, _, err = cli("run", config, "--out", tmp_path / "b", "--quiet")
    assert code == 0 and "epoch 1/5" not in err
    # run.log is opened when training starts: a run refused before it leaves the earlier one's whole
    before = (tmp_path / "a" / "run.log").read_text()
    code, _, err = cli("run", config, "--out", tmp_path / "a", "--quiet", "--overwrite", "--set", "data.target=nope")
    assert code == 2 and "data.target: column 'nope'" in err
    assert (tmp_path / "a" / "run.log").read_text() == before


def test_run_log_lines_go_through_the_logging_module(tmp_path, config):
    """A handler on the `layerwise.run` logger hears every line run.log gets."""
    heard: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: heard.append(record.getMessage())
    logging.getLogger("layerwise.run").addHandler(handler)
    try:
        experiment.Experiment(str(config)).run(tmp_path / "run")
    finally:
        logging.getLogger("layerwise.run").removeHandler(handler)
    written = [line.split("] ", 1)[1] for line in (tmp_path / "run" / "run.log").read_text().splitlines()]
    assert heard == written and any(line.startswith("epoch 5/5 ") for line in heard)


def test_steps_show_a_line_per_tenth_off_a_terminal_and_a_bar_on_one(capsys):
    with Steps("reading images", 40, console=Console(file=io.StringIO())) as steps:
        for _ in range(40):
            steps.advance()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [f"reading images: {4 * k}/40" for k in range(1, 11)]
    with Steps("quiet", 40, quiet=True) as steps:
        steps.advance(40)
    assert capsys.readouterr().err == ""
    terminal = io.StringIO()
    with Steps("reading images", console=Console(file=terminal, force_terminal=True, width=100), redraw=0) as steps:
        steps(20, 40)  # as a reader's progress(done, total): the total may come late
        assert "reading images" in terminal.getvalue() and "20/40" in terminal.getvalue()
    assert capsys.readouterr().err == ""  # the bar replaces the lines
