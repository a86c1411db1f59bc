"""The guide's tests: per-page example times, printed in the terminal summary (never asserted:
speed is measured, not tested). Each page's test records its figures as user properties, which
reach the summary from xdist's workers as well (`make test` runs the suite in two)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    passed = [dict(report.user_properties) for report in terminalreporter.stats.get("passed", [])]
    pages = [figures for figures in passed if "guide_page" in figures]
    if not pages:
        return
    terminalreporter.section("guide examples: seconds per page")
    for page in sorted(pages, key=lambda page: -page["seconds"]):
        terminalreporter.write_line(f"{page['seconds']:6.1f} s  {page['blocks']:3d} blocks  {page['guide_page']}")
    terminalreporter.write_line(f"{sum(page['seconds'] for page in pages):6.1f} s  total")
