"""A run's second process: the work that does not need the network, done while it trains.

A small run spends seconds outside training importing scikit-learn and matplotlib, fitting the
classical reference, auditing for leakage and drawing the report. None of it needs the trained
network but the report, and the reference and the audit need only the prepared data. Where a CPU
is free for it, a run starts `python -m layerwise.experiment.offload` before reading the data; that
process imports what its jobs need while this one reads and trains, fits the reference and runs
the audit as soon as it is handed the data, and draws the report into the staged run folder when
asked. The results are those of one process: the same functions on the same data (the reference's
budget counts the second process's CPU seconds, as it may share a CPU with training).

The second process leads its own session, so a thread count chosen under `threads: auto` counts it
as another process's work (data/resources.py), and Ctrl-C reaches only the run, which then stops
it; it ends when its input closes: when the run ends, or, when the run was killed, once the job at
hand is done (removing the data it was handed). Data goes through a private folder
as .npy and Feather files (no pickles) and JSON; requests and replies are JSON lines. Anything that
goes wrong there (data it cannot carry, the process cannot start, dies, or answers with an error)
leaves the job to the run's own process, as without a second one, and the run log says so.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the report's imports: matplotlib and scikit-learn's displays (the run hands it the architecture table: no torch)
REPORT_MODULES = ("layerwise.report", "sklearn.metrics", "sklearn.calibration")
AUDIT_MODULES = ("layerwise.evaluation.leakage", "sklearn.tree")
# with evaluate.explain, the report's explanations section (it loads torch and Captum)
EXPLAIN_MODULES = ("layerwise.explain.explanation", "layerwise.explain.attribute")
# Past these wall-clock seconds a job's reply is taken for never coming: the process is stopped and
# the run does the job itself. Longer than any report or audit takes; a reference's is its budget
# (evaluate.reference_seconds, CPU seconds there) four times over, plus REFERENCE_GRACE, for a loaded machine.
REPORT_SECONDS = AUDIT_SECONDS = 1800.0
REFERENCE_GRACE = 120.0
INDEX = "__index__"  # a carried frame's index, as a column of its Feather file


class Offload:
    """The run's end of it: `reference` and `audit` hand over a job and return a callable that waits for
    its result; `report` draws a staged run folder's report; `close` at the end."""

    def __init__(self, process: subprocess.Popen, folder: Path):
        self.process, self.folder = process, folder
        self.jobs = 0
        self.replies: dict[str, dict[str, Any]] = {}  # answers read while waiting for another
        self.unread = b""
        self.failed: str | None = None  # why the process is no longer used

    @classmethod
    def start(cls, modules: Sequence[str]) -> Offload | None:
        """The second process, importing `modules` at once; None where it cannot start."""
        # an embedded interpreter has no Python to start; a frozen application would start itself again
        if not sys.executable or getattr(sys, "frozen", False):
            return None
        # one thread for each of its libraries: its CPU is the one training leaves free
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        # the same layerwise as this process's: its folder first on the path, unless an installed one
        # (site-packages is on the path anyway, and before the standard library it could shadow it)
        here = str(Path(__file__).resolve().parents[2])
        if here not in {*site.getsitepackages(), site.getusersitepackages()}:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        folder = None
        try:
            folder = Path(tempfile.mkdtemp(prefix="layerwise-offload-"))
            with open(folder / "stderr.txt", "wb") as stderr:
                process = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(folder), *modules],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    env=env,
                    start_new_session=True,
                    bufsize=0,  # a request is written whole or fails at once, never left in a buffer
                )
        except OSError:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(process, folder)

    def reference(self, fit: Any, here: Callable[[], dict[str, Any]], log: Any) -> Callable[[], dict[str, Any]]:
        """A classical reference's fit (evaluation.classical.ReferenceFit); the callable returns judge's
        keywords, fitted there or, where that failed, by `here` (which builds the fit again: its data
        need not be kept while the network trains)."""
        seconds = fit.kwargs.get("seconds")
        call = {"fit": fit.fit, "name": fit.name, "args": fit.args, "kwargs": fit.kwargs}
        wait = None if seconds is None else 4 * seconds + REFERENCE_GRACE
        return self._submit("reference", call, here, f"fit {fit.name}", log, wait)

    def audit(self, audit: Any, here: Callable[[], list[dict[str, Any]]], log: Any) -> Callable[[], Any]:
        """The leakage audit (evaluation.leakage.Audit); the callable returns its warnings (`here` as above)."""
        for frame in (audit.train, audit.test):
            mixed = [c for c in frame.columns if frame[c].dtype == object and not _texts(frame[c])]
            if mixed:  # Arrow would type such a column per frame: train's and test's could differ
                log.write(f"evaluation: the leakage audit runs here (column '{mixed[0]}' mixes kinds of values)")
                return here
        call = {"train": audit.train, "test": audit.test, "settings": audit.settings}
        return self._submit("audit", call, here, "run the leakage audit", log, AUDIT_SECONDS)

    def report(self, folder: Path, log: Any, architecture: list[dict[str, Any]] | None = None) -> bool:
        """Draw the report of the staged run folder there, with the model's layers (models.summary) as the run
        has them; False (and a run log line) where it could not."""
        self.jobs += 1
        name = f"report-{self.jobs}"
        try:
            self._send({"job": "report", "name": name, "folder": str(folder), "architecture": architecture})
        except OSError:
            log.write(f"report: the second process could not draw it ({self.failed}); drawn here")
            return False
        error = self._answer(name, REPORT_SECONDS)
        if error is not None:
            log.write(f"report: the second process could not draw it ({error}); drawn here")
        return error is None

    def close(self) -> None:
        """Stop the second process and remove its folder. Every job the run asked for is done by now; one it
        did not ask for (the run failed first), or imports not yet done, are of no use to anyone."""
        try:
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:  # a process that already ended
                        pass
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Offload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(
        self, job: str, call: dict[str, Any], here: Callable[[], Any], what: str, log: Any, seconds: float | None
    ) -> Callable[[], Any]:
        self.jobs += 1
        name = f"{job}-{self.jobs}"
        try:
            write_call(self.folder / name, call)
            self._send({"job": job, "name": name})
        except OSError:  # the process has ended
            log.write(f"evaluation: the second process could not {what} ({self.failed}); done here")
            return here
        except Exception as err:  # noqa: BLE001 - data it cannot carry (an object array, an odd frame): here
            log.write(f"evaluation: the second process could not {what} ({type(err).__name__}: {err}); done here")
            return here

        def wait() -> Any:
            error = self._answer(name, seconds)
            if error is None:
                try:
                    return read_value(self.folder / name, json.loads((self.folder / name / "result.json").read_text()))
                except (OSError, ValueError, KeyError) as err:
                    error = f"{type(err).__name__}: {err}"
            log.write(f"evaluation: the second process could not {what} ({error}); done here")
            return here()

        return wait

    def _send(self, request: dict[str, Any]) -> None:
        """Write one request; OSError (and the process given up) where it has ended."""
        if self.failed is not None:
            raise OSError(self.failed)
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
        except OSError:
            self._give_up(f"it ended with exit code {self.process.wait()}: {self._stderr()}")
            raise

    def _answer(self, name: str, seconds: float | None) -> str | None:
        """Wait for job `name`'s reply: None when it was done, else why not (a process that died or
        stopped answering is given up: later jobs are done here)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while name not in self.replies:
            if self.failed is not None:
                return self.failed
            line = self._line(deadline)
            if line is None:
                return self.failed
            try:
                reply = json.loads(line)
                self.replies[str(reply["name"])] = reply
            except (ValueError, KeyError, TypeError):
                self._give_up(f"it answered what is not a reply: {line[:80]!r}")
                return self.failed
        reply = self.replies.pop(name)
        return None if reply["ok"] else str(reply["error"])  # one job failed; the process serves the next

    def _line(self, deadline: float | None) -> bytes | None:
        """The next reply line, read from the pipe unbuffered (select sees what is not yet read); None
        once the process is given up."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.unread:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            with selectors.DefaultSelector() as selector:  # (select.select fails for descriptors past 1023)
                selector.register(fd, selectors.EVENT_READ)
                ready = selector.select(left)
            chunk = os.read(fd, 1 << 16) if ready else None
            if chunk is None:
                self._give_up("it did not answer in time")
                return None
            if not chunk:
                self._give_up(f"it ended with exit code {self.process.wait()}: {self._stderr()}")
                return None
            self.unread += chunk
        line, self.unread = self.unread.split(b"\n", 1)
        return line

    def _give_up(self, why: str) -> None:
        self.failed = self.failed or why
        if self.process.poll() is None:
            self.process.kill()

    def _stderr(self) -> str:
        try:
            lines = (self.folder / "stderr.txt").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no error output"
        return lines[-1] if lines else "no error output"


