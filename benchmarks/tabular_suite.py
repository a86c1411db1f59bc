"""layerwise's defaults for tables beside the best untuned references, on real tables and the same splits.

For every table of benchmarks/tabular_data.py (written once as CSV into WORK/data) and every seed:

  layerwise     `layerwise init CSV --target T -o defaults.yaml`, then `layerwise run defaults.yaml
                --set train.seed=SEED` through the CLI, as a user would: whatever init writes today
  plain_mlp     the same config with the model section replaced by {type: mlp, hidden: [128, 64],
                dropout: 0.1} and the train section by the one init wrote before issue 17 (AdamW,
                lr 1e-3, batch 64, 200 epochs, patience 20, weight decay 1e-4)
  hgb           scikit-learn HistGradientBoosting{Classifier,Regressor}, defaults: text columns as
                native categories (pandas category dtype, `categorical_features="from_dtype"`,
                categories from the training rows), missing values left as NaN. Its own early
                stopping (on above 10,000 rows) holds out part of the training rows, as it does by default
  sklearn_mlp   scikit-learn MLP{Classifier,Regressor}, defaults, in a Pipeline: median / most
                frequent imputation, one-hot for text columns, StandardScaler for numbers
  realmlp       pytabkit RealMLP_TD_{Classifier,Regressor}, defaults
  tabm          pytabkit TabM_D_{Classifier,Regressor}, defaults
                (pytabkit refuses missing numbers: the training median fills them for these two)

The split is layerwise's: the run's config names the fractions and method, `layerwise.data.split`
computes it here with the run's seed, and the suite checks it is the one the run used (the
run's predictions.csv holds the test rows' targets in order, metrics.json the part sizes). The
tables are cleaned before they are written (no repeated rows, no missing targets), so the
run's rows are the file's rows. Every competitor trains on the training rows only; the two
pytabkit models also get the validation rows as their validation set (early stopping / best
epoch, as they use one), as layerwise does; the scikit-learn models do not use them. All are
scored on the test rows (test rows of a class the training rows lack are dropped, as layerwise
drops them). Classification: test accuracy in percentage points; regression: test RMSE.
Seconds: training time (layerwise: metrics.json `seconds`; the others: `fit`).

The pytabkit models run in their own virtual environment (PEER_PYTHON, default
build/bench-venv/bin/python, made by `make bench-tables`), never a dependency of layerwise: this
script is started there with `--peer realmlp|tabm --job JOB.json` and prints one JSON line.
Every process is held to `--threads` (2) threads: OMP_NUM_THREADS and friends for the child
processes, threadpoolctl here.

The verdict columns: `best_ref` is the best of hgb / realmlp / tabm (mean over seeds);
`within_2` says whether layerwise's defaults are within 2 accuracy points, or 2% of RMSE, of it;
`beats_sk` whether they do at least as well as sklearn_mlp.

Run (from the repository root; `make bench-tables` installs what it needs and runs it all):

    .venv/bin/python benchmarks/tabular_suite.py --out build/tabular_suite/results.json
    .venv/bin/python benchmarks/tabular_suite.py --quick --skip-peers    # small tables, no pytabkit
    .venv/bin/python benchmarks/tabular_suite.py --tables Sonar,cpus --seeds 3
    .venv/bin/python benchmarks/tabular_suite.py --seeds 2 --first-seed 3 --out more.json  # seeds 3, 4

Time on 2 CPU cores shared with other work (load 4): 1 to 8 minutes a small table with the peers
(TabM-D is the slowest), far more for Satellite, MathAchieve and LetterRecognition; with
`--skip-peers` seconds a table. `--render a.json b.json` prints saved runs' table again (seeds of
several runs together).

Not a test: it prints figures and asserts nothing, except that each split is the run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COMPETITORS = ("layerwise", "plain_mlp", "hgb", "sklearn_mlp", "realmlp", "tabm")
REFERENCES = ("hgb", "realmlp", "tabm")
PEERS = ("realmlp", "tabm")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# The model and train sections `layerwise init` wrote for a table before issue 17 (git 4827142).
PLAIN_MODEL = {"type": "mlp", "hidden": [128, 64], "dropout": 0.1}
PLAIN_TRAIN = {
    "optimizer": "adamw",
    "lr": 0.001,
    "batch_size": 64,
    "epochs": 200,
    "patience": 20,
    "weight_decay": 0.0001,
}
WITHIN = 2.0  # accuracy points, or percent of the best RMSE


# --- the rows every competitor sees (no layerwise import: the peers' environment runs this too) --


def features(df: pd.DataFrame, target: str, train: np.ndarray) -> pd.DataFrame:
    """The inputs as pandas reads the CSV: numbers stay numbers (booleans 0/1), anything else is a
    category whose categories are the training rows' values (others become missing)."""
    x = df.drop(columns=[target]).copy()
    for column in x.columns:
        values = x[column]
        if pd.api.types.is_bool_dtype(values):
            x[column] = values.astype(float)
        elif not pd.api.types.is_numeric_dtype(values):
            seen = sorted(values.iloc[train].dropna().astype(str).unique())
            x[column] = pd.Categorical(values.astype(str).where(values.notna()), categories=seen)
    return x


