"""The `layerwise` command: init, run, lr-find, tune, predict, explain, evaluate, report, demo.

Exit codes: 0 success, 2 usage or config error, 3 data error, 4 the deploy gate says
DO NOT DEPLOY (run --gate, evaluate --gate), 1 anything else.
Errors print one message; a traceback only with --debug.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from .errors import GATE_FAILED, LayerwiseError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="layerwise: from raw data to an honestly evaluated, saved neural network.",
)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("layerwise")  # the distribution's, which is what pip and bug reports speak of
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        from . import __version__ as installed
    typer.echo(f"layerwise {installed}")
    raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version of layerwise and exit.",
        ),
    ] = False,
) -> None:
    """From raw data to an honestly evaluated, saved neural network."""


@app.command()
def init(
    data: Annotated[
        Path,
        typer.Argument(help="CSV or Parquet file; a .txt file for generation; a folder of class folders for images."),
    ],
    target: Annotated[Optional[str], typer.Option("--target", help="The column to predict.")] = None,
    task: Annotated[
        Optional[str],
        typer.Option(help="classification | regression | forecast | generation (default: from the target)."),
    ] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Time column (orders rows; forecasting).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write the YAML.")] = None,
    delimiter: Annotated[str, typer.Option(help="Field delimiter of a CSV file.")] = ",",
) -> None:
    """Write a commented experiment YAML inferred from DATA."""
    from .config.scaffold import chosen_task, write_config

    task = chosen_task(data, target=target, task=task)
    out = output or Path(data).with_suffix(".yaml")
    text = write_config(data, target=target, task=task, time=time, out=out, delimiter=delimiter)
    _err.print(Text(f"wrote {out}"))  # Text: names from the data are not rich markup ("[/]")
    _err.print(Text(text.split("\n", 1)[0]))


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default runs/<config name>).")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a key: --set train.lr=0.01 (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict.")] = False,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 4 when the verdict is DO NOT DEPLOY.")] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue from the newest readable checkpoint in OUT/checkpoints; "
            "settings or data that differ from the checkpoint's are refused.",
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the earlier run in OUT (never files layerwise did not write).")
    ] = False,
    allow_changed: Annotated[
        Optional[list[str]],
        typer.Option(
            "--allow-changed",
            metavar="KEY",
            help="With --resume: let KEY differ from the checkpoint's, train.epochs or train.patience (repeatable).",
        ),
    ] = None,
) -> None:
    """Run every step of CONFIG and write the run folder: bundle/, metrics.json, history.csv,
    predictions.csv, report.html, run.log, checkpoints/. OUT is locked while the run lasts; a folder
    holding other files, or an earlier run without --overwrite or --resume, is refused before any work.
    Under `torchrun --nproc-per-node N` it trains with DistributedDataParallel; rank 0 writes and prints."""
    from .config.schema import ExperimentConfig
    from .experiment.run import Experiment
    from .training.distributed import leave, rank

    cfg = ExperimentConfig.from_yaml(config, overrides=set_ or [])
    out = out or Path("runs") / Path(config).stem
    try:
        result = Experiment(cfg).run(
            out=out, quiet=quiet or rank() != 0, resume=resume, overwrite=overwrite, allow_changed=allow_changed or ()
        )
    finally:
        leave()
    if rank() != 0:
        return
    print(result.summary(table=not quiet))
    if cfg.evaluate.report and not quiet:
        _err.print(f"report: {(result.out or out) / 'report.html'}")  # OUT/best/ after tuning
    _apply_gate(gate, result.metrics)


@app.command("lr-find")
def lr_find(
    config: Annotated[Path, typer.Argument(help="Experiment YAML.")],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="PNG path (default runs/<config name>-lr-find.png).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="Optimizer steps in the sweep (at least 10).")] = 200,
    start: Annotated[float, typer.Option("--start", help="First learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option("--end", help="Last learning rate.")] = 10.0,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a key: --set train.batch_size=128 (repeatable).")
    ] = None,
) -> None:
    """Sweep the learning rate exponentially over STEPS batches of the training split, stop when the
    loss diverges, suggest one (steepest descent of the smoothed loss) and save the loss-vs-lr PNG."""
    from .config.schema import ExperimentConfig
    from .experiment.run import Experiment

    if steps < 10 or not 0 < start < end:
        raise UsageError(f"lr-find: need --steps >= 10 and 0 < --start < --end (got {steps}, {start}, {end})")
    cfg = ExperimentConfig.from_yaml(config, overrides=set_ or [])
    found = Experiment(cfg).lr_find(steps=steps, start=start, end=end)
    path = found.save_plot(out or Path("runs") / f"{Path(config).stem}-lr-find.png")
    swept = f"{len(found.lrs)} steps, {found.lrs[0]:.2g} to {found.lrs[-1]:.2g}" if found.lrs else "no steps"
    stop = "; stopped when the loss diverged" if found.stopped_early else ""
    if found.suggestion is None:
        print(f"no suggestion: too few steps before the loss diverged ({swept}); try a lower --start")
    else:
        print(f"suggested lr: {found.suggestion:.3g} (steepest descent of the smoothed loss; {swept}{stop})")
    _err.print(f"plot: {path}")


@app.command()
def tune(
    config: Annotated[Path, typer.Argument(help="Experiment YAML with a tune section.")],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Tuning folder (default runs/<config name>-tune).")
    ] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", help="Finished trials the study should hold.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds for the whole search.")] = None,
    storage: Annotated[
        Optional[str], typer.Option("--storage", help="Study storage URL (default sqlite:///OUT/study.db).")
    ] = None,
    study: Annotated[Optional[str], typer.Option("--study", help="Study name (default the config name).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Local worker processes.")] = None,
    resume_study: Annotated[
        bool, typer.Option("--resume-study", help="Continue a stored study even if its search differs.")
    ] = False,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a key: --set tune.method=grid (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict.")] = False,
) -> None:
    """Search CONFIG's tune.space, retrain the best configuration, judge it once on test.

    Writes OUT/study.db, tuning.csv, tuning.json, best.yaml, PNG plots and OUT/best/ (the run folder).
    Every process given the same --storage and --study joins one search.
    """
    from .config.schema import ExperimentConfig
    from .experiment.run import Experiment
    from .tuning.storage import check_storage

    if storage is not None:
        check_storage(storage)  # a wrong URL or a file that is not a database: said before the data is read
    cfg = ExperimentConfig.from_yaml(config, overrides=set_ or [])
    out = out or Path("runs") / f"{Path(config).stem}-tune"
    found = Experiment(cfg).tune(
        out,
        quiet=quiet,
        resume_study=resume_study,
        trials=trials,
        timeout=timeout,
        storage=storage,
        study=study or Path(config).stem,
        workers=workers,
    )
    s = found.summary
    refit = "-" if found.refit_value is None else f"{found.refit_value:.5g}"
    print(
        f"best trial {s['best_trial']}: {s['metric']} {found.best_value:.5g}; retrained: {refit} "
        f"({s['trials']}; {s['epochs_spent']} epochs)"
    )
    print(found.result.summary(table=not quiet))
    _err.print(f"wrote {out / 'tuning.csv'}, {out / 'best.yaml'}, {out / 'best'}")


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    data: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet file with the features and the target; an image bundle: a folder of class folders."
        ),
    ],
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            help="Write metrics.json, predictions.csv and report.html here "
            "(a new folder, or an earlier evaluation's with --overwrite).",
        ),
    ] = None,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 4 when the verdict is DO NOT DEPLOY.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict.")] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace the earlier evaluation in OUT (never files layerwise did not write)."
        ),
    ] = False,
) -> None:
    """Judge BUNDLE on new labelled DATA: metrics with intervals beside the baseline, and the gate.
    OUT is locked while the command lasts; a folder holding other files, or an earlier evaluation
    without --overwrite, is refused before any work."""
    from contextlib import nullcontext

    from .bundle.store import load
    from .data import read_table
    from .experiment.evaluate import reassess, write
    from .experiment.run import summary
    from .experiment.run_folder import claim

    with claim(out, overwrite=overwrite, kind="evaluation") if out is not None else nullcontext():
        model = load(_bundle_path(bundle))
        # an image bundle reads a folder of class folders itself; a table bundle reads a file
        frame = data if model.images is not None else read_table(data, delimiter=model.delimiter)
        metrics, table = reassess(model, frame, source=str(data), progress=not quiet)
        print(summary(metrics, table=not quiet))
        if out is not None:
            write(out, metrics, table, model.spec())
            _err.print(f"wrote {out / 'metrics.json'}, {out / 'report.html'}")
    _apply_gate(gate, metrics)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `layerwise run`.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Default RUN_DIR/report.html.")] = None,
) -> None:
    """Write RUN_DIR/report.html: one self-contained page, plots embedded."""
    from .report import write_report

    path = write_report(run_dir, output)
    _err.print(f"wrote {path}")


def _apply_gate(gate: bool, metrics: dict) -> None:
    if gate and metrics.get("verdict") != "DEPLOY":
        _err.print(f"gate: {metrics.get('verdict')} (exit {GATE_FAILED})")
        raise typer.Exit(GATE_FAILED)


def _bundle_path(path: Path) -> Path:
    """BUNDLE as given, or the bundle/ of a run folder given in its place (said on stderr)."""
    from .bundle.store import locate

    found = locate(path)
    if found != Path(path):
        _err.print(Text(f"note: {path} is a run folder; using its bundle, {found}"))
    return found


def _output_file(path: Optional[Path], example: str) -> None:
    """Refuse, before any work, an -o/--output file that is an existing folder."""
    if path is not None and Path(path).is_dir():
        raise UsageError(
            f"-o/--output {path}: is a folder; give the name of a file to write",
            hint=f"for example -o {Path(path) / example}",
        )


# --unseen: one policy for predict, explain and serve (Preprocessor.unseen)
UNSEEN_HELP = (
    "Category values not seen in training: error (exit 3 naming column, values and rows) or warn "
    "(predict them as unknown categories; counted in an `unseen` column)."
)


def _warn_unseen(model, done: str) -> None:
    if model.features is not None and model.features.unseen_total:
        total = sum(model.features.unseen_total.values())
        _err.print(
            Text(
                f"warning: {total} category value(s) not seen in training {done} as unknown categories: "
                f"{model.features.describe_unseen()}"
            )
        )


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    input: Annotated[
        Path,
        typer.Argument(help="CSV or Parquet file with the feature columns; an image bundle: an image or a folder."),
    ],
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="CSV or Parquet (by extension); default stdout CSV.")
    ] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows predicted at a time.")] = 50_000,
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Accept model.pt weights, read with torch.load(weights_only=True).")
    ] = False,
    unseen: Annotated[str, typer.Option("--unseen", help=UNSEEN_HELP)] = "error",
) -> None:
    """Apply BUNDLE's saved preprocessing and model to INPUT.

    Files over 64 MiB are read, predicted and written in chunks (forecasts are read whole)."""

    from .bundle.store import load
    from .serving.batch import predict_file

    _output_file(output, "predictions.csv")
    model = load(_bundle_path(bundle), trust_pickle=trust_pickle)
    model.unseen = unseen
    if model.images is not None:  # an image bundle: INPUT is an image file or a folder of them
        _predict_images(model, input, output)
        return
    bar = _bar("predicting", "{task.percentage:>3.0f}%")
    with bar:
        task = bar.add_task("predict", total=None)
        rows = predict_file(
            model,
            input,
            output,
            chunk_rows=chunk_rows,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _warn_unseen(model, "predicted")
    if output is not None:
        _err.print(f"wrote {rows} rows to {output}")


def _bar(label: str, count: str):
    """A transient progress bar on stderr (off where stderr is not a terminal)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn(count),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
        disable=not _err.is_terminal,
    )


