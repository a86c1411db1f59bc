"""Debian packages a test needs (PostgreSQL, Chromium), installed with apt-get when missing.

`make test` runs the suite in two xdist workers, and two apt-get processes at once fail on
dpkg's lock: an install here holds a file lock that every worker shares, and waits for dpkg's
own lock where another process (an unattended upgrade) holds it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "layerwise-tests-apt.lock"
WAIT = ["-o", "DPkg::Lock::Timeout=600"]


def apt_install(package: str) -> None:
    """`apt-get install PACKAGE`, after `apt-get update` when the lists lack it; one worker at a time."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        install = ["apt-get", *WAIT, "install", "-y", "-q", package]
        if subprocess.run(install, env=env, capture_output=True).returncode:
            subprocess.run(["apt-get", *WAIT, "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
