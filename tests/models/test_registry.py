import pytest
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import available, register
from layerwise.models.registry import get, unregister


def test_mlp_is_registered():
    assert "mlp" in available()
    assert available() == sorted(available())


def test_unknown_type_names_model_type_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"model\.type.*'mpl'.*did you mean 'mlp'") as info:
        get("mpl")
    assert info.value.exit_code == 2


def test_register_needs_the_config_methods():
    with pytest.raises(TypeError, match="from_config"):
        register("bare")(nn.Identity)
    assert "bare" not in available()


def test_register_adds_a_block_by_name():
    @register("test_identity")
    class Identity(nn.Module):
        @classmethod
        def from_config(cls, cfg, input_shape, output_dim):
            return cls()

        def get_config(self):
            return {"type": "test_identity"}

    try:
        assert get("test_identity") is Identity
    finally:
        unregister("test_identity")  # keep the conformance harness to the real blocks