def _predict_images(model, source: Path, output: Optional[Path]) -> None:
    from .atomic import write_table

    bar = _bar("predicting images", "{task.completed}/{task.total}")
    with bar:
        shown = bar.add_task("predict", total=None)
        table = model.predict_images(
            source, source=str(source), progress=lambda done, total: bar.update(shown, completed=done, total=total)
        )
    if output is None:
        sys.stdout.write(table.to_csv(index=False))
        return
    write_table(table, output)
    failed = int(table["error"].notna().sum()) if "error" in table.columns else 0
    _err.print(
        f"wrote {len(table)} rows to {output}" + (f"; {failed} file(s) unreadable (see `error`)" if failed else "")
    )


@app.command()
def explain(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    data: Annotated[
        Optional[Path],
        typer.Argument(
            help="CSV or Parquet rows; an image bundle: an image or a folder; a generation bundle: "
            "a .txt file of prompts, one a line (default: the run's test split)."
        ),
    ] = None,
    rows: Annotated[
        Optional[str], typer.Option("--rows", help="Rows to explain: 0:100, 3,7,12 or all (from 0; default first 200).")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="ig | saliency | ablation | permutation.")] = "ig",
    steps: Annotated[int, typer.Option("--steps", help="Integrated Gradients steps.")] = 50,
    repeats: Annotated[int, typer.Option("--repeats", help="Permutation importance shuffles per feature.")] = 10,
    prompt: Annotated[
        Optional[list[str]], typer.Option("--prompt", help="A generation bundle: a prompt to explain (repeatable).")
    ] = None,
    next_char: Annotated[
        Optional[str],
        typer.Option("--next", help="A generation bundle: the next character explained (default: the likeliest)."),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("-o", "--output", help="Folder (default: the run folder's explain/, replaced each time)."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an earlier explanation in -o (never files layerwise did not write)."),
    ] = False,
    unseen: Annotated[
        Optional[str],
        typer.Option(
            "--unseen",
            help=UNSEEN_HELP + " Default: error for DATA; warn for the run's "
            "test split, which the run judged that way.",
        ),
    ] = None,
) -> None:
    """Explain BUNDLE's predictions: attributions.csv, importance.csv, explain.json and PNG plots.
    The folder is locked while the command lasts; one holding other files, or an earlier
    explanation in -o without --overwrite, is refused before any work."""
    from .bundle.store import load
    from .experiment.run_folder import claim
    from .explain import explain as explain_model

    bundle = _bundle_path(bundle)
    out = output or Path(bundle).resolve().parent / "explain"
    # the run's own explain/ is the run's output, replaced each time; a folder of the user's choice is not
    with claim(out, overwrite=overwrite or output is None, kind="explanation"):
        model = load(bundle)
        model.unseen = unseen or ("error" if data is not None else "warn")
        result = explain_model(
            model,
            data,
            rows=rows,
            method=method,
            steps=steps,
            repeats=repeats,
            out=out,
            prompts=prompt or None,
            target=next_char,
            progress=True,
        )
    _warn_unseen(model, "explained")
    for line in result.describe():  # one per prompt (text); none otherwise
        print(line)
    top = result.importance.groupby("method", sort=False).head(3)
    for method_name, part in top.groupby("method", sort=False):
        print(f"{method_name}: " + ", ".join(f"{f} {v:.4g}" for f, v in zip(part["feature"], part["importance"])))
    for check in result.checks:
        print(f"{check['check']}: {'pass' if check['passed'] else 'FAIL'}: {check['detail']}")
    for note in result.notes:
        _err.print(f"note: {note}")
    _err.print(f"wrote {out}")
    if output is None and (out.parent / "metrics.json").is_file():
        from .report import write_report

        _err.print(f"report: {write_report(out.parent)}")  # now with its Explanations section


