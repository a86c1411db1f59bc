"""Numbers written as text, through the CLI: read by one rule in training and at prediction.

Thousands separators ("1,234.50", as Excel exports them), decimal commas ("2228,66" in a
';' file, data.decimal: ','), words that mean missing ("unknown", "-"), and numbers too large
for the network's float32 arithmetic.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import yaml

import layerwise
from layerwise.cli import main

N = 200
QUIET = ["--quiet", "--set", "evaluate.report=false", "--set", "evaluate.bootstrap=50"]


def _amounts(seed: int = 0) -> pd.DataFrame:
    """A target driven by an amount written with thousands separators, beside pure noise."""
    rng = np.random.default_rng(seed)
    amount = rng.uniform(1000, 9000, N).round(2)
    return pd.DataFrame(
        {
            "amount": [f"{v:,.2f}" for v in amount],
            "noise": rng.normal(size=N),
            "y": amount / 1000 + rng.normal(scale=0.1, size=N),
        }
    )


def _config(folder, data: str, extra: str = "") -> str:
    path = folder / "exp.yaml"
    path.write_text(
        f"data: {{path: {data}, target: y{extra}}}\ntask: {{type: regression}}\ntrain: {{epochs: 30, seed: 0}}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(scope="module")
def amounts_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("amounts")
    _amounts().to_csv(folder / "d.csv", index=False)
    # standard: a linear scaling, under which a huge value overflows float32 and is refused
    # (normalize: auto bounds every value, so nothing overflows)
    assert main(["run", _config(folder, "d.csv", ", normalize: standard"), "--out", str(folder / "run"), *QUIET]) == 0
    return folder / "run"


def test_distinct_amounts_with_thousands_separators_are_kept_and_used(amounts_run):
    spec = json.loads((amounts_run / "bundle" / "spec.json").read_text())
    assert spec["preprocessing"]["features"]["kinds"] == {"amount": "numeric", "noise": "numeric"}
    metrics = json.loads((amounts_run / "metrics.json").read_text())
    assert metrics["beats_baseline"] is True
    [entry] = [e for e in metrics["cleaning"]["entries"] if e["column"] == "amount"]
    assert entry["rule"] == "coerce_numeric" and entry["count"] == N
    assert "thousands separators" in entry["detail"] and "->" in entry["detail"]
    assert "amount: " in (amounts_run / "run.log").read_text()


def test_predict_reads_numbers_as_training_read_them(cli, amounts_run, tmp_path):
    frame = pd.DataFrame({"amount": ["1,040", "1040", "1,040.00", "4,040"], "noise": [0.0] * 4})
    frame.to_csv(tmp_path / "p.csv", index=False)
    code, out, err = cli("predict", amounts_run / "bundle", tmp_path / "p.csv", "-o", tmp_path / "pred.csv")
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "pred.csv")["prediction"].to_numpy()
    assert predicted[1:3] == pytest.approx([predicted[0]] * 2, rel=1e-5)  # float32 rows of one batch
    assert abs(predicted[3] - predicted[0]) > 1  # the amount matters: 3,000 more is ~3 more


def test_a_decimal_comma_file_is_detected_by_init_and_runs(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(1000, 3000, 300)
    frame = pd.DataFrame(
        {
            "price": [f"{v:.2f}".replace(".", ",") for v in x],
            "rooms": rng.integers(1, 6, 300),
            "y": [f"{v:.2f}".replace(".", ",") for v in x / 100 + rng.normal(size=300)],
        }
    )
    frame.to_csv(tmp_path / "eu.csv", index=False, sep=";")
    code, _, err = cli("init", tmp_path / "eu.csv", "--target", "y", "--delimiter", ";", "-o", tmp_path / "eu.yaml")
    assert code == 0, err
    config = yaml.safe_load((tmp_path / "eu.yaml").read_text())
    assert config["data"]["decimal"] == "," and config["task"]["type"] == "regression"
    assert "#   price: numeric" in (tmp_path / "eu.yaml").read_text()
    # task auto reads the target with the config's decimal mark too: regression, not 300 classes
    code, _, err = cli(
        "run",
        tmp_path / "eu.yaml",
        "--out",
        tmp_path / "run",
        "--set",
        "train.epochs=3",
        "--set",
        "task.type=auto",
        *QUIET,
    )
    assert code == 0, err
    spec = json.loads((tmp_path / "run" / "bundle" / "spec.json").read_text())
    assert spec["task"]["type"] == "regression" and spec["preprocessing"]["features"]["decimal"] == ","
    assert spec["preprocessing"]["features"]["kinds"]["price"] == "numeric"
    # prediction reads "1.234,50" with the bundle's decimal comma, as training did
    pd.DataFrame({"price": ["1.234,50", "1234,5"], "rooms": [2, 2]}).to_csv(tmp_path / "p.csv", index=False, sep=";")
    code, out, err = cli("predict", tmp_path / "run" / "bundle", tmp_path / "p.csv")
    assert code == 0, err
    first, second = pd.read_csv(io.StringIO(out))["prediction"]
    assert first == pytest.approx(second, rel=1e-5)  # float32 rows of one batch
    # a file read in chunks (as files over 64 MiB are) keeps "1.234" as text for the bundle's rule
    from layerwise.serving.batch import predict_file

    prices = ["1.234", "1234,0", "2.000", "2000,0"]  # a chunk of one "1.234" alone reads as a float
    pd.DataFrame({"price": prices, "rooms": [2] * 4}).to_csv(tmp_path / "c.csv", index=False, sep=";")
    predict_file(
        layerwise.load(tmp_path / "run" / "bundle"),
        tmp_path / "c.csv",
        tmp_path / "c-out.csv",
        chunk_rows=1,
        stream_from_bytes=0,
    )
    chunked = pd.read_csv(tmp_path / "c-out.csv")["prediction"]
    assert chunked[0] == pytest.approx(chunked[1], rel=1e-5) and chunked[2] == pytest.approx(chunked[3], rel=1e-5)
    assert abs(chunked[2] - chunked[0]) > 1


def test_words_in_a_numeric_column_become_missing_with_a_count(cli, tmp_path):
    frame = _amounts(seed=2).drop(columns=["amount"])
    frame["size"] = [str(v) for v in np.random.default_rng(3).integers(10, 99, N)]
    words = ["unknown", "-", "n/a ", "?"]  # one cell in six: too many for the 90% rule alone
    frame.loc[::6, "size"] = [words[i % 4] for i in range(len(frame.loc[::6]))]
    stray = len(frame.loc[::6])
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "run"
    code, _, err = cli("run", _config(tmp_path, "d.csv"), "--out", out, "--set", "train.epochs=3", *QUIET)
    assert code == 0, err
    spec = json.loads((out / "bundle" / "spec.json").read_text())
    assert spec["preprocessing"]["features"]["kinds"]["size"] == "numeric"  # not 80 categories
    cleaning = json.loads((out / "metrics.json").read_text())["cleaning"]
    [entry] = [e for e in cleaning["entries"] if e["column"] == "size"]
    assert (entry["rule"], entry["count"]) == ("coerce_numeric", stray)
    assert f"{stray} non-numeric values" in entry["detail"] and "'unknown'" in entry["detail"]
    # at prediction the same words are missing values, filled as in training
    pd.DataFrame({"noise": [0.1, 0.1], "size": ["unknown", None]}).to_csv(tmp_path / "p.csv", index=False)
    code, csv, err = cli("predict", out / "bundle", tmp_path / "p.csv")
    assert code == 0, err
    first, second = pd.read_csv(io.StringIO(csv))["prediction"]
    assert first == pytest.approx(second, rel=1e-5)  # float32 rows of one batch


def test_a_number_too_large_in_training_names_column_and_row(cli, tmp_path):
    frame = _amounts(seed=4)
    frame["noise"] = frame["noise"].astype(object)
    frame.loc[36, "noise"] = "1e300"
    frame.to_csv(tmp_path / "d.csv", index=False)
    code, _, err = cli("run", _config(tmp_path, "d.csv"), "--out", tmp_path / "run", *QUIET)
    assert code == 3, err
    assert "'noise'" in err and "data row 37" in err and "1e+300" in err and "float32" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_number_too_large_at_prediction_names_file_row_and_column(cli, amounts_run, tmp_path):
    pd.DataFrame({"amount": ["1,040", "2,000", "3,000"], "noise": [0.0, 1e300, 0.0]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    code, out, err = cli("predict", amounts_run / "bundle", tmp_path / "p.csv", "-o", tmp_path / "pred.csv")
    assert code == 3, err
    assert "p.csv" in err and "data row 2" in err and "'noise'" in err
    assert out == "" and not (tmp_path / "pred.csv").exists()


def test_evaluate_reads_a_target_written_with_thousands_separators(cli, amounts_run, tmp_path):
    frame = _amounts(seed=5)
    # "4,321.0": the target as Excel writes it (in other units than the bundle's: only the reading matters)
    frame["y"] = [f"{1000 * v:,.1f}" for v in frame["y"]]
    plain = _amounts(seed=5)
    plain["y"] = (1000 * plain["y"]).round(1)
    frame.to_csv(tmp_path / "text.csv", index=False)
    plain.to_csv(tmp_path / "plain.csv", index=False)
    for name in ("text", "plain"):
        code, _, err = cli(
            "evaluate", amounts_run / "bundle", tmp_path / f"{name}.csv", "--quiet", "--out", tmp_path / f"eval-{name}"
        )
        assert code == 0, err
    text = json.loads((tmp_path / "eval-text" / "metrics.json").read_text())
    plain = json.loads((tmp_path / "eval-plain" / "metrics.json").read_text())
    assert text["rows"] == plain["rows"] == {"test": N}  # no target read as missing
    assert text["test"] == pytest.approx(plain["test"])
