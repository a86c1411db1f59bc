"""Scripts for a real `layerwise run` in a child process, held by a callback at an event the run
produces (an epoch starting, a batch ending) until the test acts: kills it, signals it, or says go.

The tests synchronise on the files the hold writes (`paused`) or reads (`go`), never on time.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

PROLOGUE = """
import sys, pathlib, threading
import layerwise
from layerwise.cli import main
from layerwise.experiment import steps
from layerwise.training import Callback

config, out, folder = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])

class Hold(Callback):
"""

EPILOGUE = """
build = steps.run_trainer
def with_hold(cfg, task, prepared, predictor, loss, log, extra=(), **kw):
    return build(cfg, task, prepared, predictor, loss, log, [*extra, Hold()], **kw)
steps.run_trainer = with_hold
"""

CLI_RUN = 'sys.exit(main(["run", config, "--out", out]))\n'
PYTHON_RUN = "layerwise.Experiment(config).run(out)\n"


def held_run(hook: str, run: str = CLI_RUN) -> str:
    """The child's script: `hook` is the Hold callback's method, indented as in a class body;
    `run` starts the run (the CLI by default) with argv CONFIG OUT FOLDER."""
    return PROLOGUE + hook.rstrip() + "\n" + EPILOGUE + run


def start(script: str, config, out, folder) -> subprocess.Popen:
    """The held run in a child process, its output piped as text."""
    args = [sys.executable, "-c", script, str(config), str(out), str(folder)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(ready, proc: subprocess.Popen, limit: float = 300.0) -> None:
    """Wait for `ready()` while the process runs: an event the run produces, never a guess at
    how long it takes (the limit only stops a hung test)."""
    begun = time.monotonic()
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - begun < limit, "the event never came"
        time.sleep(0.01)


def kill_at_second_epoch_checkpoint(proc: subprocess.Popen, folder, out) -> str:
    """Wait until the run is held and its epoch-2 checkpoint is written (in the background), then
    SIGKILL it; its stderr."""
    from layerwise.training import Checkpoints

    try:
        wait_until(lambda: (Path(folder) / "paused").exists(), proc)
        wait_until(lambda: (2, 0) in Checkpoints(Path(out) / "checkpoints").names(), proc)
    finally:
        proc.send_signal(signal.SIGKILL)  # held for ever otherwise
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return err
