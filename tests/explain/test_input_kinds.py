"""One class per kind of input carries an Explanation's layout: every kind writes its CSV and
explain.json and reads them back to the same numbers, and a FeatureSpace's kind is chosen once."""

import json

import numpy as np
import pandas as pd
import pytest

from layerwise.errors import DataError
from layerwise.explain import Explanation, FeatureSpace
from layerwise.explain.explanation import INPUT_KINDS, empty_importance


def made(kind: str) -> Explanation:
    """A small explanation of each kind, its attributions and inputs shaped as `explain` makes them."""
    rng = np.random.default_rng(0)
    names = {"tabular": ["a", "b"], "series": ["a", "b"], "image": ["x0"], "text": ["character"]}[kind]
    e = Explanation(kind, "ig", names, "u", empty_importance(), baseline="zeros")
    e.rows, e.predictions = [3, 7], ["c", "d"]
    e.output, e.baseline_output, e.delta = np.array([1.0, 2.0]), np.array([0.0, 0.5]), np.array([0.01, 0.02])
    if kind == "tabular":
        e.attributions, e.inputs = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    elif kind == "series":
        e.attributions = rng.normal(size=(2, 3, 2))
    elif kind == "image":
        e.attributions, e.inputs = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 2, 3))
    else:  # a shorter prompt is padded: NaN attributions, "" characters
        e.attributions = np.array([[0.5, -0.25, 1.0], [0.125, 2.0, np.nan]])
        e.inputs = np.array([list("NA,"), [*"ab", ""]], dtype=object)
    return e


@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
def test_every_input_kind_reads_back_what_it_wrote(kind, tmp_path):
    e = made(kind)
    e.save(tmp_path / "one", plots=False)
    back = Explanation.read(tmp_path / "one")
    assert back.kind == kind and back.layout is INPUT_KINDS[kind]
    np.testing.assert_allclose(back.attributions, e.attributions)
    if kind == "series":  # a window keeps no values
        assert back.inputs is None
    elif kind == "text":
        assert back.inputs.tolist() == e.inputs.tolist()  # "NA" a character, "" the padding
    else:
        np.testing.assert_allclose(back.inputs.astype(np.float64), e.inputs)
    back.save(tmp_path / "two", plots=False)
    for name in ("attributions.csv", "explain.json", "importance.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_the_csv_columns_and_the_per_row_fields_follow_the_kind(tmp_path):
    columns = {k: list(made(k).attributions_frame().columns) for k in INPUT_KINDS}
    assert columns == {
        "tabular": ["row", "feature", "value", "attribution"],
        "series": ["row", "step", "feature", "attribution"],
        "image": ["row", "y", "x", "value", "attribution"],
        "text": ["row", "prompt", "position", "character", "attribution", "target"],
    }
    text = made("text").summary()["rows"]
    assert [r["prompt"] for r in text] == ["NA,", "ab"]
    assert all("prompt" not in r for k in ("tabular", "series", "image") for r in made(k).summary()["rows"])
    assert made("text").describe()[0].startswith("'NA,' -> 'c': ','@2 +1")
    assert made("tabular").describe() == []


def test_reading_an_explanation_of_an_unknown_kind_names_the_file(tmp_path):
    made("tabular").save(tmp_path, plots=False)
    meta = json.loads((tmp_path / "explain.json").read_text(encoding="utf-8"))
    (tmp_path / "explain.json").write_text(json.dumps(meta | {"kind": "audio"}), encoding="utf-8")
    with pytest.raises(DataError, match=r"explain\.json: kind 'audio' is not one of tabular, series, image, text"):
        Explanation.read(tmp_path)


def test_a_plain_modules_kind_of_input_comes_from_its_axes():
    rng = np.random.default_rng(1)
    rows, windows, images = (FeatureSpace.from_shape(s) for s in [(3,), (4, 2), (2, 3, 3)])
    assert (rows.kind, windows.kind, images.kind) == ("tabular", "series", "image")
    assert images.names == ["x0", "x1"] and windows.names == ["x0", "x1"]
    x = rng.normal(size=(5, 2, 3, 3))
    np.testing.assert_allclose(images.collapse(x), x[:, 0] + x[:, 1])  # summed over channels
    np.testing.assert_allclose(images.inputs(x), x.mean(axis=1))  # the picture under the heatmap
    assert images.mask().shape == (1, 2, 3, 3) and (images.mask()[0, 0] == images.mask()[0, 1]).all()
    assert windows.mask().ravel().tolist() == list(range(8)) and windows.inputs(x) is None
    assert not images.ranks_features and rows.ranks_features and windows.ranks_features
    grouped = FeatureSpace("tabular", ["a", "b"], [[0, 1], [2]], (3,))
    v = rng.normal(size=(4, 3))
    np.testing.assert_allclose(grouped.collapse(v), np.stack([v[:, 0] + v[:, 1], v[:, 2]], axis=1))
    assert grouped.mask().tolist() == [[0, 0, 1]]
    with pytest.raises(ValueError, match=r"expected \(features,\), \(steps, features\)"):
        FeatureSpace.from_shape((1, 2, 3, 4))
    assert pd.api.types.is_float_dtype(rows.inputs(v).dtype)
