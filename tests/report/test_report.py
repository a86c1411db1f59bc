"""The report opened in real headless Chromium, one run per task kind: verdict and every section."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from sklearn.datasets import load_diabetes, load_iris

import layerwise
from layerwise.report import write_report

SECTIONS = ["verdict", "data", "model", "training", "results", "plots"]
TASK_PLOTS = {
    "classification": ["Confusion matrix", "Calibration"],
    "regression": ["Predicted vs actual", "Residuals"],
    "forecast": ["Actual vs forecast over the test period", "Forecast error over time"],
    "generation": ["Per-character loss"],
    "images": ["Confusion matrix", "Calibration"],
}
# what the data section's split table counts (metrics.json's rows)
UNIT = {"classification": "rows", "regression": "rows", "forecast": "windows", "generation": "rows", "images": "images"}
NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"


def _run(kind, tmp_path, btc_frame):
    quick = {"epochs": 8}
    if kind == "classification":
        frame, cfg = load_iris(as_frame=True).frame, {"data": {"target": "target"}}
    elif kind == "regression":
        frame, cfg = load_diabetes(as_frame=True).frame, {"data": {"target": "target"}}
    elif kind == "images":
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()
        for i in range(200):  # real digit images as PNG files, one folder per class
            (tmp_path / "digits" / str(digits.target[i])).mkdir(parents=True, exist_ok=True)
            Image.fromarray((digits.images[i] * 15).astype("uint8")).save(
                tmp_path / "digits" / str(digits.target[i]) / f"{i}.png"
            )
        frame, cfg = None, {"data": {"path": str(tmp_path / "digits")}}
    elif kind == "generation":
        names = tmp_path / "names.txt"
        names.write_text("\n".join(NAMES.read_text().split()[:600]) + "\n")
        frame, cfg = None, {"data": {"path": str(names)}, "task": {"type": "generation"}}
    else:
        frame = btc_frame
        cfg = {
            "data": {
                "target": "Close",
                "time": "Date",
                "features": ["Close", "Volume"],
                "window": {"lookback": 7},
                "transform": "log_return",
            },
            "task": {"type": "forecast"},
        }
    model = (
        {"type": "gru", "hidden": [16]}
        if kind == "generation"
        else {"type": "cnn2d", "channels": [8]}
        if kind == "images"
        else {"hidden": [8]}
    )
    cfg.update(model=model, train=quick, evaluate={"bootstrap": 200})
    return layerwise.Experiment(cfg, data=frame).run(out=tmp_path / kind)


@pytest.fixture
def btc_frame(btc_slice):
    import pandas as pd

    return pd.read_csv(btc_slice)


@pytest.mark.parametrize("kind", ["classification", "regression", "forecast", "generation", "images"])
def test_report_opens_in_chromium_with_verdict_and_every_section(kind, tmp_path, btc_frame, browse):
    result = _run(kind, tmp_path, btc_frame)
    page = result.out / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained
    dom, console, shot = browse(page)
    assert console == []
    for key in SECTIONS:
        assert f'<section id="{key}"' in dom, key
    verdict = json.loads((result.out / "metrics.json").read_text())["verdict"]
    assert f"<strong>{verdict}</strong>" in dom
    for title in TASK_PLOTS[kind]:
        assert f'alt="{title}"' in dom, title
    assert f"<th>split</th><th>{UNIT[kind]}</th>" in html
    if kind == "images":  # the data section names the images' shape; the model table shows the conv stage
        assert "<h3>Images</h3>" in dom and "Conv2d(1, 8" in dom
    assert dom.count('src="data:image/png;base64,') >= (3 if kind == "generation" else 4)
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG header's size
    assert (width, height) == (1000, 5000)


def test_report_command_rewrites_the_page(cli, tmp_path, btc_frame):
    result = _run("regression", tmp_path, btc_frame)
    (result.out / "report.html").unlink()
    code, _, err = cli("report", result.out)
    assert code == 0, err
    assert (result.out / "report.html").is_file()
    code, _, err = cli("report", tmp_path / "nowhere")
    assert code == 2 and "not a layerwise run folder" in err
    assert write_report(result.out, tmp_path / "copy.html").is_file()


def test_the_console_check_sees_a_script_error(tmp_path, browse):
    # The report has no script; this proves the check above would notice one that failed.
    page = tmp_path / "bad" / "index.html"
    page.parent.mkdir()
    page.write_text("<html><body><script>missing_function();</script></body></html>", encoding="utf-8")
    _, console, _ = browse(page, height=200)
    assert any("Uncaught ReferenceError" in line for line in console)
