"""`pip install layerwise` is a slim core; each optional feature is an extra, and a missing one
is one UsageError naming the `pip install "layerwise[x]"` to run. The wheel is built here, from
the installed setuptools, with no network, and installed where only its core dependencies are
(tests/fresh_venv.py); layerwise-onnx is installed where torch is not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fresh_venv import build_wheel, clean_env, copy_source, fresh_venv, name, pip
from packaging.requirements import Requirement

from layerwise.errors import EXTRAS

# What each extra brings, as pyproject.toml lists it: none of it may be in the core.
EXTRA_PACKAGES = {
    "serve": {"fastapi", "uvicorn", "python-multipart"},
    "onnx": {"onnx", "onnxscript", "onnxruntime"},
    "explain": {"captum"},
    "tune-postgres": {"psycopg"},
    "tune-postgres-binary": {"psycopg"},
    "images": {"pillow", "torchvision"},
    "tensorboard": {"tensorboard"},
    "text": {"tokenizers"},
}
# The import names of those packages (and of what they alone bring), absent from a core install.
EXTRA_MODULES = [
    "fastapi",
    "starlette",
    "uvicorn",
    "python_multipart",
    "multipart",
    "onnx",
    "onnxscript",
    "onnxruntime",
    "captum",
    "psycopg",
    "psycopg_binary",
    "tensorboard",
    "tokenizers",
    "torchvision",
]


def _metadata(wheel: Path) -> tuple[list[Requirement], list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(path).decode("utf-8"))
    return [Requirement(r) for r in meta.get_all("Requires-Dist")], meta.get_all("Provides-Extra")


def _needs(requirements: list[Requirement], extra: str) -> set[str]:
    """The distributions (and self-references to layerwise's extras) that `extra` adds."""
    return {
        name(r.name) + (f"[{','.join(sorted(r.extras))}]" if r.extras else "")
        for r in requirements
        if r.marker is not None and r.marker.evaluate({"extra": extra})
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = copy_source(tmp_path_factory.mktemp("layerwise-src"), "pyproject.toml", "README.md", "src")
    return build_wheel(source, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A small regression table with a category column."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=120), "b": rng.normal(size=120), "city": rng.choice(["Oslo", "Lima", "Pune"], size=120)}
    )
    frame["y"] = 2 * frame["a"] - frame["b"] + (frame["city"] == "Oslo") + rng.normal(scale=0.1, size=120)
    path = tmp_path_factory.mktemp("table") / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_wheels_core_requires_none_of_the_extras_packages(wheel):
    requirements, extras = _metadata(wheel)
    core = {name(r.name) for r in requirements if r.marker is None}
    assert "torch" in core and "optuna" in core and "matplotlib" in core
    assert not core & set().union(*EXTRA_PACKAGES.values())
    for extra, packages in EXTRA_PACKAGES.items():
        assert extra in extras
        assert {p.partition("[")[0] for p in _needs(requirements, extra)} == packages, extra
    assert "psycopg[binary]" in _needs(requirements, "tune-postgres-binary")  # the binary build: opt-in only
    assert _needs(requirements, "all") == {"layerwise[" + ",".join(sorted(EXTRAS)) + "]"}
    assert set(EXTRAS) <= set(extras)  # every extra a MissingExtra names can be installed


def test_the_core_alone_installs_and_runs_and_each_extra_is_named_when_missing(wheel, table, tmp_path):
    requirements, _ = _metadata(wheel)
    python = fresh_venv(tmp_path / "venv", [str(r) for r in requirements if r.marker is None])
    installed = pip(python, "install", "--no-deps", "--no-index", "--quiet", str(wheel))
    assert installed.returncode == 0, installed.stderr
    checked = pip(python, "check")
    assert checked.returncode == 0 and "No broken requirements" in checked.stdout, checked.stdout + checked.stderr
    probe = (
        "import importlib.util, json, layerwise; print(json.dumps([layerwise.__file__, "
        f"[m for m in {EXTRA_MODULES!r} if importlib.util.find_spec(m)]]))"
    )
    where, present = json.loads(
        subprocess.run(
            [str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path, env=clean_env()
        ).stdout
    )
    assert where.startswith(str(tmp_path / "venv")) and present == []  # the wheel's code, and no extra

    def layerwise(*args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(tmp_path / "venv" / "bin" / "layerwise"), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=clean_env(),
        )

    for args in (
        ("init", table, "--target", "y", "-o", "exp.yaml"),
        ("run", "exp.yaml", "--out", "run", "--set", "train.epochs=2", "--quiet"),
        ("predict", "run/bundle", table, "-o", "out.csv"),
    ):
        done = layerwise(*args)
        assert done.returncode == 0, f"layerwise {args[0]}: {done.stderr}"
    assert (tmp_path / "run" / "report.html").is_file() and len(pd.read_csv(tmp_path / "out.csv")) == 120
    for extra, args in (
        ("serve", ("serve", "run/bundle")),
        ("explain", ("explain", "run/bundle")),
        ("onnx", ("export", "run/bundle", "-o", "m.onnx")),
    ):
        done = layerwise(*args)
        assert done.returncode == 2 and f'pip install "layerwise[{extra}]"' in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 2  # message and hint


# Each case runs `layerwise.cli.main` where the extras' modules cannot be found (a PathFinder that
# hides them), in one interpreter: each command stops at its first optional import.
HIDDEN = [*EXTRA_MODULES, "PIL"]
PREAMBLE = """
import importlib.machinery, json, sys
from contextlib import redirect_stderr
from io import StringIO

class Hidden(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return super().find_spec(name, path, target)

sys.meta_path[sys.meta_path.index(importlib.machinery.PathFinder)] = Hidden
from layerwise.cli import main

answers = []
for args in CASES:
    with redirect_stderr(StringIO()) as err:
        answers.append([main(args), err.getvalue()])
print(json.dumps(answers))
"""


def test_each_missing_extra_is_one_usage_error_naming_its_pip_install(table, digit_folders, tmp_path):
    config = tmp_path / "exp.yaml"
    subprocess.run(
        [sys.executable, "-m", "layerwise.cli", "init", str(table), "--target", "y", "-o", str(config)],
        check=True,
        capture_output=True,
    )

    def run(out: str) -> list[str]:
        return ["run", str(config), "--out", str(tmp_path / out), "--quiet", "--set", "train.epochs=1"]

    reviews = tmp_path / "reviews.csv"
    words = ["great value", "broke in a week", "arrived late and damaged", "works as described"]
    pd.DataFrame({"review": [words[i % 4] + f" order {i}" for i in range(60)], "y": [i % 2 for i in range(60)]}).to_csv(
        reviews, index=False
    )
    text_config = tmp_path / "text.yaml"
    text_config.write_text(f"data: {{path: {reviews}, target: y, columns: {{review: text}}}}\n", encoding="utf-8")

    cases = {
        "serve": ["serve", str(tmp_path / "bundle")],
        "explain": ["explain", str(tmp_path / "bundle")],
        "onnx": None,  # below, on a real bundle: export reads it first
        "tune-postgres": ["tune", str(config), "--storage", "postgresql://u@127.0.0.1:9/db", "--trials", "1"],
        "images": ["init", str(digit_folders["train"]), "-o", str(tmp_path / "digits.yaml")],
        "tensorboard": [*run("tensorboard"), "--set", "train.tensorboard=true"],
        "text": ["run", str(text_config), "--out", str(tmp_path / "text"), "--quiet"],
    }
    assert set(cases) == set(EXTRAS)
    bundle = tmp_path / "made" / "bundle"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "layerwise.cli",
            "run",
            str(config),
            "--out",
            str(bundle.parent),
            "--quiet",
            "--set",
            "train.epochs=1",
            "--set",
            "evaluate.report=false",
        ],
        check=True,
        capture_output=True,
    )
    cases["onnx"] = ["export", str(bundle), "-o", str(tmp_path / "m.onnx")]
    early = [*run("explained"), "--set", "evaluate.explain=true"]  # refused before training, not after it
    script = f"HIDDEN = {HIDDEN!r}\nCASES = {[*cases.values(), early]!r}\n" + PREAMBLE
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout.splitlines()[-1])
    for (extra, args), (code, err) in zip([*cases.items(), ("explain", early)], answers):
        assert code == 2, (args, err)
        assert err.startswith("error: ") and f'hint: pip install "layerwise[{extra}]"' in err, (args, err)
        assert EXTRAS[extra].purpose in err and "Traceback" not in err
    assert "or set train.tensorboard: false" in answers[list(cases).index("tensorboard")][1]
    assert "layerwise[tune-postgres-binary]" in answers[list(cases).index("tune-postgres")][1]
    assert not (tmp_path / "explained").exists()  # evaluate.explain: refused before the run folder, or training


