"""Fresh virtual environments holding only chosen distributions, for the install tests.

Installing torch into a new venv would take minutes and the network. Instead a fresh venv
gets symlinks to exactly the distributions that a list of requirements needs (with their
own requirements, transitively) from the environment running the tests; the wheel under
test is then installed into it with `--no-deps --no-index`. Nothing else is there: a test
that runs in it proves the code runs without the rest (an extra's packages, or torch).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def name(text: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", text).lower()


def build_wheel(project: Path, out: Path) -> Path:
    """Build `project`'s wheel into `out` from the installed setuptools, with no network."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "-w",
            str(out),
            str(project),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def copy_source(dest: Path, *paths: str) -> Path:
    """Copy these paths of the repository to `dest` (a build writes build/ and egg-info beside its source)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for path in paths:
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, dest / path, ignore=ignore)
        else:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / path)
    return dest


def closure(requirements: Iterable[str]) -> dict[str, Distribution]:
    """The installed distributions that `requirements` need, theirs included, by normalized name."""
    installed = {name(d.metadata["Name"]): d for d in distributions()}
    found: dict[str, Distribution] = {}
    wanted = [Requirement(r) for r in requirements]
    while wanted:
        req = wanted.pop()
        key = name(req.name)
        dist = installed[key]  # KeyError: the running environment lacks a requirement
        extras = {""} | req.extras
        if key in found and not req.extras:
            continue
        found[key] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                if name(sub.name) not in found or sub.extras:
                    wanted.append(sub)
    return found


def fresh_venv(path: Path, requirements: Iterable[str]) -> Path:
    """A new venv at `path` seeing exactly the closure of `requirements`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    chosen = closure(requirements)
    owners: dict[str, set[str]] = {}  # a top-level entry of site-packages -> the distributions with files in it
    for dist in distributions():
        key = name(dist.metadata["Name"])  # parsed once: METADATA is an email message, slow to read
        for top in {file.parts[0] for file in dist.files or []} - {".."}:
            owners.setdefault(top, set()).add(key)
    for dist in chosen.values():
        for file in dist.files or []:
            if file.parts[0] == "..":  # console scripts in bin/: not needed to import the package
                continue
            whole = owners[file.parts[0]] <= chosen.keys()  # the whole folder is the chosen ones': link it once
            relative = Path(file.parts[0]) if whole else Path(file)
            link, target = site / relative, Path(dist.locate_file(relative))
            if not link.exists() and not link.is_symlink() and target.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(target)
    return python


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    """This environment's pip, acting on the venv of `python` (which has no pip of its own)."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--no-input", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
    )


def clean_env() -> dict[str, str]:
    """The environment for a command in a fresh venv: no PYTHONPATH that would reach this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