def _texts(column: pd.Series) -> bool:
    """Whether an object column holds strings and missing values only (Arrow reads it back as it is)."""
    return all(isinstance(v, str) for v in column.dropna().tolist())


# -- a call's data, as files: arrays as .npy, frames as Feather, the rest as JSON --------------------


def write_call(folder: Path, value: Any) -> None:
    """`value` (arrays, frames, tuples, lists, str-keyed dicts, str, numbers, None) into folder/call.json."""
    folder.mkdir()
    (folder / "call.json").write_text(json.dumps(encode(value, folder, "in")))


def encode(value: Any, folder: Path, stem: str, count: list[int] | None = None) -> Any:
    """JSON for `value`, each array and frame saved as folder/STEM-N.npy or .feather and named in its place.
    Raises where it cannot be carried whole (an object array; a frame whose columns Arrow cannot type)."""
    count = [0] if count is None else count
    if isinstance(value, (np.ndarray, pd.DataFrame)):
        count[0] += 1
        if isinstance(value, np.ndarray):
            name = f"{stem}-{count[0]}.npy"
            np.save(folder / name, value, allow_pickle=False)  # an object array raises ValueError
            return {"__array__": name}
        name = f"{stem}-{count[0]}.feather"
        if not all(isinstance(c, str) for c in value.columns) or value.index.nlevels != 1:
            raise TypeError("a frame with column names that are not strings, or a multi-level index")
        value.rename_axis(None).reset_index(names=INDEX).to_feather(folder / name)
        return {"__frame__": name}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, folder, stem, count) for v in value]}
    if isinstance(value, list):
        return [encode(v, folder, stem, count) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) and not k.startswith("__") for k in value):
            raise TypeError("a dict key that is not a plain string")
        return {k: encode(v, folder, stem, count) for k, v in value.items()}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot carry a {type(value).__name__}")