def test_layerwise_onnx_installs_without_torch_and_predicts_as_the_bundle(table, tmp_path, cli):
    import layerwise

    assert cli("init", table, "--target", "y", "-o", tmp_path / "exp.yaml")[0] == 0
    code, _, err = cli(
        "run",
        tmp_path / "exp.yaml",
        "--out",
        tmp_path / "run",
        "--quiet",
        "--set",
        "train.epochs=3",
        "--set",
        "evaluate.report=false",
    )
    assert code == 0, err
    assert cli("export", tmp_path / "run" / "bundle", "-o", tmp_path / "m.onnx")[0] == 0
    rows = pd.read_csv(table).drop(columns=["y"])
    expected = layerwise.load(tmp_path / "run" / "bundle").predict(rows)["prediction"].to_numpy()

    source = copy_source(tmp_path / "src", "packages/layerwise-onnx", "src")
    wheel = build_wheel(source / "packages" / "layerwise-onnx", tmp_path / "dist")
    requirements, _ = _metadata(wheel)
    python = fresh_venv(tmp_path / "venv", [str(r) for r in requirements if r.marker is None])
    assert pip(python, "install", "--no-deps", "--no-index", "--quiet", str(wheel)).returncode == 0
    checked = pip(python, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    code = (
        "import importlib.util, sys, pandas as pd\n"
        "from layerwise_onnx import onnx_predict\n"
        f"out = onnx_predict({str(tmp_path / 'm.onnx')!r}, pd.read_csv({str(table)!r}).drop(columns=['y']))\n"
        f"out.to_csv({str(tmp_path / 'onnx.csv')!r}, index=False)\n"
        "print(importlib.util.find_spec('torch') is None, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]  # torch is not installed there, let alone imported
    got = pd.read_csv(tmp_path / "onnx.csv")["prediction"].to_numpy()
    assert np.abs(got - expected).max() <= 1e-5