def known_rows(y: pd.Series, train: np.ndarray, rows: np.ndarray, task: str) -> np.ndarray:
    """`rows` less those of a class the training rows lack (layerwise drops them too)."""
    if task != "classification":
        return rows
    return rows[y.iloc[rows].isin(set(y.iloc[train])).to_numpy()]


def score(task: str, actual: Any, predicted: Any) -> float:
    """Test accuracy in percentage points, or test RMSE."""
    actual, predicted = np.asarray(actual), np.asarray(predicted)
    if task == "classification":
        return float(100.0 * np.mean(actual.astype(str) == predicted.astype(str)))
    return float(np.sqrt(np.mean((actual.astype(float) - predicted.astype(float)) ** 2)))


def job_data(job: dict[str, Any]) -> tuple[pd.DataFrame, pd.Series, dict[str, np.ndarray]]:
    df = pd.read_csv(job["csv"])
    y = df[job["target"]]
    if job["task"] == "classification":
        y = y.astype(str)
    parts = {name: np.asarray(job[name], dtype=np.int64) for name in ("train", "val", "test")}
    for name in ("val", "test"):
        parts[name] = known_rows(y, parts["train"], parts[name], job["task"])
    return features(df, job["target"], parts["train"]), y, parts


def run_peer(name: str, job_path: Path) -> dict[str, Any]:
    """One pytabkit model on the job's split, in the peers' environment: its score and seconds."""
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor, TabM_D_Classifier, TabM_D_Regressor

    job = json.loads(job_path.read_text())
    threads = int(job["threads"])
    torch.set_num_threads(threads)
    x, y, parts = job_data(job)
    # pytabkit refuses NaN in numeric columns ("currently not allowed"): the training median fills them
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c]) and x[c].isna().any()]
    x[numeric] = x[numeric].fillna(x[numeric].iloc[parts["train"]].median())
    classification = job["task"] == "classification"
    models = {
        ("realmlp", True): RealMLP_TD_Classifier,
        ("realmlp", False): RealMLP_TD_Regressor,
        ("tabm", True): TabM_D_Classifier,
        ("tabm", False): TabM_D_Regressor,
    }
    model = models[(name, classification)](device="cpu", random_state=job["seed"], n_threads=threads, verbosity=0)
    target = y if classification else y.astype(float)
    train, val, test = parts["train"], parts["val"], parts["test"]
    start = time.perf_counter()
    model.fit(x.iloc[train], target.iloc[train], X_val=x.iloc[val], y_val=target.iloc[val])
    seconds = time.perf_counter() - start
    predicted = model.predict(x.iloc[test])
    return {"score": score(job["task"], target.iloc[test], predicted), "seconds": seconds}


# --- scikit-learn, in this process -----------------------------------------------------------