def read_value(folder: Path, value: Any) -> Any:
    """encode's inverse."""
    if isinstance(value, dict):
        if "__array__" in value:
            return np.load(folder / value["__array__"], allow_pickle=False)
        if "__frame__" in value:
            return pd.read_feather(folder / value["__frame__"]).set_index(INDEX).rename_axis(None)
        if "__tuple__" in value:
            return tuple(read_value(folder, v) for v in value["__tuple__"])
        return {k: read_value(folder, v) for k, v in value.items()}
    if isinstance(value, list):
        return [read_value(folder, v) for v in value]
    return value


# -- the second process -----------------------------------------------------------------------------


def serve(folder: Path, modules: Sequence[str]) -> None:
    """Import `modules`, then do each request read from stdin until it closes, one JSON reply line each."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the replies
    from importlib import import_module

    for module in modules:
        import_module(module)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            do(request, folder / request["name"])
            reply: dict[str, Any] = {"name": request["name"], "ok": True}
        except Exception as err:  # noqa: BLE001 - any failure is reported, and the run does the job itself
            reply = {"name": request["name"], "ok": False, "error": f"{type(err).__name__}: {err}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    # The run is over, or died (killed, it could not stop this process): the data it handed over goes
    # too. No interpreter teardown (a second of it, with scikit-learn and matplotlib loaded).
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def do(request: dict[str, Any], folder: Path) -> None:
    """One job: the reference's keywords or the audit's warnings to folder/result.json, or the report."""
    if request["job"] == "report":
        from ..report import write_report

        write_report(request["folder"], architecture=request.get("architecture"))
        return
    call = read_value(folder, json.loads((folder / "call.json").read_text()))
    if request["job"] == "reference":
        from ..evaluation.classical import ReferenceFit

        fit = ReferenceFit(call["fit"], call["name"], call["args"], call["kwargs"])
        found: Any = fit.run(clock=time.process_time)  # the budget counts this process's CPU seconds
    elif request["job"] == "audit":
        from ..evaluation.leakage import Audit

        found = Audit(call["train"], call["test"], call["settings"]).run()
    else:
        raise ValueError(f"no job '{request['job']}'")
    (folder / "result.json").write_text(json.dumps(encode(found, folder, "out")))


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2:])
