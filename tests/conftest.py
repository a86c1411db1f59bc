"""Shared fixtures: paths to the real data, a CLI runner that returns (exit code, stderr)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from layerwise.cli import main
from layerwise.experiment.offload import Offload

REAL_START = Offload.__dict__["start"]  # the classmethod itself, before `one_process` replaces it

ROOT = Path(__file__).resolve().parents[1]
BTC = ROOT / "examples" / "data" / "btc-usd-daily.csv"


@pytest.fixture(scope="session", autouse=True)
def one_process():
    """Runs in this process train and judge without a second process (experiment/offload.py): hundreds
    of runs, module- and session-wide fixtures' among them, would each start one beside the suite on
    2 cores. Tests marked `second_process` have it back (`second_process` below), and so do the runs
    of a `layerwise` subprocess."""
    from layerwise.experiment.offload import Offload

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Offload, "start", classmethod(lambda cls, modules: None))
        yield


@pytest.fixture(autouse=True)
def second_process(request, monkeypatch):
    """A test marked `second_process` runs with it, as on a machine with a CPU to spare beside training."""
    if request.node.get_closest_marker("second_process") is not None:
        from layerwise.experiment import steps
        from layerwise.experiment.offload import Offload

        monkeypatch.setattr(Offload, "start", REAL_START)
        monkeypatch.setattr(steps, "CpuLoad", lambda: SimpleNamespace(capacity=2.0))


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


@pytest.fixture(scope="session")
def digit_folders(tmp_path_factory) -> dict[str, Path]:
    """Real digit PNGs in class folders: `train` (30 per class) and `new` (10 other images per class,
    the first 2 of each at 16x16), for the image workflow tests."""
    from digit_images import write_digits

    root = tmp_path_factory.mktemp("digits")
    write_digits(root / "train", 30)
    write_digits(root / "new", 10, start=30, big=2)
    return {"train": root / "train", "new": root / "new"}


@pytest.fixture(scope="session")
def digits_bundle(digit_folders, tmp_path_factory) -> Path:
    """A small cnn2d trained for a moment on `digit_folders['train']`: a real image bundle."""
    import layerwise

    cfg = {
        "data": {"path": str(digit_folders["train"])},
        "model": {"type": "cnn2d", "channels": [8, 16]},
        "train": {"epochs": 10, "lr": 0.01, "patience": None, "seed": 0},
        "evaluate": {"bootstrap": 50, "report": False},
    }
    out = tmp_path_factory.mktemp("digits-run") / "run"
    return Path(layerwise.Experiment(cfg).run(out=out).bundle_path)


# The guide's tests (tests/docs/test_examples.py) record each page's figures as user properties; they are
# printed here, in the root conftest: under xdist (`make test`) the controller collects nothing and loads
# no other conftest, and the properties reach it with each report. Speed is measured, never asserted.
def pytest_terminal_summary(terminalreporter):
    passed = [dict(report.user_properties) for report in terminalreporter.stats.get("passed", [])]
    pages = [figures for figures in passed if "guide_page" in figures]
    if not pages:
        return
    terminalreporter.section("guide examples: seconds per page")
    for page in sorted(pages, key=lambda page: -page["seconds"]):
        terminalreporter.write_line(f"{page['seconds']:6.1f} s  {page['blocks']:3d} blocks  {page['guide_page']}")
    terminalreporter.write_line(f"{sum(page['seconds'] for page in pages):6.1f} s  total")
