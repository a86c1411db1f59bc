"""CSV reading speed: layerwise's reader against pandas' own, on a ~60 MB generated file.

Generates (once, into --folder, a temporary folder by default) a CSV of mixed columns: an id,
floats of full precision, prices with two decimals, counts with missing values, two text
categories (one with missing values), a yes/no flag and a daily date, about 60 MB. Then reads it
three ways, each in its own fresh Python process, so that each peak resident memory (VmHWM from
/proc/self/status) is that read's own:

  pandas_c        pd.read_csv(path): the C engine, pandas' default
  pandas_pyarrow  pd.read_csv(path, engine="pyarrow")
  layerwise       layerwise.data.read_table(path): what `layerwise run` and `init` use

Each line gives the fastest of --repeat reads (each in a fresh process) in seconds, the smallest
peak RSS, and the smallest growth of RSS over the process after its imports (what the read itself
cost), then the ratios of layerwise's figures to pandas' in the same run.

Measured on the 2-core development machine, shared (load 7 to 11, so the seconds wander by a
third between runs; the ratios are the figures to compare), 700,000 rows, 59 MB, best of 5.
Before issue 18 (item 4) layerwise decoded the whole file to a str, scanned every line with the
csv module to number a short row, parsed that str with the C engine, then read every float column
again as text (for "1.234"); figures taken by this script, run on that code:

  pandas_c          0.47 s   peak   268 MB  (+  166 MB)
  pandas_pyarrow    0.53 s   peak   330 MB  (+  228 MB)
  layerwise         7.38 s   peak   651 MB  (+  547 MB)   15.6x the time, 3.3x the memory of pandas_c

After: the C engine reads the file itself; the line scan runs only after a failed parse or a hint
of a short row, and a float column is read again only when its numbers allow "1.234"-like text
(the run just after the one above):

  pandas_c          0.42 s   peak   268 MB  (+  166 MB)
  pandas_pyarrow    0.56 s   peak   312 MB  (+  210 MB)
  layerwise         0.71 s   peak   271 MB  (+  167 MB)   1.7x the time, 1.0x the memory of pandas_c

An earlier pair of runs gave 13.6x before and 1.4x after.
(The remaining 0.1-0.2 s is mostly the search for "5.000" in the file that a column of whole
numbers with missing values, `count` here, needs.) pandas' pyarrow engine is the slower one on
two cores, and it gives other dtypes (dates, booleans with missing values): the C engine stays.

Run: `.venv/bin/python benchmarks/read_speed.py [--rows 700000] [--folder DIR] [--repeat 5]`.
Not a test: it prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

READERS = {
    "pandas_c": "import pandas as pd\nread = lambda p: pd.read_csv(p)",
    "pandas_pyarrow": "import pandas as pd\nread = lambda p: pd.read_csv(p, engine='pyarrow')",
    "layerwise": "from layerwise.data import read_table as read",
}

# Run in a fresh interpreter: imports, then the RSS before reading, then one read.
MEASURE = """
import json, sys, time
{setup}

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

before = rss("VmRSS:")
start = time.perf_counter()
frame = read(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": rss("VmHWM:"), "growth_mb": rss("VmHWM:") - before,
                  "rows": len(frame)}}))
"""


def generate(path: Path, rows: int) -> None:
    """A CSV of `rows` rows and ten mixed columns (about 100 bytes a row)."""
    import numpy as np
    import pandas as pd

    if path.exists():
        return
    rng = np.random.default_rng(0)
    counts = rng.poisson(20, rows).astype(float)
    counts[rng.random(rows) < 0.05] = np.nan  # ints with missing values read as floats
    city = rng.choice(["Lisbon", "Oslo", "Lima", "Osaka", "Quito", "Accra", "Perth"], rows).astype(object)
    city[rng.random(rows) < 0.02] = None
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "x1": rng.normal(size=rows),
            "x2": rng.normal(scale=100, size=rows),
            "price": np.round(rng.uniform(1, 500, rows), 2),
            "count": counts,
            "product": rng.choice([f"item-{i:03d}" for i in range(200)], rows),
            "city": city,
            "member": rng.choice(["yes", "no"], rows),
            "date": (np.datetime64("2001-01-01") + np.arange(rows) % 7305).astype(str),  # 20 years of days
            "y": rng.normal(size=rows),
        }
    )
    frame.to_csv(path, index=False, float_format="%.10g")


def measure(name: str, path: Path, repeat: int) -> dict:
    """The fastest of `repeat` reads and the smallest peak, each read in a fresh process."""
    code = MEASURE.format(setup=READERS[name])
    runs = [
        json.loads(
            subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(repeat)
    ]
    return {key: min(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"read-speed-{args.rows}.csv"
        generate(path, args.rows)
        print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB, {args.rows} rows, best of {args.repeat}")
        results = {name: measure(name, path, args.repeat) for name in READERS}
    for name, r in results.items():
        print(f"  {name:15s} {r['seconds']:6.2f} s   peak {r['peak_mb']:5.0f} MB  (+ {r['growth_mb']:4.0f} MB)")
    ours, ref = results["layerwise"], results["pandas_c"]
    print(
        f"layerwise / pandas_c: {ours['seconds'] / ref['seconds']:.2f}x the time, "
        f"{ours['growth_mb'] / ref['growth_mb']:.2f}x the memory growth"
    )
    fast = results["pandas_pyarrow"]
    print(
        f"layerwise / pandas_pyarrow: {ours['seconds'] / fast['seconds']:.2f}x the time, "
        f"{ours['growth_mb'] / fast['growth_mb']:.2f}x the memory growth"
    )


if __name__ == "__main__":
    main()
