"""Explaining a table model that embeds its categories: the embedded column is attributed by
replacing its code (no gradient reaches a code), the rest by Integrated Gradients, and the
explained output of a log-transformed target is the prediction itself."""

import json
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import layerwise
from layerwise.explain import FeatureSpace
from layerwise.explain.baseline import training_baseline
from layerwise.explain.codes import attribute_table, code_shares
from layerwise.explain.output import Output, of_predictor


def priced(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """A positive, skewed price set mostly by one of 30 cities, a little by `a` (10% missing)."""
    rng = np.random.default_rng(seed)
    cities = [f"city{i:02d}" for i in range(30)]
    effect = dict(zip(cities, np.linspace(-2.5, 2.5, 30)[rng.permutation(30)]))
    city = rng.choice(cities, n)
    a = rng.normal(size=n)
    a[rng.random(n) < 0.1] = np.nan
    when = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    log = np.array([effect[c] for c in city]) + 0.3 * np.nan_to_num(a) + 0.1 * rng.normal(size=n)
    return pd.DataFrame(
        {"a": a, "city": city, "when": when.strftime("%Y-%m-%d"), "noise": rng.normal(size=n), "y": 100 * np.exp(log)}
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded")
    priced().to_csv(folder / "prices.csv", index=False)
    cfg = {
        "data": {"path": str(folder / "prices.csv"), "target": "y"},
        "model": {"type": "tabular"},
        "train": {"epochs": 2, "seed": 0},
        "evaluate": {"report": False, "bootstrap": 20, "leakage": False, "reference": "none"},
    }
    layerwise.Experiment(cfg).run(out=folder / "run")
    return folder / "run"


def test_the_run_embeds_the_city_indicates_missing_values_and_logs_the_target(run):
    predictor = layerwise.load(run / "bundle")
    columns = predictor.features.columns
    assert columns["city"]["encoding"] == "embed" and columns["a"].get("missing") is True
    assert predictor.target.log  # auto: a positive target this skewed is modelled as its log
    space = FeatureSpace.from_predictor(predictor)
    positions = predictor.features.positions
    assert space.names == ["a", "city", "when", "noise"]
    assert space.groups == [positions[name] for name in space.names]
    assert len(space.groups[0]) == 2 and len(space.groups[2]) == 7  # value + indicator; year + 3 cycles
    assert space.codes == positions["city"] and space.embedded == ["city"]
    base, described = training_baseline(predictor)
    np.testing.assert_array_equal(base, predictor.features.fill_row())
    assert base[positions["city"][0]] == columns["city"]["categories"].index(columns["city"]["fill"]) + 1
    for words in ("training median", "most frequent", "centre of their circles", "missing-value indicator 0"):
        assert words in described, (words, described)


def test_layerwise_explain_gives_the_embedded_city_its_share(cli, run):
    code, out, err = cli("explain", run / "bundle", "--rows", "0:40")
    assert code == 0, err
    importance = pd.read_csv(run / "explain" / "importance.csv")
    permuted = importance[importance["method"] == "permutation"].set_index("feature")["importance"]
    assert permuted.index[0] == "city", permuted  # the price is mostly the city's, and the model uses it
    # ig: a share of the attributions, not the zero a gradient through the code would give (two
    # epochs leave the model sensitive to the noise too: how much varies, that the city counts does not)
    ig = importance[importance["method"] == "ig"].set_index("feature")["importance"]
    assert ig["city"] > 0.25 * ig.max() and ig["city"] > ig["noise"], ig
    meta = json.loads((run / "explain" / "explain.json").read_text())
    assert any(n.startswith("embedded categories ('city')") for n in meta["notes"]), meta["notes"]
    complete = next(c for c in meta["checks"] if c["check"] == "completeness")
    assert complete["passed"], complete  # the codes' Shapley values add up exactly
    # a log-transformed target is explained in its own units: the output is the prediction
    assert meta["unit"] == "predicted y"
    rows = meta["rows"]
    assert [r["output"] for r in rows] == pytest.approx([r["prediction"] for r in rows], rel=1e-4)
    attributions = pd.read_csv(run / "explain" / "attributions.csv")
    city = attributions[attributions["feature"] == "city"]["attribution"]
    assert (city != 0).mean() > 0.5  # not the zero a gradient through a code would give

    code, _, err = cli("explain", run / "bundle", "--rows", "0:5", "--method", "saliency", "-o", run / "s")
    assert code == 2 and "gradient through a code" in err and "--method ig" in err
    code, _, err = cli("explain", run / "bundle", "--rows", "0:5", "--method", "ablation", "-o", run / "ab")
    assert code == 0, err
    ablated = pd.read_csv(run / "ab" / "attributions.csv")
    assert (ablated[ablated["feature"] == "city"]["attribution"] != 0).any()


class _Priced(nn.Module):
    """Two dense inputs and two category codes (rounded, as the tabular block reads them), with an
    interaction between the codes so that their Shapley values differ from plain ablations."""

    def __init__(self):
        super().__init__()
        self.first = nn.Embedding(4, 1)
        self.second = nn.Embedding(4, 1)
        with torch.no_grad():
            self.first.weight.copy_(torch.tensor([[0.0], [1.0], [-2.0], [3.0]]))
            self.second.weight.copy_(torch.tensor([[0.0], [0.5], [2.0], [-1.0]]))

    def forward(self, x):  # (n, 4): dense u, v, then codes c1, c2
        c1, c2 = x[:, 2].round().clamp(0, 3).long(), x[:, 3].round().clamp(0, 3).long()
        e1, e2 = self.first(c1)[:, 0], self.second(c2)[:, 0]
        return (torch.tanh(x[:, 0]) + x[:, 1] ** 2 + e1 + e2 + e1 * e2 * x[:, 0])[:, None]


def test_code_shares_are_the_shapley_values_of_putting_each_code_back():
    module = _Priced()
    output = Output(module, "model output")
    x = np.array([[0.5, -1.0, 2, 3], [-0.3, 0.2, 3, 1], [1.0, 1.0, 1, 1]], dtype=np.float32)
    base = np.array([0.0, 0.0, 1, 2], dtype=np.float32)
    target = np.zeros(len(x), dtype=np.int64)

    def v(keep: set[int]) -> np.ndarray:  # the output with only the codes in `keep` the row's own
        held = x.copy()
        for j, position in enumerate((2, 3)):
            if j not in keep:
                held[:, position] = base[position]
        return output.values(held)[:, 0].astype(np.float64)

    # the oracle: the mean over both orders of each code's marginal contribution
    expected = np.zeros((len(x), 2))
    for order in permutations(range(2)):
        kept: set[int] = set()
        for j in order:
            expected[:, j] += (v(kept | {j}) - v(kept)) / 2
            kept.add(j)
    shares = code_shares(output, x, target, base, [2, 3])
    np.testing.assert_allclose(shares, expected, atol=1e-6)
    np.testing.assert_allclose(shares.sum(axis=1), v({0, 1}) - v(set()), atol=1e-6)

    # with Integrated Gradients over the dense inputs, everything adds up to f(x) - f(baseline)
    a = attribute_table(output, x, target, method="ig", baseline=base, steps=64, mask=np.arange(4)[None], codes=[2, 3])
    np.testing.assert_allclose(a.values[:, 2:], shares, atol=1e-6)
    full = output.values(x)[:, 0] - output.values(base[None])[0, 0]
    np.testing.assert_allclose(a.values.sum(axis=1), full, atol=1e-3)
    assert np.abs(a.delta).max() < 1e-3


def test_a_log_target_is_explained_in_its_own_units(run):
    predictor = layerwise.load(run / "bundle")
    x = predictor.features.transform(priced(20, seed=1).drop(columns="y"))
    explained = of_predictor(predictor).values(x)[:, 0]
    np.testing.assert_allclose(explained, predictor.decode(predictor.raw_outputs(x))[:, 0], rtol=1e-5)


def test_a_run_asked_for_saliency_skips_it_with_a_note_rather_than_fail(run, tmp_path):
    from types import SimpleNamespace

    from layerwise.config.schema import ExplainConfig
    from layerwise.explain import explain_run

    notes: list[str] = []
    result = SimpleNamespace(predictor=layerwise.load(run / "bundle"), config=None)
    assert explain_run(result, tmp_path / "explain", ExplainConfig(method="saliency"), notes.append) is None
    assert len(notes) == 1 and notes[0].startswith("explain: skipped: --method saliency: this model embeds")
    assert "evaluate.explain.method to ig or ablation" in notes[0] and not (tmp_path / "explain").exists()
