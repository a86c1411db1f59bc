"""The 1-D and 2-D CNNs: layout, and specs that cannot fit the data."""

import pytest
import torch
from torch import nn

from layerwise.errors import ConfigError
from layerwise.models import CNN1d, CNN2d, build


def test_stage_is_conv_norm_activation_pool_and_shapes_halve():
    model = build({"type": "cnn2d", "channels": [4, 8]}, (1, 8, 8), 10, seed=0)
    stage = model.stages[0]
    assert [type(m) for m in stage.body] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert isinstance(stage.pool, nn.MaxPool2d)
    x = torch.randn(2, 1, 8, 8)
    assert model.stages[0](x).shape == (2, 4, 4, 4)
    assert model.stages(x).shape == (2, 8, 2, 2)
    assert model(x).shape == (2, 10)


def test_residual_stage_adds_a_projected_skip_and_keeps_identity_skips():
    model = build({"type": "cnn1d", "channels": [4, 4], "residual": True}, (16, 3), 1)
    first, second = model.stages
    assert isinstance(first.skip[0], nn.Conv1d) and first.skip[0].kernel_size == (1,)  # 3 -> 4 channels
    assert isinstance(second.skip, nn.Identity)
    assert sum(isinstance(m, nn.Conv1d) for m in first.body) == 2  # a basic block: two convs


def test_cnn1d_reads_windows_time_first():
    model = build({"type": "cnn1d", "channels": [5], "pool": "none"}, (12, 3), 2, seed=0)
    assert model.stages[0].body[0].in_channels == 3  # features are the channels
    x = torch.randn(4, 12, 3)  # (batch, lookback, features)
    assert model(x).shape == (4, 2)


def test_pooling_an_8x8_image_below_one_pixel_is_a_config_error():
    with pytest.raises(
        ConfigError,
        match=r"model\.channels: 4 stages .* 8x8 input below one pixel at stage 4; "
        r"use at most 3 stages, or model\.pool: none",
    ):
        build({"type": "cnn2d", "channels": [8, 8, 8, 8]}, (1, 8, 8), 10)
    build({"type": "cnn2d", "channels": [8, 8, 8, 8], "pool": "none"}, (1, 8, 8), 10)  # fits
    with pytest.raises(ConfigError, match=r"the length-3 input below one step at stage 2; use at most 1 stage,"):
        build({"type": "cnn1d", "channels": [8, 8]}, (3, 2), 1)


def test_wrong_sample_shapes_name_the_expected_layout():
    with pytest.raises(ConfigError, match=r"cnn2d reads images.*\(channels, height, width\).*\(8, 8\)"):
        CNN2d((8, 8), 10)
    with pytest.raises(ConfigError, match=r"cnn1d reads sequences.*\(5,\)"):
        CNN1d((5,), 1)


def test_bad_settings_are_reported_together_with_suggestions():
    with pytest.raises(ConfigError) as info:
        build(
            {"type": "cnn2d", "channels": [], "kernel_size": 4, "pool": "maxx", "readout": "last", "hidden": [3]},
            (1, 8, 8),
            10,
        )
    problems = " | ".join(info.value.problems)
    for expected in (
        "model.hidden: not a setting of model type 'cnn2d'",
        "model.channels:",
        "model.kernel_size: 4 must be odd",
        "did you mean 'max'",
        "model.readout:",
    ):
        assert expected in problems
