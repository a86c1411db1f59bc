"""Debian package descriptions and their archive sections: a text classification data set.

`apt-cache dumpavail` prints one stanza per package the machine's apt lists know (about 64k on
Debian 12). Each gives a one-line short description ("Real-time strategy game of ancient
warfare") and a Section ("games"); the task is to predict the section from the description.
Only the short description is used: the long ones need Translation files, which apt does not
keep by default, and the Tag field is left out because it names the section ("game::strategy").

Steps, in order:
  1. parse the stanzas (a line starting with a space continues the field above; only the first
     line of Description is kept); keep packages with both a Description and a Section, strip a
     "contrib/" or "non-free/" prefix from the section;
  2. drop exact duplicate descriptions (after collapsing runs of whitespace), keeping the first
     in dumpavail's order. About 3,700 packages repeat an earlier one's text ("GNU Fortran
     compiler" for each gfortran version, "transitional dummy package" in many sections); a
     repeated text would otherwise sit in both train and test, and several hundred such texts
     carry more than one section, so no single label is right for them. One copy each leaves
     every text once, with one label;
  3. keep sections with at least `min_per_class` packages (after step 2);
  4. sample `rows` packages at random, stratified by section: each section gets its share of
     `rows` in proportion to its size (largest remainder), drawn with a seeded NumPy Generator;
     all of them if fewer remain;
  5. write `package,description,section` as UTF-8 CSV (pandas), sorted by package name.

The result depends on the machine's apt lists (distribution, release, components enabled), so a
data set built elsewhere differs; the committed test fixture is a snapshot.

The fixture tests/fixtures/debian-descriptions.csv (3,000 rows; Debian 12 "bookworm" main, amd64,
plus the container's two extra apt sources) was made on the development container with:

    .venv/bin/python benchmarks/debian_descriptions.py tests/fixtures/debian-descriptions.csv \\
        --rows 3000 --min-per-class 100 --seed 0

Run: `.venv/bin/python benchmarks/debian_descriptions.py OUT.csv [--rows 12000]
[--min-per-class 100] [--seed 0]` (a few seconds). Prints what each step kept.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from layerwise.errors import DataError, LayerwiseError

COLUMNS = ["package", "description", "section"]
PREFIXES = ("contrib/", "non-free/", "non-free-firmware/")


def dumpavail() -> str:
    """The text `apt-cache dumpavail` prints; a DataError where apt-cache is missing or fails."""
    apt_cache = shutil.which("apt-cache")
    if apt_cache is None:
        raise DataError(
            "apt-cache: not found on PATH; this data set is read from apt's package lists",
            hint="run this on a Debian or Ubuntu machine (benchmarks/text_classification.py also takes a CSV "
            "built there)",
        )
    done = subprocess.run([apt_cache, "dumpavail"], capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise DataError(
            f"apt-cache dumpavail: exited {done.returncode} with no package stanzas: "
            f"{done.stderr.decode(errors='replace').strip()[:300]}",
            hint="run `apt-get update` first so apt has package lists",
        )
    return done.stdout.decode("utf-8", errors="replace")


def parse(text: str) -> pd.DataFrame:
    """One row per stanza with both a Description and a Section: package, description, section."""
    rows = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue  # a continuation line (long description, Tag list) or noise
            key, value = line.split(":", 1)
            fields.setdefault(key, value.strip())
        description = " ".join(fields.get("Description", "").split())
        section = fields.get("Section", "")
        for prefix in PREFIXES:
            section = section.removeprefix(prefix)
        if fields.get("Package") and description and section:
            rows.append((fields["Package"], description, section))
    return pd.DataFrame(rows, columns=COLUMNS)


def select(
    packages: pd.DataFrame, *, rows: int = 12_000, min_per_class: int = 100, seed: int = 0, say=print
) -> pd.DataFrame:
    """Steps 2-4 of the module docstring on parsed packages; the sample sorted by package."""
    say(f"packages with a description and a section: {len(packages):,}")
    unique = packages.drop_duplicates("description", keep="first")
    say(f"after dropping repeated descriptions (first kept): {len(unique):,}")
    counts = unique["section"].value_counts()
    kept = counts[counts >= min_per_class].index
    frequent = unique[unique["section"].isin(kept)]
    say(f"in the {len(kept)} sections with at least {min_per_class} packages: {len(frequent):,}")
    if rows < len(frequent):
        frequent = stratified_sample(frequent, rows, seed)
    say(f"sampled: {len(frequent):,} rows, {frequent['section'].nunique()} sections")
    return frequent.sort_values("package").reset_index(drop=True)


def stratified_sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows of `frame`, each section's share proportional to its size (largest remainder)."""
    counts = frame["section"].value_counts(sort=False)
    ideal = rows * counts.to_numpy() / len(frame)
    share = np.floor(ideal).astype(np.int64)
    # the rows floor() left over go to the sections with the largest remainders
    for i in np.argsort(-(ideal - share), kind="stable")[: rows - int(share.sum())]:
        share[i] += 1
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(frame["section"].to_numpy() == section), size=n, replace=False)
        for section, n in zip(counts.index, share)
    ]
    return frame.iloc[np.sort(np.concatenate(picked))]


def build(*, rows: int = 12_000, min_per_class: int = 100, seed: int = 0, say=print) -> pd.DataFrame:
    """The data set from this machine's apt lists: columns package, description, section."""
    return select(parse(dumpavail()), rows=rows, min_per_class=min_per_class, seed=seed, say=say)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the CSV to write")
    parser.add_argument("--rows", type=int, default=12_000, help="rows to sample (all if fewer remain)")
    parser.add_argument("--min-per-class", type=int, default=100, help="drop sections with fewer packages")
    parser.add_argument("--seed", type=int, default=0, help="the sample's random seed")
    args = parser.parse_args()
    if args.rows < 1 or args.min_per_class < 1:
        parser.error("--rows and --min-per-class must be at least 1")
    try:
        frame = build(rows=args.rows, min_per_class=args.min_per_class, seed=args.seed)
    except LayerwiseError as error:
        sys.exit(f"error: {error}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False, encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
