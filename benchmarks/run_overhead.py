"""Run overhead: where the wall time of a small `layerwise run` goes, beside its training.

Three small runs as a user types them (`layerwise init DATA`, then `layerwise run`), each in a
fresh process, with the config `init` writes:

  table     scikit-learn's breast_cancer, 569 rows x 30 columns (classification)
  forecast  a 7,305-row daily series (20 years: trend, weekly and yearly cycles, noise)
  images    400 of scikit-learn's 8x8 digits as PNG files in class folders

The child process wraps layerwise's public steps with timers (nothing in layerwise changes) and
reports the phases: start-up (Python, imports, config; up to Experiment.run), read (read +
check), prepare, build (the model, the Trainer), train (Trainer.fit), judge (test outputs,
metrics, intervals, the reference, the audit, diagnosis: waiting for the second process where the
run has one), folder (the bundle, the files and the report: drawn here, or waited for; its share
in report_wait), close (the second process's end) and teardown (from the command's return to the
process's end, measured outside it). Medians over the repeats. The target (issue 19): wall <=
training x 1.1 + 1 s, checked for the whole process and for the run itself (from Experiment.run's
start: what the run does, without Python's and torch's start-up).

`--one` also runs each without the run's second process (experiment/offload.py: everything in one
process, as before it), and `--gc` the way layerwise imported before issue 19 (the garbage
collector left running through the imports, nothing frozen); interleaved, for the difference.

Run: `.venv/bin/python benchmarks/run_overhead.py [--repeats 3] [--only table,forecast,images] [--one] [--gc]`.
Takes about 2 minutes on 2 cores (4 with --one or --gc). Not a test: it prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / "build" / "run_overhead"
PHASES = ("startup", "read", "prepare", "build", "train", "judge", "folder", "close", "teardown")


def make_data(work: Path) -> dict[str, Path]:
    """The three data sets and their `layerwise init` configs; {name: config path}."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer, load_digits

    work.mkdir(parents=True, exist_ok=True)
    layerwise = [str(Path(sys.executable).with_name("layerwise"))]
    made = {}
    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(work / "cancer.csv", index=False)
    made["table"] = (work / "cancer.csv", ["--target", "target"])
    rng = np.random.default_rng(0)
    days = pd.date_range("2000-01-01", periods=7305, freq="D")
    t = np.arange(len(days))
    value = 100 + 0.01 * t + 5 * np.sin(2 * np.pi * t / 7) + 10 * np.sin(2 * np.pi * t / 365.25)
    pd.DataFrame({"date": days, "value": value + rng.normal(0, 2, len(t))}).to_csv(work / "series.csv", index=False)
    made["forecast"] = (work / "series.csv", ["--target", "value", "--time", "date"])
    from PIL import Image

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images[:400], digits.target[:400], strict=True)):
        folder = work / "digits" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 255 / 16).astype(np.uint8)).save(folder / f"{i}.png")
    made["images"] = (work / "digits", [])
    configs = {}
    for name, (data, args) in made.items():
        config = work / f"{name}.yaml"
        config.unlink(missing_ok=True)  # init never replaces a file
        subprocess.run([*layerwise, "init", str(data), *args, "--output", str(config)], check=True)
        configs[name] = config
    return configs


