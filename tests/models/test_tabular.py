"""The tabular block: its input layout, embeddings, members, data-fitted bins and export."""

import math

import numpy as np
import pytest
import torch
from onnx_parity import onnx_outputs

from layerwise.errors import ConfigError, UsageError
from layerwise.models import build
from layerwise.models.activations import PReLU, make_activation
from layerwise.models.language import is_language
from layerwise.models.tabular import SIGMA, Tabular, default_edges
from layerwise.models.transfer import zero_head

LAYOUT = Tabular.example_config["inputs"]  # dense 5 (numeric 0, 1, 3), categories of 4 and 2
SHAPE = Tabular.example_input_shape


def tabular(**cfg) -> Tabular:
    module = build({"type": "tabular", "inputs": LAYOUT, "hidden": [16, 8], **cfg}, SHAPE, 3, seed=0)
    assert isinstance(module, Tabular)
    return module


def rows(n: int = 6, seed: int = 0) -> torch.Tensor:
    return Tabular.example_input(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("embedding", ["periodic", "piecewise", "none"])
def test_one_prediction_per_member_in_training_and_their_mean_in_eval(embedding):
    module = tabular(members=4, dropout=0.0, numeric_embedding=embedding)
    x = rows()
    each = module.train()(x)
    assert each.shape == (6, 4, 3)
    assert not torch.allclose(each[:, 0], each[:, 1])  # the adapters' random signs set members apart
    with torch.no_grad():
        mean = module.eval()(x)
    assert mean.shape == (6, 3)
    torch.testing.assert_close(mean, each.detach().mean(dim=1))


def test_one_member_gives_plain_outputs_in_both_modes():
    module = tabular(members=1)
    assert module.train()(rows()).shape == (6, 3) and module.eval()(rows()).shape == (6, 3)
    assert module.scaling.adapters is None


def test_category_codes_out_of_range_read_as_the_nearest_valid_code():
    module = tabular().eval()
    base = rows(1)
    city = LAYOUT["dense"]  # the first code's position; cardinality 4: codes 0..4

    def with_code(value: float) -> torch.Tensor:
        x = base.clone()
        x[0, city] = value
        return module(x)

    with torch.no_grad():
        assert torch.equal(with_code(7.0), with_code(4.0))
        assert torch.equal(with_code(-3.0), with_code(0.0))
        assert torch.equal(with_code(float("nan")), with_code(0.0))  # missing
        assert torch.equal(with_code(2.2), with_code(2.0))
        assert not torch.equal(with_code(1.0), with_code(2.0))


def test_fit_data_sets_each_numeric_columns_bins_from_its_quantiles():
    module = tabular(numeric_embedding="piecewise", bins=4)
    edges = module.numbers.edges
    assert torch.equal(edges, default_edges(4).repeat(3, 1))  # before: a standard normal's quantiles
    g = torch.Generator().manual_seed(1)
    x = rows(400, seed=1)
    x[:, 0] = torch.empty(400).exponential_(generator=g)  # skewed
    x[:, 3] = torch.rand(400, generator=g) * 10
    module.fit_data(x)
    expected = np.quantile(x[:, [0, 1, 3]].double().numpy(), np.linspace(0, 1, 5), axis=0).T
    np.testing.assert_allclose(module.numbers.edges.numpy(), expected, rtol=1e-6)
    assert "numbers.edges" in module.state_dict()  # kept with the weights (a bundle's safetensors)


def test_fit_data_leaves_out_missing_values_and_is_a_no_op_for_periodic():
    module = tabular(numeric_embedding="piecewise", bins=2)
    x = rows(50)
    x[:, 1] = float("nan")  # a column without any value keeps its default bins
    x[::2, 0] = float("nan")
    module.fit_data(x)
    np.testing.assert_allclose(module.numbers.edges[1].numpy(), default_edges(2).numpy())
    kept = x[1::2, 0].double().numpy()
    np.testing.assert_allclose(module.numbers.edges[0].numpy(), np.quantile(kept, [0, 0.5, 1]), rtol=1e-6)
    periodic = tabular()
    before = {k: v.clone() for k, v in periodic.state_dict().items()}
    periodic.fit_data(x)
    assert all(torch.equal(before[k], v) for k, v in periodic.state_dict().items())
    with pytest.raises(UsageError, match="rows of 7 values"):
        module.fit_data(x[:, :5])


def test_a_constant_column_still_gives_finite_outputs():
    module = tabular(numeric_embedding="piecewise", bins=4).eval()
    x = rows(20)
    x[:, 0] = 1.5
    module.fit_data(x)
    with torch.no_grad():
        assert torch.isfinite(module(x)).all()


def test_piecewise_encoding_is_linear_inside_a_bin_and_open_at_both_ends():
    module = tabular(numeric_embedding="piecewise", bins=2)
    embedding = module.numbers
    embedding.edges.copy_(torch.tensor([[0.0, 1.0, 3.0]]).repeat(3, 1))
    seen = {}
    embedding.linear.register_forward_hook(lambda m, args, out: seen.update(encoded=args[0]))
    embedding(torch.tensor([[-1.0, 0.5, 2.0], [5.0, 1.0, 0.0]]))
    encoded = seen["encoded"]  # (batch, columns, bins)
    assert encoded[0].tolist() == [[-1.0, 0.0], [0.5, 0.0], [1.0, 0.5]]
    assert encoded[1].tolist() == [[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]]


def test_config_and_state_dict_round_trip_give_identical_outputs():
    module = tabular(numeric_embedding="piecewise", bins=3, members=2)
    module.fit_data(rows(100, seed=2))
    cfg = module.get_config()
    assert cfg == {
        "type": "tabular",
        "inputs": LAYOUT,
        "numeric_embedding": "piecewise",
        "embedding": 8,
        "bins": 3,
        "hidden": [16, 8],
        "activation": "prelu",
        "dropout": 0.1,
        "members": 2,
    }
    clone = build(cfg, SHAPE, 3, seed=5)
    clone.load_state_dict(module.state_dict())
    x = rows(9, seed=3)
    with torch.no_grad():
        assert torch.equal(clone.eval()(x), module.eval()(x))


def test_without_a_layout_every_value_is_a_numeric_column():
    module = build({"type": "tabular", "hidden": [8], "members": 2}, (4,), 1, seed=0)
    assert module.numbers.frequencies.shape[0] == 4 and module.categories is None
    assert module.get_config()["inputs"] is None
    assert module.eval()(torch.randn(3, 4)).shape == (3, 1)
    assert module(torch.arange(8).reshape(2, 4)).shape == (2, 1)  # integer rows read as numbers


def test_special_parameters_keep_their_own_initialization_under_every_scheme():
    for scheme in ("auto", "normal"):
        module = build(
            {"type": "tabular", "inputs": LAYOUT, "members": 32, "hidden": [64], "init": scheme}, SHAPE, 2, seed=0
        )
        frequencies = module.numbers.frequencies  # (3 columns, 16)
        assert frequencies.std().item() == pytest.approx(SIGMA, rel=0.3)
        assert torch.equal(module.scaling.scale, torch.ones_like(module.scaling.scale))
        assert set(module.scaling.adapters.unique().tolist()) == {-1.0, 1.0}
        assert torch.equal(module.body[1].weight, torch.full((64,), 0.25))  # prelu slopes
        assert not module.head.bias.any()
        bound = 1 / math.sqrt(8)  # the default embedding width
        assert all(t.weight.abs().max() <= bound for t in module.categories.tables)
    first = module.body[0].weight  # a named scheme still reaches the dense layers
    assert first.std().item() == pytest.approx(0.02, rel=0.1)


def test_prelu_learns_a_slope_per_neuron_over_the_last_dim():
    act = make_activation("prelu", 5)
    assert isinstance(act, PReLU) and act.weight.shape == (5,)
    with torch.no_grad():
        act.weight.copy_(torch.arange(5.0))
    x = -torch.ones(2, 3, 5)  # (batch, members, width)
    assert torch.equal(act(x), -torch.arange(5.0).expand(2, 3, 5))
    assert torch.equal(act(-x), -x)
    assert make_activation("prelu").weight.shape == (1,)
    mlp = build({"type": "mlp", "hidden": [7], "activation": "prelu"}, (3,), 1)
    assert mlp.layers[2].weight.shape == (7,)


def test_a_new_head_on_a_trained_body_starts_at_zero():
    module = tabular(members=3)
    assert zero_head(module)
    assert not module.head.weight.any() and not module.head.bias.any()


def test_an_embedding_width_does_not_make_it_a_generator():
    assert not is_language({"type": "tabular", "embedding": 8})


@pytest.mark.parametrize(
    ("cfg", "shape", "expected"),
    [
        ({"inputs": {**LAYOUT, "numeric": [0, 5]}}, SHAPE, r"model\.inputs.*'numeric'.*0\.\.4"),
        ({"inputs": {**LAYOUT, "dense": 6}}, SHAPE, r"model\.inputs.*rows of 8 values.*\(7,\)"),
        ({"inputs": {"dense": 7, "texts": []}}, SHAPE, r"model\.inputs.*expected"),
        (
            {"inputs": {**LAYOUT, "categories": [{"name": "a", "cardinality": 0}, {"name": "b", "cardinality": 1}]}},
            SHAPE,
            r"model\.inputs.*categories\[0\]",
        ),
        ({"numeric_embedding": "periodical"}, SHAPE, r"model\.numeric_embedding.*did you mean 'periodic'"),
        ({"members": 0, "bins": -1}, SHAPE, r"(?s)model\.bins.*model\.members"),
        ({}, (4, 3), r"model\.type: tabular reads rows"),
    ],
)
def test_bad_settings_name_their_key(cfg, shape, expected):
    with pytest.raises(ConfigError, match=expected):
        build({"type": "tabular", **({"inputs": LAYOUT} if shape == SHAPE else {}), **cfg}, shape, 1)


@pytest.mark.parametrize("embedding", ["periodic", "piecewise"])
def test_exports_to_onnx_with_the_same_outputs(embedding):
    module = tabular(numeric_embedding=embedding, members=4)
    module.fit_data(rows(200, seed=4))
    module.eval()
    x = rows(12, seed=5)
    x[0, 5], x[1, 6], x[2, 0] = 9.0, -1.0, 40.0  # codes out of range, a value past the last bin
    y = onnx_outputs(module, x[:2], x)
    with torch.no_grad():
        expected = module(x).numpy()
    assert y.shape == (12, 3)
    assert np.abs(y - expected).max() < 1e-4
