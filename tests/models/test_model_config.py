"""The `model` section of the schema: one flat section, checked against the chosen block."""

import pytest

from layerwise.config.schema import ExperimentConfig, ModelConfig
from layerwise.errors import ConfigError
from layerwise.models import available, get


def problems(model: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict({"data": {"target": "y"}, "model": model})
    return info.value.problems


def test_unknown_type_is_named_with_a_suggestion():
    assert problems({"type": "lstn"}) == [
        f"model.type: unknown model type 'lstn' (did you mean 'lstm'?); choose one of {', '.join(available())}"
    ]


def test_keys_the_block_does_not_take_are_each_named():
    found = problems({"type": "lstm", "channels": [8], "activation": "relu", "hidden": [8]})
    assert [p.split(":")[0] for p in found] == ["model.activation", "model.channels"]
    assert "not a setting of model type 'lstm'; it takes hidden, bidirectional, readout, dropout" in found[0]


def test_values_are_checked_at_the_edge():
    found = " | ".join(problems({"type": "transformer", "positions": "rotary", "heads": 0}))
    assert "model.positions" in found and "model.heads" in found


@pytest.mark.parametrize("name", available())
def test_every_block_setting_is_a_schema_key_and_unset_keys_stay_none(name):
    assert set(get(name).defaults) <= set(ModelConfig.model_fields)
    section = ModelConfig(type=name).model_dump()
    assert {k for k, v in section.items() if v is not None} == {"type", "init"}


def test_switching_type_keeps_only_the_shared_keys_valid():
    cfg = ExperimentConfig.from_dict({"data": {"target": "y"}, "model": {"type": "mlp", "dropout": 0.1}})
    assert cfg.with_overrides(["model.type=gru"]).model.dropout == 0.1  # gru takes dropout
    with pytest.raises(ConfigError, match=r"model\.hidden: not a setting of model type 'cnn1d'"):
        cfg.with_overrides(["model.type=cnn1d", "model.hidden=[4]"])
