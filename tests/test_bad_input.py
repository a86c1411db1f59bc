"""Each bad input gives one clear error through the CLI, its documented exit code, and no output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ["--set", "train.epochs=3"]


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "color": rng.choice(["red", "blue"], n), "y": 2 * x1 - x2 + rng.normal(scale=0.1, size=n)}
    )


def _config(tmp_path, data_name, extra=""):
    path = tmp_path / "exp.yaml"
    path.write_text(f"data: {{path: {data_name}, target: y{extra}}}\n", encoding="utf-8")
    return path


def _write(tmp_path, name, content: bytes | str):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _good_csv(tmp_path):
    return _frame().to_csv(index=False)


CASES = {
    # name: (file name, file content or None for absent, config extra, exit code, words in the message)
    "missing file": ("absent.csv", None, "", 3, ["absent.csv", "no such file"]),
    "empty file": ("empty.csv", b"", "", 3, ["empty.csv", "empty"]),
    "header only": ("header.csv", "x1,x2,y\n", "", 3, ["header.csv", "no data rows"]),
    "wrong delimiter": ("semi.csv", "x1;x2;y\n1;2;3\n4;5;6\n", "", 3, ["semi.csv", "delimiter"]),
    "not utf-8": (
        "latin.csv",
        "x1,x2,y\n1,caf\xe9,3\n".encode("latin-1") + b"4,5,6\n" * 30,
        "",
        3,
        ["latin.csv", "UTF-8", "line 2"],
    ),
    "target missing": ("d.csv", "x1,x2,yy\n" + "1,2,3\n" * 30, "", 2, ["data.target", "did you mean 'yy'"]),
    "target empty": ("d.csv", "x1,x2,y\n" + "1,2,\n3,4,\n" * 30, "", 3, ["'y'", "empty"]),
    "single class": ("d.csv", "x1,x2,y\n" + "".join(f"{i},{i % 7},a\n" for i in range(60)), "", 3, ["y", "class"]),
    "too few rows for windows": (
        "d.csv",
        "t,y\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 31)),
        ", time: t, window: {lookback: 10, horizon: 2}}\ntask: {type: forecast",
        3,
        ["rows", "lookback"],
    ),
    "garbage in target": (
        "d.csv",
        "x1,x2,y\n" + "1,2,3.5\n2,3,4.5\n" * 20 + "5,6,oops\n",
        "}\ntask: {type: regression",
        3,
        ["'y'", "oops", "row 41"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_through_the_cli(cli, tmp_path, case):
    name, content, extra, code_expected, words = CASES[case]
    if content is not None:
        _write(tmp_path, name, content)
    config = _config(tmp_path, name, extra)
    out = tmp_path / "out"
    code, _, err = cli("run", config, "--out", out, *FAST)
    assert code == code_expected, err
    for word in words:
        assert word.lower() in err.lower(), (word, err)
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_garbage_in_a_feature_is_coerced_and_logged(cli, tmp_path):
    frame = _frame()
    frame["x2"] = frame["x2"].astype(object)
    frame.loc[[3, 50], "x2"] = ["abc", "???"]
    _write(tmp_path, "d.csv", frame.to_csv(index=False))
    out = tmp_path / "out"
    code, _, err = cli("run", _config(tmp_path, "d.csv"), "--out", out, "--quiet", *FAST)
    assert code == 0, err
    cleaning = json.loads((out / "metrics.json").read_text())["cleaning"]
    coerced = [e for e in cleaning["entries"] if e["column"] == "x2"]
    assert coerced and coerced[0]["count"] == 2
    assert "x2" in (out / "run.log").read_text()


@pytest.fixture
def trained(cli, tmp_path):
    _write(tmp_path, "d.csv", _good_csv(tmp_path))
    out = tmp_path / "out"
    code, _, err = cli("run", _config(tmp_path, "d.csv"), "--out", out, "--quiet", *FAST)
    assert code == 0, err
    return out / "bundle"


def test_prediction_input_missing_a_feature(cli, tmp_path, trained):
    _write(tmp_path, "p.csv", _frame().drop(columns=["x2"]).to_csv(index=False))
    code, _, err = cli("predict", trained, tmp_path / "p.csv", "-o", tmp_path / "pred.csv")
    assert code == 3
    assert "x2" in err and "p.csv" in err
    assert not (tmp_path / "pred.csv").exists()


def test_prediction_input_of_the_wrong_type(cli, tmp_path, trained):
    frame = _frame()
    frame["x1"] = frame["x1"].astype(object)
    frame.loc[7, "x1"] = "seven"
    _write(tmp_path, "p.csv", frame.to_csv(index=False))
    code, _, err = cli("predict", trained, tmp_path / "p.csv", "-o", tmp_path / "pred.csv")
    assert code == 3
    assert "x1" in err and "seven" in err
    assert not (tmp_path / "pred.csv").exists()


def test_prediction_ignores_the_target_column(cli, tmp_path, trained):
    with_target, without = tmp_path / "a.csv", tmp_path / "b.csv"
    _write(tmp_path, "a.csv", _frame(seed=3).to_csv(index=False))
    _write(tmp_path, "b.csv", _frame(seed=3).drop(columns=["y"]).to_csv(index=False))
    assert cli("predict", trained, with_target, "-o", tmp_path / "pa.csv")[0] == 0
    assert cli("predict", trained, without, "-o", tmp_path / "pb.csv")[0] == 0
    a, b = pd.read_csv(tmp_path / "pa.csv"), pd.read_csv(tmp_path / "pb.csv")
    assert a["prediction"].equals(b["prediction"])


def test_tampered_bundle_is_refused(cli, tmp_path, trained):
    spec = trained / "spec.json"
    spec.write_text(spec.read_text().replace('"y"', '"z"', 1))
    _write(tmp_path, "p.csv", _good_csv(tmp_path))
    code, _, err = cli("predict", trained, tmp_path / "p.csv")
    assert code == 3
    assert "spec.json" in err and "sha256" in err