def sklearn_models(task: str, seed: int) -> dict[str, Any]:
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    classification = task == "classification"
    hgb = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    mlp = MLPClassifier if classification else MLPRegressor
    inputs = make_column_transformer(
        (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (
            make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
            make_column_selector(dtype_include="category"),
        ),
    )
    return {
        "hgb": hgb(categorical_features="from_dtype", random_state=seed),
        "sklearn_mlp": make_pipeline(inputs, mlp(random_state=seed)),
    }


def fit_sklearn(name: str, model: Any, job: dict[str, Any]) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning

    x, y, parts = job_data(job)
    if name == "hgb":
        # HistGradientBoosting takes at most 255 categories a column; above, the codes as numbers
        wide = [c for c in x.columns if isinstance(x[c].dtype, pd.CategoricalDtype) and len(x[c].cat.categories) > 255]
        for column in wide:
            x[column] = x[column].cat.codes.replace(-1, np.nan).astype(float)
    target = y if job["task"] == "classification" else y.astype(float)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the default budget is what is compared
        model.fit(x.iloc[parts["train"]], target.iloc[parts["train"]])
    seconds = time.perf_counter() - start
    return {
        "score": score(job["task"], target.iloc[parts["test"]], model.predict(x.iloc[parts["test"]])),
        "seconds": seconds,
    }


# --- layerwise, through its CLI -------------------------------------------------------------


def child_env(threads: int) -> dict[str, str]:
    return {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}


def layerwise_cli(args: argparse.Namespace) -> list[str]:
    if args.layerwise:
        return [args.layerwise]
    beside = Path(sys.executable).with_name("layerwise")  # the CLI of the environment running this script
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "layerwise.cli"]


