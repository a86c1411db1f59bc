"""Generation bundles: attributions per prompt character, from Python and the CLI, and the bad inputs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import layerwise
from layerwise.bundle.predictor import Predictor
from layerwise.data import Vocabulary
from layerwise.errors import DataError, UsageError
from layerwise.explain import Explanation
from layerwise.models import build
from layerwise.tasks import TaskInfo

NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"


def generator(kind: str, chars: str = "abcdeilmnor", steps: int = 12) -> Predictor:
    """An untrained generator: the mechanics of attribution hold whatever the weights."""
    vocab = Vocabulary(list(chars))
    cfg = (
        {"type": kind, "embedding": 8, "hidden": [16]}
        if kind != "transformer"
        else {"type": kind, "embedding": 8, "heads": 2, "layers": 1}
    )
    torch.manual_seed(0)
    module = build(cfg, (steps,), len(vocab))
    return Predictor(
        TaskInfo(type="generation", target="text", features=[], lookback=steps),
        module,
        model={"config": module.get_config(), "input_shape": [steps], "output_dim": len(vocab)},
        vocabulary=vocab,
    )


def logit(p: Predictor, ids: list[int], target: int) -> float:
    with torch.no_grad():
        return float(p.module(torch.tensor([[p.vocabulary.start, *ids]]))[0, -1, target])


@pytest.mark.parametrize("kind", ["lstm", "transformer"])  # gru runs lstm's code (recurrent.py)
def test_ig_per_character_adds_up_and_ablation_matches_replacing_each_character_by_pad(kind):
    p = generator(kind)
    prompts = ["mar", "lo", "ride"]
    e = layerwise.explain(p, prompts=prompts, steps=32, checks=False)  # randomization: see the CLI test
    assert e.kind == "text" and e.attributions.shape == (3, 4)
    assert np.isnan(e.attributions[1, 2:]).all() and np.isfinite(e.attributions[2]).all()
    # completeness: each prompt's attributions add up to f(prompt) - f(<pad> ... <pad>)
    ids = [[p.vocabulary.index[c] for c in q] for q in prompts]
    targets = [p.vocabulary.index[t] for t in e.predictions]
    for i, row in enumerate(ids):
        gap = logit(p, row, targets[i]) - logit(p, [0] * len(row), targets[i])
        assert np.nansum(e.attributions[i]) == pytest.approx(gap, abs=0.01 * abs(gap) + 1e-4)
    assert [c["check"] for c in e.checks] == ["completeness"] and e.checks[0]["passed"]
    # the default target is the likeliest next character (never <pad> or <s>)
    for i, row in enumerate(ids):
        with torch.no_grad():
            scores = p.module(torch.tensor([[p.vocabulary.start, *row]]))[0, -1, 2:]
        assert targets[i] == int(scores.argmax()) + 2
    # ablation against a hand-made oracle: the logit's drop when one character becomes <pad>
    chosen = layerwise.explain(p, prompts=["mar"], method="ablation", target="o", checks=False)
    o = p.vocabulary.index["o"]
    for j in range(3):
        knocked = list(ids[0])
        knocked[j] = 0
        assert chosen.attributions[0, j] == pytest.approx(logit(p, ids[0], o) - logit(p, knocked, o), abs=1e-5)
    assert chosen.predictions == ["o"]
    saliency = layerwise.explain(p, prompts=prompts, method="saliency", checks=False)
    assert np.isfinite(saliency.attributions[2]).all() and saliency.delta is None


def test_bad_prompts_and_methods_name_what_is_wrong():
    p = generator("gru")
    with pytest.raises(DataError, match=r"prompt 2 'mZx' holds characters outside the vocabulary: \['Z', 'x'\]"):
        layerwise.explain(p, prompts=["ma", "mZx"])
    with pytest.raises(DataError, match="has 12 characters; the model reads at most 11"):
        layerwise.explain(p, prompts=["a" * 12])
    with pytest.raises(DataError, match="prompt 1 is empty"):
        layerwise.explain(p, prompts=[""])
    with pytest.raises(DataError, match="next character 'z' is not one the model predicts"):
        layerwise.explain(p, prompts=["ma"], target="z")
    with pytest.raises(UsageError, match="does not apply to a generation model.*ig, saliency or ablation"):
        layerwise.explain(p, prompts=["ma"], method="permutation")
    with pytest.raises(UsageError, match="did you mean 'saliency'"):
        layerwise.explain(p, prompts=["ma"], method="salency")
    with pytest.raises(UsageError, match="explained on prompts: none given"):
        layerwise.explain(p)
    with pytest.raises(UsageError, match="only a generation bundle is explained on prompts"):
        layerwise.explain(torch.nn.Linear(3, 2), np.zeros((4, 3), np.float32), prompts=["ma"])


@pytest.fixture(scope="module")
def names_run(tmp_path_factory):
    """A small, quickly trained name generator, written as a run folder."""
    root = tmp_path_factory.mktemp("names")
    text = root / "names.txt"
    text.write_text("\n".join(NAMES.read_text().split()[:200]) + "\n")
    cfg = {
        "data": {"path": str(text), "split": {"method": "random", "train": 0.8, "val": 0.1, "test": 0.1}},
        "task": {"type": "generation"},
        "model": {"type": "gru", "hidden": [32], "embedding": 16},
        "train": {"optimizer": "adamw", "lr": 0.01, "batch_size": 64, "epochs": 2},
        "evaluate": {"bootstrap": 50},
    }
    layerwise.Experiment(cfg).run(out=root / "run")
    return root / "run"


def test_cli_explains_prompts_into_csv_png_json_and_the_report(cli, names_run, tmp_path):
    code, out, err = cli("explain", names_run / "bundle", "--prompt", "mar", "--prompt", "el")
    assert code == 0, err
    folder = names_run / "explain"
    frame = pd.read_csv(folder / "attributions.csv", keep_default_na=False)
    assert list(frame.columns) == ["row", "prompt", "position", "character", "attribution", "target"]
    assert frame["prompt"].tolist() == ["mar"] * 3 + ["el"] * 2
    assert frame["character"].tolist() == list("marel") and frame["position"].tolist() == [0, 1, 2, 0, 1]
    meta = json.loads((folder / "explain.json").read_text())
    complete = next(c for c in meta["checks"] if c["check"] == "completeness")
    assert complete["passed"] and complete["relative_delta"] < 0.01
    assert [c["check"] for c in meta["checks"]] == ["completeness", "randomization"]
    assert (folder / "prompts.png").read_bytes()[:4] == b"\x89PNG"
    assert out.startswith("'mar' -> ") and "completeness: pass" in out
    html = (names_run / "report.html").read_text()
    assert 'id="explanations"' in html and "explained prompts" in html
    assert 'alt="Why the next character: each prompt character coloured by its attribution"' in html
    back = Explanation.read(folder)
    assert np.allclose(back.attributions[0], frame["attribution"][:3]) and "".join(back.inputs[1]) == "el"

    # a .txt file of prompts, one a line, gives the same numbers; --next picks the character
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("mar\nel\n")
    code, _, err = cli("explain", names_run / "bundle", prompts, "-o", tmp_path / "file", "--next", "a")
    assert code == 0, err
    again = pd.read_csv(tmp_path / "file" / "attributions.csv", keep_default_na=False)
    assert set(again["target"]) == {"a"}
    code, _, err = cli("explain", names_run / "bundle", prompts, "-o", tmp_path / "same")
    assert np.allclose(pd.read_csv(tmp_path / "same" / "attributions.csv")["attribution"], frame["attribution"])


def test_cli_bad_input_for_a_generation_bundle(cli, names_run, tmp_path):
    code, _, err = cli("explain", names_run / "bundle", "--prompt", "Zoë", "-o", tmp_path / "x")
    assert code == 3 and "outside the vocabulary: ['Z', 'ë']" in err
    code, _, err = cli("explain", names_run / "bundle", "--prompt", "ma", "--method", "permutation", "-o", tmp_path)
    assert code == 2 and "ig, saliency or ablation" in err
    code, _, err = cli("explain", names_run / "bundle", "--prompt", "ma", "--method", "gradient", "-o", tmp_path)
    assert code == 2 and "unknown method" in err
    code, _, err = cli("explain", names_run / "bundle", "-o", tmp_path / "x")
    assert code == 2 and "--prompt TEXT" in err
    code, _, err = cli("explain", names_run / "bundle", tmp_path / "missing.txt", "-o", tmp_path / "x")
    assert code == 3 and "missing.txt: no such file" in err