def child(config: str, out: str, marks_path: str, mode: str) -> None:
    """One `layerwise run`, its phases timed; the marks go to `marks_path` as JSON. `mode` "plain" imports
    as before issue 19, without pausing and freezing the garbage collector; "one" runs without the
    second process (experiment/offload.py); "as-is" as the command runs."""
    marks: dict[str, float] = {"start": time.time()}
    spans: dict[str, float] = {}

    def timed(owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            started = time.time()
            try:
                return original(*args, **kwargs)
            finally:
                spans[phase] = spans.get(phase, 0.0) + time.time() - started
                marks[f"{phase}_end"] = time.time()

        setattr(owner, name, wrapper)

    import layerwise.cli as cli

    if mode != "plain":
        cli.start_up(["run"])  # what the `layerwise` command does first
    else:
        import torch._dynamo  # noqa: F401  the same imports, the collector left as it is

        import layerwise.experiment.run  # noqa: F401
    from layerwise import bundle
    from layerwise.experiment import steps
    from layerwise.experiment.offload import Offload
    from layerwise.experiment.run import Experiment
    from layerwise.training import Trainer

    for name, phase in (("read", "read"), ("check", "check"), ("prepare", "prepare"), ("fit", "fit")):
        timed(steps, name, phase)
    timed(steps, "run_metrics", "metrics")
    timed(bundle, "save", "bundle")
    timed(Trainer, "fit", "train")
    timed(Trainer, "fit_stream", "train")
    timed(steps, "write_run_folder", "folder")
    timed(Offload, "report", "report_wait")
    timed(Offload, "close", "close")
    if mode == "one":  # as before issue 19's second process: everything in the run's own process
        Offload.start = classmethod(lambda cls, modules: None)
    timed(Experiment, "run", "run")
    marks["imported"] = time.time()
    code = cli.main(["run", config, "--out", out, "--overwrite", "-q"])
    marks["returned"] = time.time()
    Path(marks_path).write_text(json.dumps({"code": code, "marks": marks, "spans": spans}))


def one_run(config: Path, repeat: int, mode: str) -> dict[str, float]:
    """The phases of one run in a fresh process, in seconds."""
    out, marks_path = WORK / f"out-{config.stem}", WORK / f"marks-{config.stem}-{repeat}.json"
    started = time.time()
    child_args = [sys.executable, __file__, "--child", str(config), str(out), str(marks_path), mode]
    subprocess.run(child_args, check=True, stdout=subprocess.DEVNULL)  # the summary a run prints
    ended = time.time()
    got = json.loads(marks_path.read_text())
    assert got["code"] == 0, got
    marks, spans = got["marks"], got["spans"]
    fit_end, metrics_end = marks["fit_end"], marks["metrics_end"]
    run_start = marks["run_end"] - spans["run"]
    phases = {
        "startup": run_start - started,
        "read": spans["read"] + spans["check"],
        "prepare": spans["prepare"],
        "build": spans["fit"] - spans["train"],
        "train": spans["train"],
        "judge": metrics_end - fit_end,
        "folder": spans["folder"],  # the bundle, the files, the report (drawn here, or waited for)
        "close": spans.get("close", 0.0),  # the second process's end
        "teardown": ended - marks["returned"],
    }
    phases["bundle"] = spans["bundle"]
    phases["report_wait"] = spans.get("report_wait", 0.0)  # of "folder": waiting for the second process's report
    phases["run_wall"] = spans["run"]
    phases["process_wall"] = ended - started
    # what no phase above holds: the task's test table, the summary printed, the folder published
    phases["unaccounted"] = phases["process_wall"] - sum(phases[p] for p in PHASES)
    return phases


def modes(args: argparse.Namespace) -> list[str]:
    return ["as-is"] + (["plain"] if args.gc else []) + (["one"] if args.one else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=None, help="comma-separated runs (table,forecast,images)")
    parser.add_argument("--gc", action="store_true", help="also run each without the paused, frozen collector")
    parser.add_argument("--one", action="store_true", help="also run each without the second process")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    configs = make_data(WORK)
    runs = [(n, mode) for n in configs if not args.only or n in args.only.split(",") for mode in modes(args)]
    results: dict[tuple[str, str], list[dict[str, float]]] = {run: [] for run in runs}
    for repeat in range(args.repeats):
        for name, mode in runs[repeat % len(runs) :] + runs[: repeat % len(runs)]:
            results[name, mode].append(one_run(configs[name], repeat, mode))
    for name, mode in runs:
        done = results[name, mode]
        med = {k: round(statistics.median(r[k] for r in done), 2) for k in done[0]}
        allowed = round(med["train"] * 1.1 + 1, 2)
        row = {"run": name, "mode": mode, **med, "allowed": allowed}
        row["process_within_target"] = med["process_wall"] <= allowed
        row["run_within_target"] = med["run_wall"] <= allowed
        print(json.dumps(row), flush=True)
    print(json.dumps({"cpus": len(os.sched_getaffinity(0)), "repeats": args.repeats}))


if __name__ == "__main__":
    main()
