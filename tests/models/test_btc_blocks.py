"""The BTC example runs with every sequence block from its config alone, beside
persistence: examples/bitcoin-<block>.yaml, on the first 500 days, a few epochs."""

import math
from pathlib import Path

import pandas as pd
import pytest

import layerwise
from layerwise.config.schema import ExperimentConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("block", ["lstm", "gru", "cnn1d", "transformer"])
def test_bitcoin_example_runs_beside_persistence(block, tmp_path):
    cfg = ExperimentConfig.from_yaml(EXAMPLES / f"bitcoin-{block}.yaml", ["train.epochs=3"])
    assert cfg.model.type == block
    frame = pd.read_csv(cfg.data.path).iloc[:500]
    result = layerwise.Experiment(cfg, data=frame).run(tmp_path / "run")
    assert result.model.get_config()["type"] == block
    assert result.metrics["baseline_name"].startswith("persistence")
    assert math.isfinite(result.metrics["test"]["mae"]) and math.isfinite(result.metrics["baseline"]["mae"])
    # the bundle rebuilds the same block from the saved config
    assert layerwise.load(result.bundle_path).module.get_config() == result.model.get_config()
