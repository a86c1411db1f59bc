"""A bundle with text columns through `layerwise predict` (CSV, Parquet) and `layerwise export` to ONNX:
the bundle's own answers, bad files refused naming column and row, nothing half-written."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fresh_venv import build_wheel, clean_env, copy_source, fresh_venv, name, pip
from packaging.requirements import Requirement

import layerwise
from layerwise.serving.export import ExportError, export
from layerwise.serving.inputs import random_inputs, text_slices
from layerwise.serving.onnx_runtime import onnx_predict

WORDS = ["the", "box", "came", "with", "a", "cable", "and", "manual"]
# One small configuration per text encoder: each trains in about a second on 160 rows.
ENCODERS = {
    "text_bag": {"embedding": 8, "hidden": [8]},
    "text_cnn": {"embedding": 8, "channels": [8], "hidden": [8]},
    "text_gru": {"embedding": 8, "hidden": [8]},
    "text_lstm": {"embedding": 8, "hidden": [8], "bidirectional": True, "readout": "last"},
    "text_transformer": {"d_model": 8, "heads": 2, "layers": 1, "hidden": [8]},
}


def reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """Short product reviews whose last word gives the label away, a title, and a number of stars."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(["pos", "neg"], n)
    good, bad = ["great", "superb", "lovely"], ["awful", "broken", "late"]
    texts = [
        " ".join([*rng.choice(WORDS, rng.integers(0, 6)), str(rng.choice(good if y == "pos" else bad))]) for y in labels
    ]
    titles = [str(rng.choice(["ok", "fine buy", "would order again", "meh"])) for _ in range(n)]
    return pd.DataFrame({"review": texts, "title": titles, "stars": rng.normal(3, 1, n).round(1), "y": labels})


def new_rows() -> pd.DataFrame:
    """Rows the model never saw, with the edge cases: an empty text, a missing one, unknown words, a long one."""
    rows = reviews(40, seed=7).drop(columns="y")
    rows.loc[1, "review"] = ""
    rows.loc[2, "title"] = None
    rows.loc[3, "review"] = "zyxxy qwvv unheard"
    rows.loc[4, "review"] = "the box came with a cable " * 30 + "awful"
    return rows


def train(block: str, out: Path) -> Path:
    cfg = {
        "data": {"target": "y", "columns": {"review": "text", "title": "text"}},
        "model": {"type": block, **ENCODERS[block]},
        "train": {"epochs": 2, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 20},
    }
    return Path(layerwise.Experiment(cfg, data=reviews(160)).run(out).bundle_path)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return train("text_bag", tmp_path_factory.mktemp("text") / "run")


def test_predict_on_csv_and_parquet_gives_the_bundles_answers(bundle, tmp_path, cli):
    rows = new_rows()
    expected = layerwise.load(bundle).predict(rows)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    rows.to_parquet(tmp_path / "rows.parquet")
    for source, out in (("rows.csv", "out.csv"), ("rows.parquet", "out.parquet"), ("rows.csv", "out2.parquet")):
        code, _, err = cli("predict", bundle, tmp_path / source, "-o", tmp_path / out)
        assert code == 0, err
        got = pd.read_parquet(tmp_path / out) if out.endswith(".parquet") else pd.read_csv(tmp_path / out)
        assert got["prediction"].tolist() == expected["prediction"].tolist()
        assert np.array_equal(
            got[["proba_neg", "proba_pos"]].to_numpy(), expected[["proba_neg", "proba_pos"]].to_numpy()
        )


def test_a_text_column_a_file_holds_as_numbers_is_read_as_their_text(bundle, tmp_path, cli):
    """A file is typed anew when it is read: digits-only titles come back as numbers, and are the text
    the file holds ("3", "1.5"), as training read its texts. (A JSON request keeps its types: serving
    refuses a number where text belongs, tests/serving/test_text_serving.py.)"""
    rows = new_rows()
    rows["title"] = np.arange(len(rows)) * 1.5  # a whole column of numbers
    as_text = rows.assign(title=[f"{v:g}" for v in rows["title"]])  # "0", "1.5", "3", ...
    expected = layerwise.load(bundle).predict(as_text)
    rows.to_csv(tmp_path / "numbers.csv", index=False)
    rows.to_parquet(tmp_path / "numbers.parquet")
    for source in ("numbers.csv", "numbers.parquet"):
        code, out, err = cli("predict", bundle, tmp_path / source, "-o", tmp_path / "out.csv")
        assert code == 0, err
        got = pd.read_csv(tmp_path / "out.csv")
        np.testing.assert_allclose(got["proba_pos"].to_numpy(), expected["proba_pos"].to_numpy(), rtol=1e-6)


def test_a_text_column_holding_some_digits_is_text(bundle, tmp_path, cli):
    rows = new_rows()
    rows.loc[5, "review"] = "5"  # the column stays text: "5" is a one-token review
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, out, err = cli("predict", bundle, tmp_path / "rows.csv")
    assert code == 0, err
    assert len(pd.read_csv(io.StringIO(out))) == len(rows)


def test_a_missing_text_column_is_named(bundle, tmp_path, cli):
    new_rows().drop(columns="review").to_csv(tmp_path / "rows.csv", index=False)
    code, _, err = cli("predict", bundle, tmp_path / "rows.csv")
    assert code == 3 and "missing feature column(s) 'review'" in err
    assert "the model needs the columns: review, title, stars" in err