@app.command()
def serve(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="Server processes.")] = 1,
    api_key_env: Annotated[
        Optional[str],
        typer.Option(
            "--api-key-env",
            help="Environment variable holding the API key (Bearer); every route but /health and /ready then needs it.",
        ),
    ] = None,
    public_docs: Annotated[
        bool,
        typer.Option(
            "--public-docs",
            help="With --api-key-env: serve /docs, /redoc and /openapi.json without "
            "the key (they list the inputs' categories and bounds).",
        ),
    ] = False,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="Largest request body (413 beyond).")] = 8.0,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most records per request (422 beyond).")] = 10_000,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a prediction may take (503 beyond).")] = 30.0,
    max_samples: Annotated[
        int, typer.Option("--max-samples", min=1, help="Most texts per /generate request (422 beyond).")
    ] = 1_000,
    max_image_pixels: Annotated[
        int, typer.Option("--max-image-pixels", min=1, help="An image bundle: most pixels per image (413 beyond).")
    ] = 4096 * 4096,
    max_text_chars: Annotated[
        Optional[int],
        typer.Option(
            "--max-text-chars",
            min=1,
            help="A bundle with text columns: most characters per text (422 beyond); default 100,000.",
        ),
    ] = None,
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Accept model.pt weights, read with torch.load(weights_only=True).")
    ] = False,
    unseen: Annotated[
        str,
        typer.Option(
            "--unseen",
            help="Category values not seen in training: error (422 naming "
            "the field) or warn (predicted as unknown; counted in "
            "each answer's `unseen`).",
        ),
    ] = "error",
) -> None:
    """Serve BUNDLE over HTTP: POST /predict (/generate for a generation bundle), GET /health, /ready, /metadata.

    An image bundle's POST /predict takes {"images": [base64 files]}, and POST /predict/files multipart uploads.
    The bundle is loaded and the port bound before the address is printed."""
    from .serving.app import Limits
    from .serving.server import serve as run_server

    limits = Limits(
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        max_batch=max_batch,
        timeout_s=timeout,
        max_samples=max_samples,
        max_image_pixels=max_image_pixels,
        **({} if max_text_chars is None else {"max_text_chars": max_text_chars}),
    )
    bundle = _bundle_path(bundle)
    keyed = ", with the API key" if api_key_env and not public_docs else ""

    def listening(url: str) -> None:
        _err.print(Text(f"serving {bundle} on {url} (docs at {url}/docs{keyed})"))

    run_server(
        bundle,
        host=host,
        port=port,
        workers=workers,
        api_key_env=api_key_env,
        limits=limits,
        trust_pickle=trust_pickle,
        public_docs=public_docs,
        listening=listening,
        unseen=unseen,
    )


