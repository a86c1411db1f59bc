"""The text encoders (models/text.py): padding, empty texts, layouts, an oracle for the
recurrent directions, settings, and ONNX parity. The conformance harness (test_blocks.py)
covers shapes, gradients and the config and bundle round trips."""

import numpy as np
import pytest
import torch
from onnx_parity import onnx_outputs
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import build, get
from layerwise.models.language import LanguageModel
from layerwise.models.text import TextBag, TextBlock, TextGRU, TextTransformer, reverse_within

TEXT_BLOCKS = ["text_bag", "text_cnn", "text_gru", "text_lstm", "text_transformer"]
# every readout and direction, both kinds of positions, stacked convs and recurrent layers
SETTINGS = [
    ("text_bag", {"readout": "mean"}),
    ("text_bag", {"readout": "max"}),
    ("text_cnn", {"channels": [5, 6], "kernel_size": 3, "readout": "max"}),
    ("text_cnn", {"channels": [5, 6], "kernel_size": 5, "readout": "mean"}),
    ("text_gru", {"hidden": [5, 4], "readout": "last"}),
    ("text_gru", {"hidden": [5], "bidirectional": False, "readout": "last"}),
    ("text_lstm", {"hidden": [5, 4], "readout": "max"}),
    ("text_lstm", {"hidden": [5], "readout": "mean"}),
    ("text_transformer", {"d_model": 8, "heads": 2, "positions": "learned", "readout": "mean"}),
    ("text_transformer", {"d_model": 8, "heads": 2, "positions": "sinusoidal", "readout": "max"}),
]
SMALL = {"embedding": 6, "hidden": [5]}  # narrow widths: fast, and unlike each other


def inputs(dense: int, *lengths: int, vocab: int = 20) -> dict:
    return {"dense": dense, "texts": [{"name": f"t{i}", "length": n, "vocab": vocab} for i, n in enumerate(lengths)]}


def text_model(name: str, cfg: dict, dense: int, *lengths: int, seed: int = 0) -> TextBlock:
    section = {"type": name, **({} if name == "text_transformer" else SMALL), **cfg, "inputs": inputs(dense, *lengths)}
    torch.manual_seed(seed)  # layers `initialize` leaves as constructed draw from the global generator
    module = build(section, (dense + sum(lengths),), 3, seed=seed)
    assert isinstance(module, TextBlock)
    return module


def row(dense: list[float], *texts: tuple[list[int], int]) -> torch.Tensor:
    """One packed row: the dense features, then each text's ids padded to its length."""
    values = list(dense)
    for ids, length in texts:
        values += ids + [0] * (length - len(ids))
    return torch.tensor([values], dtype=torch.float32)


def longer(short: nn.Module, long: nn.Module) -> nn.Module:
    """`long` with `short`'s weights; learned positions take the short table's rows first."""
    state = long.state_dict()
    for key, value in short.state_dict().items():
        if state[key].shape == value.shape:
            state[key] = value
        else:  # (length, d_model) learned positions
            state[key][: value.shape[0]] = value
    long.load_state_dict(state)
    return long


@pytest.mark.parametrize(("name", "cfg"), SETTINGS, ids=lambda v: v if isinstance(v, str) else str(v))
def test_more_padding_does_not_change_the_answer(name, cfg):
    short = text_model(name, cfg, 2, 6).eval()
    long = longer(short, text_model(name, cfg, 2, 11, seed=1)).eval()
    with torch.no_grad():
        for ids in ([5, 3, 9], [7, 1, 4, 12, 2, 8]):  # shorter than the short length, and filling it
            a = short(row([0.3, -1.0], (ids, 6)))
            b = long(row([0.3, -1.0], (ids, 11)))
            assert torch.allclose(a, b, atol=1e-5), (ids, a, b)


