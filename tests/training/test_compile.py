"""`train.compile: true`: the model trains through torch.compile, the bundle keeps the plain
module's weight names (no `_orig_mod.` prefix) and reloads for predict; without a working
C++ compiler for inductor the run stops with a LayerwiseError naming train.compile.

The smallest model, so inductor builds few kernels. With a cold inductor cache (a fresh
machine) the first compile costs far more than later ones (its cache lives in the temp folder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from training_toys import data, experiment

from layerwise.errors import LayerwiseError
from layerwise.models import build
from layerwise.training import Trainer

# torch.compile's own internals (inductor importing torch.jit) warn about torch.jit.script_method
# in torch 2.13; not something layerwise calls or can change.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


def test_a_compiled_run_saves_plain_weight_names_and_its_bundle_predicts(tmp_path, cli):
    import layerwise.bundle

    config = experiment(
        tmp_path,
        rows=200,
        target=lambda a, b, c: a - b + 0.5 * c,
        model="{hidden: [4], dropout: 0.0}",
        train="{epochs: 2, compile: true, patience: null, device: cpu, threads: 1}",
        evaluate="{report: false, bootstrap: 0, leakage: false}",
    )
    code, _, err = cli("run", config, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    names = list(load_file(tmp_path / "run" / "bundle" / "model.safetensors"))
    assert names and not [n for n in names if "_orig_mod" in n]
    assert set(names) == set(build({"type": "mlp", "hidden": [4], "dropout": 0.0}, (3,), 1).state_dict())
    loaded = layerwise.bundle.load(tmp_path / "run" / "bundle")
    rows = pd.read_csv(tmp_path / "d.csv").head(5)
    predicted = loaded.predict(rows.drop(columns=["y"]))["prediction"].to_numpy()
    assert predicted.shape == (5,) and np.isfinite(predicted).all()
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(history) == 2 and history["train_loss"].iloc[1] < history["train_loss"].iloc[0]


def test_without_a_cxx_compiler_compile_fails_with_a_layerwise_error(monkeypatch):
    import torch._dynamo
    import torch._inductor.config as inductor

    torch._dynamo.reset()  # no graph compiled earlier in this process may be reused
    monkeypatch.setattr(inductor.cpp, "cxx", (None, "/nonexistent/g++"))
    monkeypatch.setattr(inductor, "fx_graph_cache", False)  # a cached kernel would need no compiler
    x, y = data(64)
    trainer = Trainer(
        build({"type": "mlp", "hidden": [3]}, (4,), 1, seed=0),
        epochs=1,
        batch_size=32,
        compile=True,
        device="cpu",
        threads=1,
    )
    with pytest.raises(LayerwiseError, match="train.compile: torch.compile could not build the model") as raised:
        trainer.fit(x, y)
    assert "set train.compile: false" in raised.value.hint
    torch._dynamo.reset()


def test_reduce_overhead_is_refused_off_cuda_and_other_modes_always_naming_the_key():
    with pytest.raises(LayerwiseError, match="train.compile: reduce-overhead replays steps as CUDA graphs") as raised:
        Trainer(torch.nn.Linear(4, 1), compile="reduce-overhead", device="cpu")
    assert "this fit runs on cpu" in str(raised.value) and "train.compile: true" in raised.value.hint
    with pytest.raises(LayerwiseError, match="train.compile: 'max-autotune' is not true, false or 'reduce-overhead'"):
        Trainer(torch.nn.Linear(4, 1), compile="max-autotune", device="cpu")