@app.command()
def export(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write, e.g. model.onnx.")],
    format: Annotated[str, typer.Option("--format", help="onnx | torchscript")] = "onnx",
    data: Annotated[
        Optional[Path],
        typer.Option(
            "--data", help="Rows (an image bundle: an image folder) to verify on (default: random standardized inputs)."
        ),
    ] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Largest absolute difference allowed.")] = 1e-4,
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Accept model.pt weights, read with torch.load(weights_only=True).")
    ] = False,
) -> None:
    """Export BUNDLE's network to ONNX or TorchScript, verified against torch before it is written."""
    import json
    import math

    from .bundle.store import load
    from .data import read_table
    from .serving.export import export as export_model
    from .serving.export import sidecar

    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise UsageError(
            f"--tolerance {tolerance:g}: must be a finite number >= 0 (the largest absolute difference "
            "allowed between the exported file and torch)",
            hint="the default is 1e-4",
        )
    _output_file(output, f"model.{'onnx' if format == 'onnx' else 'pt'}")
    bundle = _bundle_path(bundle)
    model = load(bundle, trust_pickle=trust_pickle)
    # an image bundle verifies on an image folder (or file), read by the bundle itself
    frame = None if data is None else data if model.images is not None else read_table(data, delimiter=model.delimiter)
    spec = json.loads((bundle / "spec.json").read_text(encoding="utf-8"))  # verified by load()
    if format == "torchscript":
        _err.print("note: PyTorch deprecates TorchScript (torch.jit); --format onnx is the lasting choice")
    checked = export_model(model, output, format=format, data=frame, tolerance=tolerance, spec=spec)
    lengths = f", sequence lengths {checked.lengths}" if checked.lengths else ""
    _err.print(
        f"wrote {output}: verified on {checked.rows} held-out inputs at batch sizes {checked.batch_sizes}"
        f"{lengths}; largest difference from torch {checked.max_abs_diff:.2e}; interface in {sidecar(output)}"
    )


