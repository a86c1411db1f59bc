"""Real headless Chromium for the report tests, installed from Debian when missing (as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from debian import apt_install

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary; `apt-get install chromium` first when it is missing and we are root."""
    found = shutil.which("chromium")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install("chromium")
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    return found


@pytest.fixture
def browse(chromium, tmp_path):
    """Open a file in headless Chromium: (DOM after load, console log lines, screenshot path)."""

    def run(page: Path, width: int = 1000, height: int = 5000) -> tuple[str, list[str], Path]:
        shot = tmp_path / f"{page.parent.name}.png"
        base = [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},{height}"]
        dom = subprocess.run(
            [*base, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        subprocess.run([*base, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
        # Chromium logs page console messages as `CONSOLE(...)` / `Uncaught ...` lines on stderr.
        console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        return dom.stdout, console, shot

    return run