def call(command: list[str], env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(command[1:3])}` exited {done.returncode}: {' / '.join(tail)}")


def plain_config(defaults: Path, seed: int) -> Path:
    """defaults.yaml with the pre-issue-17 model and train sections, written beside it."""
    import yaml

    config = yaml.safe_load(defaults.read_text())
    config["model"] = dict(PLAIN_MODEL)
    config["train"] = {**PLAIN_TRAIN, "seed": seed}
    path = defaults.with_name("plain_mlp.yaml")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def init_task(config: Path) -> str:
    import yaml

    return str((yaml.safe_load(config.read_text()).get("task") or {}).get("type"))


def run_layerwise(cli: list[str], config: Path, seed: int, env: dict[str, str], timeout: float) -> dict[str, Any]:
    out = config.with_suffix("")
    call(
        [*cli, "run", str(config), "--out", str(out), "--set", f"train.seed={seed}", "-q", "--overwrite"], env, timeout
    )
    metrics = json.loads((out / "metrics.json").read_text())
    return {"metrics": metrics, "predictions": pd.read_csv(out / "predictions.csv"), "folder": str(out)}


def layerwise_split(config: Path, df: pd.DataFrame, target: str, task: str, seed: int) -> dict[str, np.ndarray]:
    """The run's split, computed here from its config as prepare_rows computes it."""
    import yaml

    from layerwise.data import split

    settings = (yaml.safe_load(config.read_text()).get("data") or {}).get("split") or {}
    method = settings.get("method", "auto")
    labels = df[target].astype(str).to_numpy()
    if method == "auto":
        method = "stratified" if task == "classification" else "random"
        if method == "stratified" and pd.Series(labels).value_counts().min() < 2:
            method = "random"  # as layerwise falls back where a class has a single row
    fractions = {k: settings.get(k, v) for k, v in {"train": 0.7, "val": 0.15, "test": 0.15}.items()}
    parts = split(len(df), method=method, **fractions, y=labels if method == "stratified" else None, seed=seed)
    return {"train": parts.train, "val": parts.val, "test": parts.test}


def prepared_split(config: Path, seed: int) -> dict[str, np.ndarray]:
    """The rows each part of the run holds, from layerwise's own steps (read, check, prepare)."""
    from layerwise.config.schema import ExperimentConfig
    from layerwise.experiment import Experiment, steps
    from layerwise.training.runlog import RunLog

    experiment = Experiment(ExperimentConfig.from_yaml(config, overrides=[f"train.seed={seed}"]))
    cfg, task, log = experiment.config, experiment.task, RunLog(quiet=True)
    source, name = steps.read(cfg, task, None, log)
    kind = steps.check(cfg, task, source, name)
    return steps.prepare(cfg, task, source, kind, name, log).index


def check_split(
    run: dict[str, Any], config: Path, seed: int, df: pd.DataFrame, target: str, task: str, parts: dict[str, np.ndarray]
) -> str:
    """'' where the run used this split, else what differs. Three witnesses: layerwise's prepare
    step on the run's config (row numbers), metrics.json's part sizes, and predictions.csv's
    test targets in order."""
    y = df[target].astype(str) if task == "classification" else df[target]
    mine = {k: known_rows(y, parts["train"], v, task) for k, v in parts.items()}
    theirs = prepared_split(config, seed)
    differ = [k for k in mine if not np.array_equal(mine[k], np.asarray(theirs.get(k, [])))]
    if differ:
        return f"layerwise's prepare step put other rows in {differ}"
    sizes = run["metrics"].get("rows", {})
    if {k: sizes.get(k) for k in mine} != {k: len(v) for k, v in mine.items()}:
        return f"part sizes: run {sizes}, suite { {k: len(v) for k, v in mine.items()} }"
    actual = run["predictions"]["actual"]
    if task == "classification":
        same = actual.astype(str).tolist() == y.iloc[mine["test"]].tolist()
    else:
        same = np.allclose(actual.to_numpy(dtype=float), y.iloc[mine["test"]].to_numpy(dtype=float))
    return "" if same else "the run's test targets are not the suite's"


def layerwise_score(metrics: dict[str, Any], task: str) -> dict[str, Any]:
    test = metrics["test"]
    value = 100.0 * test["accuracy"] if task == "classification" else test["rmse"]
    return {"score": float(value), "seconds": float(metrics["seconds"]), "epochs": metrics.get("epochs")}


# --- one table, one seed ---------------------------------------------------------------------


def run_table(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from tabular_data import TABLES, write

    table = TABLES[name]
    csv = write(name, args.work / "data")
    df = pd.read_csv(csv)
    folder = args.work / name / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    env, cli, results = child_env(args.threads), layerwise_cli(args), {}
    defaults = folder / "defaults.yaml"
    defaults.unlink(missing_ok=True)
    task = table.task
    init = [*cli, "init", str(csv), "--target", table.target, "-o", str(defaults)]
    call(init, env, args.timeout)
    guessed = init_task(defaults)
    if guessed != task:  # a whole-number target read as classes, say: the user's --task settles it
        call([*init, "--task", task], env, args.timeout)
    parts = layerwise_split(defaults, df, table.target, task, seed)
    checks = []  # per finished run: '' where its split is the suite's, else what differs
    for label, config in (("layerwise", defaults), ("plain_mlp", None)):
        try:
            config = config or plain_config(defaults, seed)
            run = run_layerwise(cli, config, seed, env, args.timeout)
            if run["metrics"].get("task") != task:
                raise RuntimeError(f"init chose {run['metrics'].get('task')}, the suite {task}")
            results[label] = layerwise_score(run["metrics"], task)
        except Exception as error:  # a failed competitor is reported, the others still run
            results[label] = {"error": str(error)[:300]}
            continue
        try:
            checks.append(check_split(run, config, seed, df, table.target, task, parts))
        except Exception as error:  # layerwise's steps changed shape, say: the scores stand, unchecked
            checks.append(f"could not check ({label}): {str(error)[:200]}")
    job = {
        "csv": str(csv),
        "target": table.target,
        "task": task,
        "seed": seed,
        "threads": args.threads,
        **{k: v.tolist() for k, v in parts.items()},
    }
    for label, model in sklearn_models(task, seed).items():
        results[label] = fit_sklearn(label, model, job)
    job_path = folder / "split.json"
    job_path.write_text(json.dumps(job))
    for peer in PEERS:
        results[peer] = run_peer_process(peer, job_path, args, env)
    return {
        "table": name,
        "seed": seed,
        "task": task,
        "rows": len(df),
        "split": {k: len(v) for k, v in parts.items()},
        "split_check": next(
            (c for c in checks if c), "same as the run's" if checks else "not checked: no run finished"
        ),
        "init_guessed": guessed,  # task.type `init` wrote without --task
        "results": results,
    }


def run_peer_process(peer: str, job_path: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    if args.skip_peers:
        return {"error": "skipped (--skip-peers)"}
    python = Path(args.peer_python)
    if not python.exists():
        return {"error": f"not installed ({python} missing: `make bench-tables` makes it)"}
    command = [str(python), str(Path(__file__).resolve()), "--peer", peer, "--job", str(job_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over --timeout {args.timeout:g} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        if "No module named 'pytabkit'" in done.stderr:
            tail = [f"not installed (no pytabkit in {python})"]
        return {"error": tail[0][:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the table of figures --------------------------------------------------------------------


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per table: each competitor's mean score and seconds over seeds, and the verdicts."""
    rows = []
    for name in dict.fromkeys(r["table"] for r in records):
        runs = [r for r in records if r["table"] == name]
        task = runs[0]["task"]
        row: dict[str, Any] = {"table": name, "task": task, "rows": runs[0]["rows"], "seeds": len(runs)}
        for label in COMPETITORS:
            got = [r["results"][label] for r in runs if "score" in r["results"][label]]
            if len(got) == len(runs):
                row[label] = {
                    "score": float(np.mean([g["score"] for g in got])),
                    "seconds": float(np.mean([g["seconds"] for g in got])),
                }
            else:
                errors = [r["results"][label]["error"] for r in runs if "error" in r["results"][label]]
                row[label] = {"error": errors[0]}
        higher = task == "classification"
        refs = {k: row[k]["score"] for k in REFERENCES if "score" in row[k]}
        mine = row["layerwise"].get("score")
        if refs:
            best = max(refs, key=refs.get) if higher else min(refs, key=refs.get)
            row["best_ref"] = {"model": best, "score": refs[best]}
        if refs and mine is not None:
            gap = refs[best] - mine if higher else 100.0 * (mine / refs[best] - 1.0)
            row["gap_to_best"] = gap  # accuracy points short of the best, or percent RMSE above it
            row["within_2"] = gap <= WITHIN
        sk = row["sklearn_mlp"].get("score")
        if mine is not None and sk is not None:
            row["beats_sk"] = mine >= sk if higher else mine <= sk
        row["split_check"] = sorted({r["split_check"] for r in runs})
        row["init_guessed"] = sorted({r.get("init_guessed", task) for r in runs})
        rows.append(row)
    return rows


def cell(result: dict[str, Any], task: str) -> str:
    if "score" not in result:
        return next((w for w in ("not installed", "skipped") if result["error"].startswith(w)), "failed")
    figure = f"{result['score']:.1f}" if task == "classification" else f"{result['score']:.4g}"
    return f"{figure} ({result['seconds']:.1f}s)"


def render(rows: list[dict[str, Any]]) -> str:
    head = ["table", "task", "rows", *COMPETITORS, "best_ref", "gap", "within_2", "beats_sk"]
    lines = []
    for row in rows:
        task = row["task"]
        best = row.get("best_ref")
        gap = row.get("gap_to_best")
        lines.append(
            [
                row["table"],
                "cls acc%" if task == "classification" else "reg RMSE",
                str(row["rows"]),
                *(cell(row[label], task) for label in COMPETITORS),
                f"{best['model']}" if best else "-",
                "-" if gap is None else (f"{gap:+.1f}pt" if task == "classification" else f"{gap:+.1f}%"),
                {True: "yes", False: "NO"}.get(row.get("within_2"), "-"),
                {True: "yes", False: "NO"}.get(row.get("beats_sk"), "-"),
            ]
        )
    widths = [max(len(str(x)) for x in column) for column in zip(head, *lines)]
    text = [" ".join(h.ljust(w) for h, w in zip(head, widths))]
    text += [" ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in lines]
    within = [r["within_2"] for r in rows if "within_2" in r]
    beats = [r["beats_sk"] for r in rows if "beats_sk" in r]
    text.append(
        f"layerwise defaults within {WITHIN:g} (points / % RMSE) of the best reference on {sum(within)} of "
        f"{len(within)} tables; at least as good as sklearn_mlp on {sum(beats)} of {len(beats)}"
    )
    text.append("gap: accuracy points short of best_ref, or % of RMSE above it (negative: layerwise better)")
    failures = [
        f"  {row['table']} {label}: {row[label]['error']}"
        for row in rows
        for label in COMPETITORS
        if "error" in row[label] and not row[label]["error"].startswith(("not installed", "skipped"))
    ]
    mismatched = [
        f"  {row['table']}: {row['split_check']}" for row in rows if row["split_check"] != ["same as the run's"]
    ]
    guesses = [f"  {r['table']}: init wrote task {r['init_guessed']}" for r in rows if r["init_guessed"] != [r["task"]]]
    if guesses:
        text += ["tables where init guessed another task (rerun with --task, as a user would):", *guesses]
    if failures:
        text += ["failures:", *failures]
    if mismatched:
        text += ["split checks that failed:", *mismatched]
    return "\n".join(text)


def machine() -> dict[str, Any]:
    import layerwise

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True)
    return {
        "layerwise": str(Path(layerwise.__file__).parent),
        "commit": commit.strip(),
        "src_changed": bool(dirty.stdout.strip()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", help="comma-separated table names (default: all; see tabular_data.py)")
    parser.add_argument("--quick", action="store_true", help="the small tables only")
    parser.add_argument("--skip-peers", action="store_true", help="leave out the pytabkit models")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1: splits and models (default 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="start there: seeds F..F+N-1 (more of them later)")
    parser.add_argument("--out", type=Path, help="write every figure as JSON here")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "tabular_suite", help="CSVs and run folders")
    parser.add_argument("--threads", type=int, default=2, help="threads per process (default 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one model may take (default 1800)")
    parser.add_argument("--layerwise", help="the layerwise command (default: the one beside this Python)")
    parser.add_argument("--peer-python", default=str(ROOT / "build" / "bench-venv" / "bin" / "python"))
    parser.add_argument("--render", type=Path, nargs="+", help="print the table of saved --out files; run nothing")
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)  # inside the peers' environment
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(run_peer(args.peer, args.job)), flush=True)
        return
    if args.render:
        print(render(summarize([r for path in args.render for r in json.loads(path.read_text())["runs"]])))
        return
    from tabular_data import TABLES
    from threadpoolctl import threadpool_limits

    names = args.tables.split(",") if args.tables else [n for n, t in TABLES.items() if t.quick or not args.quick]
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"--tables: unknown {unknown}; the tables are {', '.join(TABLES)}")
    records, started = [], time.perf_counter()
    with threadpool_limits(args.threads):
        for name in names:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                clock = time.perf_counter()
                try:
                    record = run_table(name, seed, args)
                except Exception as error:  # init refused the table, say: the other tables still run
                    print(f"{name} seed {seed}: {error}", file=sys.stderr, flush=True)
                    continue
                records.append(record)
                brief = {k: cell(v, record["task"]) for k, v in record["results"].items()}
                print(f"{name} seed {seed} ({time.perf_counter() - clock:.0f}s): {brief}", file=sys.stderr, flush=True)
                if args.out:  # after every table, so an interrupted suite keeps what it measured
                    save(args, records, time.perf_counter() - started)
    print(render(summarize(records)))
    total = time.perf_counter() - started
    print(f"{len(names)} tables x {args.seeds} seed(s) in {total / 60:.1f} min, {args.threads} threads per process")


def save(args: argparse.Namespace, records: list[dict[str, Any]], seconds: float) -> None:
    report = {"setup": {**machine(), **vars(args)}, "minutes": seconds / 60, "tables": summarize(records)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**report, "runs": records}, indent=1, default=str))


if __name__ == "__main__":
    main()
