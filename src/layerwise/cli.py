"""The `layerwise` command: init, run, predict, evaluate, report, demo.

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


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")] = False,
) -> None:
    """From raw data to an honestly evaluated, saved neural network."""


@app.command()
def init(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    task: Annotated[
        Optional[str], typer.Option(help="classification | regression | forecast (default: from the target).")
    ] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Time column (orders rows; forecasting).")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write the YAML.")] = None,
    delimiter: Annotated[str, typer.Option(help="Field delimiter of a CSV file.")] = ",",
) -> None:
    """Write a commented experiment YAML inferred from DATA."""
    from .scaffold import write_config

    if task is not None and task not in ("classification", "regression", "forecast"):
        raise UsageError(f"--task {task!r}: use classification, regression or forecast")
    out = output or Path(data).with_suffix(".yaml")
    text = write_config(data, target=target, task=task, time=time, out=out, delimiter=delimiter)
    _err.print(f"wrote {out}")
    _err.print(text.split("\n", 1)[0])


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default runs/<config name>).")] = None,
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", help="Override a key: --set train.lr=0.01 (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict.")] = False,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 4 when the verdict is DO NOT DEPLOY.")] = False,
) -> None:
    """Run every step of CONFIG and write the run folder: bundle/, metrics.json, history.csv,
    predictions.csv, report.html, run.log."""
    from .config import ExperimentConfig
    from .experiment import Experiment

    cfg = ExperimentConfig.from_yaml(config, overrides=set_ or [])
    out = out or Path("runs") / Path(config).stem
    result = Experiment(cfg).run(out=out, quiet=quiet)
    print(result.summary(table=not quiet))
    if cfg.evaluate.report and not quiet:
        _err.print(f"report: {out / 'report.html'}")
    _apply_gate(gate, result.metrics)


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file with the features and the target.")],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Write metrics.json, predictions.csv and report.html here.")
    ] = None,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 4 when the verdict is DO NOT DEPLOY.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict.")] = False,
) -> None:
    """Judge BUNDLE on new labelled DATA: metrics with intervals beside the baseline, and the gate."""
    from .bundle import load
    from .data import read_table
    from .experiment import summary
    from .reassess import reassess, write

    model = load(bundle)
    frame = read_table(data, delimiter=model.delimiter)
    metrics, table = reassess(model, frame, source=str(data))
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


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder written by `layerwise run`.")],
    input: Annotated[Path, typer.Argument(help="CSV or Parquet file with the feature columns.")],
    output: Annotated[
        Optional[Path], typer.Option("-o", "--output", help="CSV or Parquet (by extension); default stdout CSV.")
    ] = None,
) -> None:
    """Apply BUNDLE's saved preprocessing and model to INPUT."""
    from .bundle import load
    from .data import read_table
    from .atomic import write_table

    model = load(bundle)
    frame = read_table(input, delimiter=model.delimiter)
    predictions = model.predict(frame, source=str(input))
    if output is None:
        predictions.to_csv(sys.stdout, index=False)
    else:
        write_table(predictions, output)
        _err.print(f"wrote {len(predictions)} rows to {output}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/bitcoin"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Forecast tomorrow's bitcoin close from its history, beside "tomorrow = today"."""
    from .config import ExperimentConfig
    from .experiment import Experiment

    config = _example("bitcoin.yaml")
    result = Experiment(ExperimentConfig.from_yaml(config)).run(out=out, quiet=quiet)
    print(result.summary(table=not quiet))


def _example(name: str) -> Path:
    # The examples live beside src/ in the repository (the Makefile installs it editable).
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = root / "examples" / name
        if candidate.is_file():
            return candidate
    raise UsageError(f"examples/{name} not found", hint="run `layerwise demo` from the layerwise repository")


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app and turns errors into one message and an exit code."""
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
        _err.print(Text.assemble(
            ("internal error: ", "bold red"),
            f"{type(err).__name__}: {err} (rerun with --debug for the traceback)",
        ))
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