@app.command()
def generate(
    bundle: Annotated[Path, typer.Argument(help="A generation bundle written by `layerwise run`.")],
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="How many samples.")] = 20,
    temperature: Annotated[float, typer.Option(min=0.01, max=10.0, help="Below 1: safer; above 1: more varied.")] = 0.8,
    top_k: Annotated[
        Optional[int], typer.Option("--top-k", min=1, help="Keep only the k likeliest characters.")
    ] = None,
    prompt: Annotated[str, typer.Option(help="Text every sample starts with.")] = "",
    seed: Annotated[Optional[int], typer.Option(help="Seed, for the same samples again.")] = None,
) -> None:
    """Print N samples from a generation BUNDLE, one per line."""
    from .bundle.store import load

    model = load(_bundle_path(bundle))
    for sample in model.generate(n, temperature=temperature, top_k=top_k, prompt=prompt, seed=seed):
        print(sample)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/bitcoin"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Forecast tomorrow's bitcoin close from its history, beside "tomorrow = today"."""
    from .config.schema import ExperimentConfig
    from .experiment.run import Experiment

    config = _example("bitcoin.yaml")
    # the demo's own folder: rerunning the demo replaces its earlier run (never other files)
    result = Experiment(ExperimentConfig.from_yaml(config)).run(out=out, quiet=quiet, overwrite=True)
    print(result.summary(table=not quiet))


