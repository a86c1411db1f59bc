"""Shared fixtures: paths to the real data, a CLI runner that returns (exit code, stderr)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerwise.cli import main

ROOT = Path(__file__).resolve().parents[1]
BTC = ROOT / "examples" / "data" / "btc-usd-daily.csv"


@pytest.fixture
def cli(capsys):
    """Run `layerwise ARGS...` in-process; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def btc_slice(tmp_path) -> Path:
    """The first 500 rows of the real BTC file."""
    lines = BTC.read_text(encoding="utf-8").splitlines()[:501]
    path = tmp_path / "btc500.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