@pytest.mark.parametrize(("name", "cfg"), SETTINGS, ids=lambda v: v if isinstance(v, str) else str(v))
def test_an_empty_text_encodes_as_zeros_with_finite_gradients(name, cfg):
    model = text_model(name, cfg, 2, 5, 4)  # train mode: dropout on
    x = torch.cat([row([0.5, 1.0], ([], 5), ([], 4)), row([0.1, 0.2], ([3, 4], 5), ([], 4))])
    out = model(x)
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    with torch.no_grad():
        width = model.fusion.layers[1].in_features - 2  # (dense + 2 encodings) -> per encoding
        zeros = torch.zeros(2, width // 2)
        expected = model.fuse(x, [zeros, zeros])[0]
        assert torch.allclose(model(x)[0], expected, atol=1e-6)


@pytest.mark.parametrize("name", TEXT_BLOCKS)
def test_dense_features_and_each_text_column_reach_the_output(name):
    model = text_model(name, {"activation": "tanh"}, 3, 5, 4).eval()  # tanh: no unit is ever dead
    base = row([0.1, 0.2, 0.3], ([2, 3, 4], 5), ([5, 6], 4))
    changed_dense = row([0.1, 2.0, 0.3], ([2, 3, 4], 5), ([5, 6], 4))
    changed_first = row([0.1, 0.2, 0.3], ([2, 9, 4], 5), ([5, 6], 4))
    changed_second = row([0.1, 0.2, 0.3], ([2, 3, 4], 5), ([5, 7, 8], 4))
    with torch.no_grad():
        y = model(base)
        for other in (changed_dense, changed_first, changed_second):
            assert not torch.allclose(model(other), y)
    assert list(model.token_embeddings()) == ["t0", "t1"]
    assert [e.num_embeddings for e in model.token_embeddings().values()] == [20, 20]
    assert all(e.padding_idx == 0 for e in model.token_embeddings().values())
    assert all(not e.weight[0].any() for e in model.token_embeddings().values())  # initialized, padding stays zero


@pytest.mark.parametrize("name", TEXT_BLOCKS)
def test_text_alone_without_dense_features(name):
    model = text_model(name, {}, 0, 6).eval()
    x = torch.cat([row([], ([4, 5, 6], 6)), row([], ([], 6)), row([], ([1, 1, 2, 3, 4, 5], 6))])
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    assert not torch.allclose(out[0], out[2]) and not torch.allclose(out[0], out[1])


def test_a_unidirectional_gru_reads_to_the_last_real_token():
    """Oracle: torch's GRU run over the real tokens only, with no padding at all."""
    model = text_model("text_gru", {"hidden": [5], "bidirectional": False, "readout": "last"}, 0, 8).eval()
    assert isinstance(model, TextGRU)
    ids = torch.tensor([[4, 7, 2]])
    with torch.no_grad():
        expected, _ = model.forward_layers[0][0](model.token_embeddings()["t0"](ids))  # (1, 3, 5)
        expected = model.fusion(expected[:, -1])
        assert torch.allclose(model(row([], ([4, 7, 2], 8))), expected, atol=1e-6)


@pytest.mark.parametrize("cell", [nn.GRU, nn.LSTM])
def test_bidirectional_layers_match_torchs_bidirectional_layer_on_unpadded_text(cell):
    """Oracle: our two directions, on a padded row, give what torch's bidirectional layer gives
    on the same text without padding."""
    name = "text_gru" if cell is nn.GRU else "text_lstm"
    model = text_model(name, {"hidden": [5], "readout": "last"}, 0, 9).eval()
    ahead, behind = model.forward_layers[0][0], model.backward_layers[0][0]
    torch_layer = cell(6, 5, batch_first=True, bidirectional=True)
    state = {f"{k}_l0": v for k, v in ((k[: -len("_l0")], v) for k, v in ahead.state_dict().items())}
    state |= {f"{k}_l0_reverse": v for k, v in ((k[: -len("_l0")], v) for k, v in behind.state_dict().items())}
    torch_layer.load_state_dict(state)
    ids = torch.tensor([[3, 8, 1, 15, 6]])
    with torch.no_grad():
        out, _ = torch_layer(model.token_embeddings()["t0"](ids))  # (1, 5, 10)
        last = torch.cat([out[:, -1, :5], out[:, 0, 5:]], dim=1)
        expected = model.fusion(last)
        assert torch.allclose(model(row([], ([3, 8, 1, 15, 6], 9))), expected, atol=1e-5)


def test_reverse_within_keeps_padding_in_place_and_undoes_itself():
    h = torch.arange(10.0).reshape(2, 5, 1)
    lengths = torch.tensor([[3], [0]])
    flipped = reverse_within(h, lengths)
    assert flipped[0, :, 0].tolist() == [2, 1, 0, 3, 4]
    assert flipped[1, :, 0].tolist() == [5, 6, 7, 8, 9]
    assert torch.equal(reverse_within(flipped, lengths), h)


def test_ids_outside_the_vocabulary_read_as_unknown():
    model = text_model("text_bag", {}, 0, 4).eval()
    with torch.no_grad():
        assert torch.equal(model(row([], ([3, 99], 4))), model(row([], ([3, 1], 4))))
        assert torch.equal(model(row([], ([3.0001, 1.9999], 4))), model(row([], ([3, 2], 4))))


def test_embedding_in_a_text_section_is_the_token_width_not_a_generator():
    model = build({"type": "text_bag", "embedding": 12, "inputs": inputs(1, 4)}, (5,), 2)
    assert isinstance(model, TextBag) and model.token_embeddings()["t0"].embedding_dim == 12
    # a generation section (a sequence block with an embedding) still builds the language model
    assert isinstance(build({"type": "lstm", "embedding": 8}, (10,), 12), LanguageModel)
    with pytest.raises(ConfigError, match=r"model\.embedding: not a setting of model type 'text_transformer'"):
        build({"type": "text_transformer", "embedding": 8, "inputs": inputs(1, 4)}, (5,), 2)


@pytest.mark.parametrize("name", TEXT_BLOCKS)
def test_missing_inputs_say_the_run_sets_them(name):
    with pytest.raises(ConfigError, match=r"model\.inputs: set by the run from the data's text columns"):
        build({"type": name}, (8,), 2)


@pytest.mark.parametrize(
    ("layout", "shape", "words"),
    [
        ({"dense": 1}, (5,), "expected {'dense': F, 'texts'"),
        ({"dense": -1, "texts": [{"name": "a", "length": 4, "vocab": 9}]}, (3,), "'dense' -1"),
        ({"dense": 1, "texts": []}, (1,), "at least one text column"),
        ({"dense": 1, "texts": [{"name": "a", "length": 0, "vocab": 9}]}, (1,), "texts[0]"),
        ({"dense": 0, "texts": [{"name": "a", "length": 2, "vocab": 9}] * 2}, (4,), "repeat"),
        ({"dense": 1, "texts": [{"name": "a", "length": 4, "vocab": 9}]}, (7,), "rows of 5 values"),
    ],
)
def test_a_malformed_layout_is_named(layout, shape, words):
    with pytest.raises(ConfigError, match="model.inputs") as info:
        build({"type": "text_bag", "inputs": layout}, shape, 2)
    assert words in str(info.value)


def test_bad_settings_are_all_reported_at_once():
    with pytest.raises(ConfigError) as info:
        build({"type": "text_cnn", "kernel_size": 4, "readout": "last", "hidden": [0], "inputs": inputs(0, 4)}, (4,), 2)
    problems = " ".join(info.value.problems)
    assert "model.kernel_size: 4 must be odd" in problems and "model.readout" in problems
    assert "model.hidden" in problems
    with pytest.raises(ConfigError, match=r"model\.heads: 3 heads do not divide model\.d_model 8"):
        build({"type": "text_transformer", "d_model": 8, "heads": 3, "inputs": inputs(0, 4)}, (4,), 2)


def test_the_transformer_reads_a_padded_text_as_the_text_alone():
    """Oracle: the same encoder over the two tokens with no padding and no mask at all."""
    model = text_model("text_transformer", {"d_model": 8, "heads": 2}, 0, 6).eval()
    assert isinstance(model, TextTransformer)
    ids = torch.tensor([[4, 5]])
    with torch.no_grad():
        h = model.encoders[0](model.position[0](model.token_embeddings()["t0"](ids)))  # (1, 2, 8)
        expected = model.fusion(h.mean(1))
        assert torch.allclose(model(row([], ([4, 5], 6))), expected, atol=1e-5)


# Every block is exported through `layerwise export` on a real bundle in tests/test_text_predict.py;
# here the block alone, for the two ends of the family (pooling only; masked attention).
@pytest.mark.parametrize("name", ["text_bag", "text_transformer"])
def test_text_blocks_export_to_onnx_with_the_same_outputs(name):
    cls = get(name)
    module = build({"type": name, **cls.example_config}, cls.example_input_shape, 3, seed=0).eval()
    x = cls.example_input(9, torch.Generator().manual_seed(1))  # an empty text, a full one, others
    y = onnx_outputs(module, x[:2], x[2:])  # other rows, another batch size
    with torch.no_grad():
        expected = module(x[2:]).numpy()
    assert np.abs(y - expected).max() < 1e-4