def _example(name: str) -> Path:
    # The examples live beside src/ in the repository (the Makefile installs it editable).
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / "examples" / name
        if candidate.is_file():
            return candidate
    raise UsageError(f"examples/{name} not found", hint="run `layerwise demo` from the layerwise repository")


# the commands that train: their process imports torch, pandas and scikit-learn's trees
TRAINING_COMMANDS = ("run", "tune", "lr-find", "demo")


def start_up(argv: list[str]) -> None:
    """For the `layerwise` command, a process of its own: when it trains, import what training
    uses with the garbage collector paused, then freeze the imported objects (gc.freeze). They
    live as long as the process, and the collector need not walk them again, during the run or at
    its exit: 1.1 to 1.5 s of collections and 1.4 to 1.8 s of exit in a short run before
    (benchmarks/run_overhead.py --gc). Not for `main(argv)` called from Python, whose process
    goes on: freezing there would keep its garbage of the moment for good."""
    import gc

    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in TRAINING_COMMANDS or "layerwise.experiment.run" in sys.modules:
        return
    was = gc.isenabled()
    gc.disable()
    try:
        import torch._dynamo  # noqa: F401  every torch optimizer imports it when first made

        from .experiment import run  # noqa: F401
    except Exception:  # noqa: S110  the command imports it again and reports what failed
        pass
    finally:
        if was:
            gc.enable()
    gc.freeze()


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app and turns errors into one message and an exit code."""
    if argv is None:  # the console command
        start_up(sys.argv[1:])
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        # Outside standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="layerwise", standalone_mode=False)
    except LayerwiseError as err:
        if debug:
            raise
        _err.print(Text.assemble(("error: ", "bold red"), str(err)))
        return err.exit_code
    except typer.Exit as err:
        return err.exit_code
    except typer.TyperException as err:  # usage errors of the command line itself
        show = getattr(err, "show", None)
        show() if show else _err.print(str(err))
        return max(2, getattr(err, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        _err.print("interrupted")
        return 130
    except Exception as err:  # a bug: say so plainly, traceback on request
        if debug:
            raise
        _err.print(
            Text.assemble(
                ("internal error: ", "bold red"),
                f"{type(err).__name__}: {err} (rerun with --debug for the traceback)",
            )
        )
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