@pytest.mark.parametrize("block", list(ENCODERS))
def test_every_text_encoder_exports_and_onnx_predict_matches_the_bundle(block, tmp_path, cli):
    path = train(block, tmp_path / "run")
    rows = new_rows()
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, _, err = cli("export", path, "-o", tmp_path / "m.onnx", "--data", tmp_path / "rows.csv")
    assert code == 0, err
    expected = layerwise.load(path).predict(rows)
    got = onnx_predict(tmp_path / "m.onnx", rows)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    assert np.abs(got["proba_pos"] - expected["proba_pos"]).max() <= 1e-5
    # the graph takes the packed row; the interface says where each text's ids sit in it
    steps = json.loads((tmp_path / "m.onnx.json").read_text())["preprocessing"]
    layout = next(s for s in steps if s["step"] == "layout")
    assert [t["column"] for t in layout["texts"]] == ["review", "title"]
    assert layout["texts"][0]["offset"] == layout["dense"] == 1


def test_export_without_data_verifies_on_token_ids(bundle, tmp_path, cli):
    model = layerwise.load(bundle)
    x = random_inputs(model, rows=64)
    (offset, length, vocab), _ = text_slices(model)
    ids = x[:, offset : offset + length]
    assert np.array_equal(ids, ids.round()) and ids.min() == 0 and ids.max() < vocab
    assert (ids[2] == 0).all() and (ids[3] > 0).all()  # the first held-out rows: an empty text and a full one
    code, _, err = cli("export", bundle, "-o", tmp_path / "m.onnx")
    assert code == 0, err
    assert (
        onnx_predict(tmp_path / "m.onnx", new_rows())["prediction"].tolist()
        == model.predict(new_rows())["prediction"].tolist()
    )


def test_a_failed_export_writes_nothing(bundle, tmp_path, cli):
    new_rows().drop(columns="review").to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = cli("export", bundle, "-o", tmp_path / "m.onnx", "--data", tmp_path / "bad.csv")
    assert code == 3 and "'review'" in err
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.csv"]


class Branching(torch.nn.Module):
    """A network whose answer depends on a Python branch over its own output: torch.export cannot trace it."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        return out if float(out.sum()) > 0 else -out


def test_a_network_the_exporter_cannot_trace_is_refused_naming_its_block(bundle, tmp_path):
    model = layerwise.load(bundle)
    model.module = Branching(model.module)
    model.model = {**model.model, "config": {**model.model["config"], "type": "branching"}}
    with pytest.raises(
        ExportError, match=r"the 'branching' block cannot be exported to onnx: .*data-dependent"
    ) as caught:
        export(model, tmp_path / "m.onnx")
    assert "no file was written" in caught.value.hint and "\x1b[" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def onnx_wheel(tmp_path_factory) -> tuple[Path, list[Requirement]]:
    """The layerwise-onnx wheel, built from this checkout with no network, and its requirements."""
    out = tmp_path_factory.mktemp("layerwise-onnx")
    source = copy_source(out / "src", "packages/layerwise-onnx", "src")
    wheel = build_wheel(source / "packages" / "layerwise-onnx", out / "dist")
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(archive.read(meta).decode("utf-8")).get_all("Requires-Dist")
    return wheel, [Requirement(r) for r in requires]


def test_layerwise_onnx_predicts_text_with_its_text_extra_and_names_it_without(bundle, onnx_wheel, tmp_path):
    wheel, requirements = onnx_wheel
    core = [str(r) for r in requirements if r.marker is None]
    text = [
        f"{r.name}{r.specifier}" for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "text"})
    ]
    assert [name(Requirement(r).name) for r in text] == ["tokenizers"]
    model = layerwise.load(bundle)
    export(model, tmp_path / "m.onnx")
    rows = new_rows()
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = (
        "import sys, pandas as pd\n"
        "from layerwise_onnx import onnx_predict\n"
        f"out = onnx_predict({str(tmp_path / 'm.onnx')!r}, pd.read_csv({str(tmp_path / 'rows.csv')!r}))\n"
        f"out.to_csv({str(tmp_path / 'onnx.csv')!r}, index=False)\n"
        "print('torch' in sys.modules)\n"
    )
    answers = {}
    for extra, needed in (("core", core), ("text", core + text)):
        python = fresh_venv(tmp_path / extra, needed)
        assert pip(python, "install", "--no-deps", "--no-index", "--quiet", str(wheel)).returncode == 0
        answers[extra] = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=clean_env())
    # without tokenizers: refused before any row is read, naming the command that fixes it
    refused = answers["core"]
    assert refused.returncode == 1
    message, hint = refused.stderr.strip().splitlines()[-2:]
    assert message.endswith(
        "MissingExtra: this model reads the text column(s) 'review', 'title', which are tokenized with Hugging Face "
        "tokenizers: the module 'tokenizers' is not installed"
    ), refused.stderr
    assert hint.strip() == "hint: pip install 'layerwise-onnx[text]'"
    # with the extra: the bundle's answers, torch never imported
    done = answers["text"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
    got, expected = pd.read_csv(tmp_path / "onnx.csv"), model.predict(rows)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    assert np.abs(got["proba_pos"] - expected["proba_pos"]).max() <= 1e-5


def test_onnx_predict_in_layerwise_without_tokenizers_names_its_extra(bundle, tmp_path):
    export(layerwise.load(bundle), tmp_path / "m.onnx")
    code = (
        "import sys\n"
        "sys.modules['tokenizers'] = None  # its import now fails\n"
        "import pandas as pd, layerwise\n"
        f"layerwise.onnx_predict({str(tmp_path / 'm.onnx')!r}, pd.DataFrame({{'review': ['great'], 'title': ['ok'], "
        "'stars': [3.0]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "MissingExtra: this model reads the text column(s) 'review', 'title'" in done.stderr
    assert done.stderr.strip().splitlines()[-1].strip() == 'hint: pip install "layerwise[text]"'
