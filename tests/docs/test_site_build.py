"""`mkdocs build --strict` builds the guide offline: no warning, no remote font or script.

(Named test_site_build.py: tests/models/test_build.py already holds the name test_build.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from docs_examples import ROOT


def test_guide_builds_in_strict_mode_without_remote_assets(tmp_path):
    site = tmp_path / "site"
    mkdocs = Path(sys.prefix) / "bin" / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    index = (site / "index.html").read_text(encoding="utf-8")
    remote = re.findall(r'<(?:link|script)[^>]+(?:href|src)="(https?://[^"]+)"', index)
    assert remote == [], f"the built site fetches from the network: {remote}"
    assert "fonts.googleapis.com" not in index
    for name in ("config", "cli", "exit-codes", "metrics"):
        assert (site / "reference" / f"{name}.html").is_file()
