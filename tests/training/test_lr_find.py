"""The learning-rate range test: through the CLI on the real BTC file, and the module and
optimizer restored exactly afterwards."""

import re

import pytest
import torch

from layerwise.models import build
from layerwise.training import Trainer
from layerwise.training.lr_find import lr_find


def test_lr_find_cli_suggests_a_rate_and_saves_the_plot(tmp_path, cli, btc_slice):
    (tmp_path / "e.yaml").write_text(
        f"data: {{path: {btc_slice}, target: Close, time: Date, features: [Close, High, Low, Volume],\n"
        "       window: {lookback: 10, horizon: 1}, transform: log_return}\n"
        "task: {type: forecast}\nmodel: {hidden: [16]}\ntrain: {batch_size: 32, device: cpu, threads: 1}\n",
        encoding="utf-8",
    )
    png = tmp_path / "lr.png"
    code, out, err = cli("lr-find", tmp_path / "e.yaml", "--out", png, "--steps", "120")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    suggested = float(re.search(r"suggested lr: (\S+)", out)[1])
    assert 1e-7 < suggested < 10


def test_lr_find_restores_the_model_and_stops_on_divergence():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 4, generator=g)  # (n, features)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])  # (n, 1)
    model = build({"type": "mlp", "hidden": [16]}, (4,), 1, seed=0)
    trainer = Trainer(model, optimizer="sgd", lr=0.01, batch_size=32, device="cpu", threads=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    found = lr_find(trainer, x, y, start=1e-5, end=100.0, steps=150)
    assert found.stopped_early and len(found.lrs) < 150  # SGD at lr 100 diverges
    assert found.lrs[0] < found.suggestion < found.lrs[-1]
    assert found.losses[found.lrs.index(found.suggestion)] < found.losses[0]  # on the falling part
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert trainer.optimizer.param_groups[0]["lr"] == 0.01 and not trainer.optimizer.state
    with pytest.raises(ValueError):
        lr_find(trainer, x, y, start=1.0, end=0.1)
