"""Generation end to end on real first names: beats the bigram, samples are new names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import layerwise
from layerwise.data import Vocabulary
from layerwise.errors import ConfigError, DataError
from layerwise.evaluation.bigram import Bigram
from layerwise.models import build

NAMES = Path(__file__).resolve().parents[1] / "examples" / "data" / "first-names.txt"


def test_vocabulary_round_trip_and_unknown_characters():
    vocab = Vocabulary.fit(["anna", "bob"])
    ids = vocab.encode(["bob", "an"], 6)
    assert ids.tolist() == [[1, 4, 6, 4, 2, 0], [1, 3, 5, 2, 0, 0]]  # a=3 b=4 n=5 o=6
    assert [vocab.decode(row) for row in ids] == ["bob", "an"]
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))).tokens == vocab.tokens
    with pytest.raises(DataError, match=r"\['z', 'Q'\]"):
        vocab.encode(["azQ"], 6)


def test_bigram_matches_hand_counts():
    vocab = Vocabulary.fit(["ab", "aa"])  # ids: a=3, b=4
    ids = vocab.encode(["ab", "aa"], 4)  # <s> a b </s> ; <s> a a </s>
    x, y = ids[:, :-1], ids[:, 1:]
    bigram = Bigram(len(vocab)).fit(x, y)
    probs = np.exp(bigram.log_probs)
    assert np.allclose(probs.sum(axis=1), 1.0)
    # after 'a': counts a->b 1, a->a 1, a->end 1, plus one for each of the 4 possible next tokens
    assert probs[3, 4] == pytest.approx(2 / 7)
    assert bigram.token_losses(x, y)[0, 0] == pytest.approx(-np.log(3 / 6))  # <s> -> a: 2+1 of 2+4


@pytest.mark.parametrize("kind", ["lstm", "gru", "transformer"])
def test_generators_never_see_the_character_they_predict(kind):
    model = build(
        {"type": kind, "embedding": 8, "hidden": [16]}
        if kind != "transformer"
        else {"type": kind, "embedding": 8, "d_model": 16, "heads": 2},
        (10,),
        12,
    ).eval()
    ids = torch.randint(1, 12, (2, 10))
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] % 11) + 1
    with torch.no_grad():
        assert torch.allclose(model(ids)[:, :6], model(changed)[:, :6], atol=1e-6)


def test_a_generator_must_be_causal():
    with pytest.raises(ConfigError, match="model.bidirectional"):
        build({"type": "lstm", "embedding": 8, "bidirectional": True}, (10,), 12)
    with pytest.raises(ConfigError, match="generation needs one of lstm, gru, transformer"):
        build({"type": "mlp", "embedding": 8}, (10,), 12)


@pytest.fixture(scope="module")
def names_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("names") / "run"
    cfg = {
        "data": {"path": str(NAMES), "split": {"method": "random", "train": 0.8, "val": 0.1, "test": 0.1}},
        "task": {"type": "generation"},
        "model": {"type": "gru", "hidden": [64], "embedding": 24},
        "train": {"optimizer": "adamw", "lr": 0.005, "batch_size": 128, "epochs": 6, "patience": 3},
        "evaluate": {"bootstrap": 300},
    }
    return layerwise.Experiment(cfg).run(out=out), out


def test_names_beat_the_bigram_and_samples_are_new(names_run):
    result, out = names_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "generation" and m["primary_metric"] == "cross_entropy"
    assert m["test"]["cross_entropy"] < m["baseline"]["cross_entropy"]
    assert m["beats_baseline"] is True
    assert m["ci"]["difference"]["cross_entropy"][1] < 0
    training = set(NAMES.read_text().split())
    samples = layerwise.load(out / "bundle").generate(200, temperature=0.8, seed=3)
    assert sum(s not in training for s in samples) >= 100
    allowed = set("".join(training))
    assert all(set(s) <= allowed for s in samples)
    assert (out / "report.html").is_file() and "Per-character loss" in (out / "report.html").read_text()


def test_bundle_generates_the_same_samples_as_the_run(names_run):
    result, out = names_run
    loaded = layerwise.load(out / "bundle")
    assert loaded.generate(5, seed=11) == result.predictor.generate(5, seed=11)


def test_generate_through_the_cli(cli, names_run):
    _, out = names_run
    code, stdout, err = cli("generate", out / "bundle", "--n", "7", "--seed", "1", "--prompt", "ma")
    assert code == 0, err
    lines = stdout.splitlines()
    assert len(lines) == 7 and all(line.startswith("ma") for line in lines)
    code, _, err = cli("generate", out / "bundle", "--prompt", "Zoë")
    assert code == 3
    assert "['Z', 'ë']" in err


def test_init_recognises_a_text_file(cli, tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("\n".join(NAMES.read_text().split()[:200]) + "\n")
    code, _, err = cli("init", data, "-o", tmp_path / "names.yaml")
    assert code == 0, err
    text = (tmp_path / "names.yaml").read_text()
    assert "type: generation" in text and "type: lstm" in text
    code, stdout, err = cli(
        "run",
        tmp_path / "names.yaml",
        "--out",
        tmp_path / "run",
        "--quiet",
        "--set",
        "train.epochs=2",
        "--set",
        "model.hidden=[16]",
    )
    assert code == 0, err
    assert "bigram" in stdout
