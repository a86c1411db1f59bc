"""`layerwise init` on a table writes the table recipe, sized to the table's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from layerwise.config.scaffold import (
    EMBED_FROM,
    MEMBERS_BELOW,
    SMALL_TABLE,
    TABLE_BATCH,
    TABLE_EPOCHS,
    TABLE_UPDATES,
    table_budget,
    write_config,
)
from layerwise.config.schema import ExperimentConfig


def _table(path, rows: int, classes: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["city"] = rng.choice(["oslo", "lima", "pune"], rows)
    frame["y"] = np.where(x[:, 0] > 0, "yes", "no") if classes else x @ [1.0, 2.0, -1.0] + rng.normal(size=rows)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("classes", [True, False])
def test_init_writes_the_table_recipe(tmp_path, classes):
    _table(tmp_path / "t.csv", 1200, classes)
    raw = yaml.safe_load(write_config(tmp_path / "t.csv", target="y", out=tmp_path / "t.yaml"))
    ExperimentConfig.model_validate({**raw, "data": {**raw["data"], "path": str(tmp_path / "t.csv")}})
    assert raw["model"]["type"] == "tabular"
    assert raw["data"]["normalize"] == "auto"
    assert raw["train"]["schedule"] == {"type": "flat_cosine", "flat": 0.5}
    # label smoothing is for classes; a regression refuses it, so init writes it only for classes
    assert ("label_smoothing" in raw["train"]) is classes
    # both keep the epoch of lowest validation loss (stop_on: metric measured no better), said in the file
    assert raw["train"]["stop_on"] == "loss"
    assert raw["data"]["split"]["train"] == 0.7
    assert (raw["train"]["batch_size"], raw["train"]["epochs"], raw["train"]["patience"]) == table_budget(1200, 0.7)


def test_a_small_table_gets_larger_validation_and_test_parts(tmp_path):
    _table(tmp_path / "t.csv", SMALL_TABLE - 1, classes=True)
    raw = yaml.safe_load(write_config(tmp_path / "t.csv", target="y", out=tmp_path / "t.yaml"))
    assert raw["data"]["split"] == {"method": "stratified", "train": 0.6, "val": 0.2, "test": 0.2}
    assert raw["train"]["batch_size"] == table_budget(SMALL_TABLE - 1, 0.6)[0]


def test_the_budget_grows_the_batch_with_the_rows_and_keeps_the_updates_bounded():
    sizes = [100, 1_000, 5_000, 20_000, 200_000]
    budgets = [table_budget(rows, 0.7) for rows in sizes]
    batches = [b for b, _, _ in budgets]
    assert batches == sorted(batches) and batches[0] == TABLE_BATCH[0] and batches[-1] == TABLE_BATCH[1]
    for rows, (batch, epochs, patience) in zip(sizes, budgets):
        assert TABLE_EPOCHS[0] <= epochs <= TABLE_EPOCHS[1]
        assert 10 <= patience <= epochs
        steps = -(-int(rows * 0.7) // batch)  # batches per epoch
        # about TABLE_UPDATES updates, unless an epoch bound holds
        if TABLE_EPOCHS[0] < epochs < TABLE_EPOCHS[1]:
            assert abs(epochs * steps - TABLE_UPDATES) <= steps


def test_a_class_with_one_row_is_split_at_random(tmp_path):
    _table(tmp_path / "t.csv", 600, classes=True)
    frame = pd.read_csv(tmp_path / "t.csv")
    frame.loc[0, "y"] = "rare"  # stratifying needs two rows of every class
    frame.to_csv(tmp_path / "t.csv", index=False)
    text = write_config(tmp_path / "t.csv", target="y", out=tmp_path / "t.yaml")
    assert yaml.safe_load(text)["data"]["split"]["method"] == "random"
    assert "1 class with one row cannot be stratified" in text


def test_members_are_written_for_small_tables_and_one_network_for_large_ones(tmp_path):
    for rows, members in ((1_000, 8), (int(MEMBERS_BELOW / 0.7) + 100, 1)):
        _table(tmp_path / "t.csv", rows, classes=False)
        raw = yaml.safe_load(write_config(tmp_path / "t.csv", target="y", out=tmp_path / "t.yaml"))
        assert raw["model"]["members"] == members


def test_numeric_embeddings_are_written_from_a_thousand_training_rows(tmp_path):
    below, above = int(EMBED_FROM / 0.7) - 20, int(EMBED_FROM / 0.7) + 20
    for rows, embedding in ((200, "none"), (below, "none"), (above, "periodic")):
        _table(tmp_path / "t.csv", rows, classes=True)
        text = write_config(tmp_path / "t.csv", target="y", out=tmp_path / "t.yaml")
        assert yaml.safe_load(text)["model"]["numeric_embedding"] == embedding, rows
        # the comment says why, so a user can switch them on for a table that has the rows
        assert (f"embeddings overfit; periodic from {EMBED_FROM}" in text) is (embedding == "none")
