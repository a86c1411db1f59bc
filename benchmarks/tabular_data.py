"""The tables of benchmarks/tabular_suite.py: real data sets available offline, written as CSV.

Sources, all on this machine without a network:
  mlbench   R package (Debian `r-cran-mlbench`): its .rda files read with `pyreadr`
  MASS      R's recommended package (`r-cran-mass`, in every R install), and nlme's: their data
            sit in a lazy-load database pyreadr cannot read, so `Rscript` saves each one to an
            .rda first (scratch), which pyreadr then reads
  sklearn   scikit-learn's bundled sets (no download)

Each table is cleaned the way `layerwise run` cleans before it splits, so the run's rows are
the file's rows and every competitor can be given the same split: rows with a missing target
and exact duplicate rows (first kept) are dropped, and columns a table's entry names in `drop`
(an ID, an estimate made from the target) are removed. Nothing else is changed: categories stay
text, missing values stay empty cells.

`TABLES` documents each table: rows (after cleaning), task, target, source and why it is in
the suite. Run `.venv/bin/python benchmarks/tabular_data.py OUT_DIR` to write them all.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MLBENCH = Path("/usr/lib/R/site-library/mlbench/data")


@dataclass(frozen=True)
class Table:
    """One table of the suite: where it comes from, what is predicted, and why it is here."""

    name: str
    rows: int  # after cleaning (duplicates and missing targets dropped)
    task: str  # classification | regression
    target: str
    source: str
    why: str
    load: Callable[[], pd.DataFrame]
    drop: tuple[str, ...] = field(default=())
    codes: dict[str, str] = field(default_factory=dict)  # column: prefix, see `frame`
    quick: bool = False  # in `--quick`: small and fast


def mlbench(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import pyreadr  # a benchmark-only dependency (the Makefile target installs it)

        return next(iter(pyreadr.read_r(str(MLBENCH / f"{name}.rda")).values()))

    return load


def r_package(package: str, name: str) -> Callable[[], pd.DataFrame]:
    """A data set of an installed R package, through Rscript (saved as .rda) and pyreadr."""

    def load() -> pd.DataFrame:
        import pyreadr

        rscript = shutil.which("Rscript")
        if rscript is None:
            raise RuntimeError(f"{package}::{name} needs Rscript (apt-get install r-base-core)")
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / f"{name}.rda"
            # as.data.frame: nlme's groupedData carries classes and formulas pyreadr does not read
            code = (
                f'data("{name}", package = "{package}"); x <- as.data.frame({name}); '
                f'attr(x, "formula") <- NULL; save(x, file = "{out}")'
            )
            subprocess.run([rscript, "-e", code], check=True, capture_output=True)
            return pyreadr.read_r(str(out))["x"]

    return load


def sklearn(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklearn import datasets

        loader = getattr(datasets, f"load_{name}")
        options = {"scaled": False} if name == "diabetes" else {}  # real units: age in years, sex 1 or 2
        return loader(as_frame=True, **options).frame

    return load


def _tables(*entries: Table) -> dict[str, Table]:
    return {t.name: t for t in entries}


TABLES = _tables(
    # --- classification ----------------------------------------------------------------------
    Table(
        "Satellite", 6435, "classification", "classes", "mlbench",
        "Landsat pixels, 36 numeric bands, 6 classes: a medium-sized numeric table",
        mlbench("Satellite"),
    ),
    Table(
        "LetterRecognition", 18668, "classification", "lettr", "mlbench",
        "16 integer features, 26 classes, the largest table (the one-minute budget); 1,332 repeated rows",
        mlbench("LetterRecognition"),
    ),
    Table(
        "Sonar", 208, "classification", "Class", "mlbench",
        "208 rows, 60 numeric columns: wide and tiny, where networks overfit",
        mlbench("Sonar"), quick=True,
    ),
    Table(
        "Vehicle", 846, "classification", "Class", "mlbench",
        "silhouette features, 4 classes, two of them hard to tell apart",
        mlbench("Vehicle"), quick=True,
    ),
    Table(
        "Glass", 213, "classification", "Type", "mlbench",
        "213 rows, 6 unbalanced classes (one with 9 rows): small data, rare classes",
        mlbench("Glass"), quick=True,
    ),
    Table(
        "Ionosphere", 350, "classification", "Class", "mlbench",
        "radar returns: 32 numeric columns, a binary factor and a constant one",
        mlbench("Ionosphere"), quick=True,
    ),
    Table(
        "PimaIndiansDiabetes2", 768, "classification", "diabetes", "mlbench",
        "missing values (a zero meaning 'not measured' made NA): 652 empty cells, insulin half missing",
        mlbench("PimaIndiansDiabetes2"), quick=True,
    ),
    Table(
        "BreastCancer", 463, "classification", "Class", "mlbench",
        "ordinal 1-10 scores and 14 missing values; the Id column dropped, leaving many repeated rows",
        mlbench("BreastCancer"), drop=("Id",), quick=True,
    ),
    Table(
        "HouseVotes84", 342, "classification", "Class", "mlbench",
        "16 categorical y/n votes with 366 missing: all-categorical with missing values",
        mlbench("HouseVotes84"), quick=True,
    ),
    Table(
        "Soybean", 631, "classification", "Class", "mlbench",
        "19 classes, 35 coded categorical columns, 1,913 missing values",
        mlbench("Soybean"),
    ),
    Table(
        "breast_cancer", 569, "classification", "target", "sklearn",
        "30 numeric columns of very different scales, binary: the classic easy table",
        sklearn("breast_cancer"), quick=True,
    ),
    # --- regression --------------------------------------------------------------------------
    Table(
        "BostonHousing", 506, "regression", "medv", "mlbench",
        "house values: 13 numeric columns and a binary factor, a target capped at 50",
        mlbench("BostonHousing"), quick=True,
    ),
    Table(
        "Ozone", 361, "regression", "V4", "mlbench",
        "daily maximum ozone: 3 date-part factors and 196 missing values among the inputs",
        mlbench("Ozone"), quick=True,
    ),
    Table(
        "diabetes", 442, "regression", "target", "sklearn",
        "disease progression from 10 measurements: small and noisy (R^2 near 0.5 at best)",
        sklearn("diabetes"), quick=True,
    ),
    Table(
        "cpus", 209, "regression", "perf", "MASS",
        "CPU performance: a right-skewed target (6 to 1,150) from 6 machine specs; estperf (a model's "
        "estimate of perf) and the machine's name dropped",
        r_package("MASS", "cpus"), drop=("name", "estperf"), quick=True,
    ),
    Table(
        "nlschools", 2278, "regression", "lang", "MASS",
        "Dutch pupils' language scores: IQ, SES, and the class (133 levels) as a high-cardinality category",
        r_package("MASS", "nlschools"), codes={"class": "C"},
    ),
    Table(
        "MathAchieve", 7185, "regression", "MathAch", "nlme",
        "US pupils' maths scores: the school (160 levels), sex, minority, SES: a noisy medium table",
        r_package("nlme", "MathAchieve"), codes={"School": "S"},
    ),
)  # fmt: skip


def frame(name: str) -> pd.DataFrame:
    """The cleaned table: named columns dropped, rows without a target and repeated rows removed."""
    table = TABLES[name]
    df = table.load().drop(columns=list(table.drop))
    for column, prefix in table.codes.items():
        # a group's number (school 1224) is a name, not a quantity: written as text (S1224) so
        # every reader of the file sees a category, as R's factor says it is
        df[column] = prefix + df[column].astype(str)
    # through CSV text and back, so values are what the file holds (an R factor's codes as
    # text, 1.0 and 1 one value) and "repeated" means repeated in the file
    df = pd.read_csv(io.StringIO(df.to_csv(index=False)))
    df = df[df[table.target].notna()]
    return df[~df.duplicated(keep="first")].reset_index(drop=True)


def write(name: str, folder: Path) -> Path:
    """Write `name` as folder/name.csv (once: an existing file is kept) and return its path."""
    path = Path(folder) / f"{name}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".csv.part")
        frame(name).to_csv(scratch, index=False)
        scratch.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the CSV files")
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    args = parser.parse_args()
    for name in args.tables.split(",") if args.tables else TABLES:
        path = write(name, args.out)
        df = pd.read_csv(path)
        table = TABLES[name]
        flag = "" if len(df) == table.rows else f"  (documented {table.rows})"
        print(f"{name:22} {len(df):>6} rows {df.shape[1]:>3} columns {int(df.isna().sum().sum()):>5} missing{flag}")


if __name__ == "__main__":
    main()
