"""The guide's tests: per-page example times, printed in the terminal summary (never asserted:
speed is measured, not tested)."""

from __future__ import annotations

import pytest

_TIMINGS: list = []


@pytest.fixture
def docs_timings() -> list:
    return _TIMINGS


def pytest_terminal_summary(terminalreporter):
    if not _TIMINGS:
        return
    terminalreporter.section("guide examples: seconds per page")
    for run in sorted(_TIMINGS, key=lambda r: -r.seconds):
        terminalreporter.write_line(f"{run.seconds:6.1f} s  {run.blocks:3d} blocks  {run.page}")
    terminalreporter.write_line(f"{sum(r.seconds for r in _TIMINGS):6.1f} s  total")
