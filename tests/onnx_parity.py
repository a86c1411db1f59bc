"""A block exported alone to ONNX (traced on `trace`, batch dimension dynamic) and run by onnxruntime."""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime
import torch

from layerwise.serving.export import TORCH_NOISE


def onnx_outputs(module: torch.nn.Module, trace: torch.Tensor, rows: torch.Tensor) -> np.ndarray:
    """onnxruntime's outputs on `rows` of `module` (in eval mode) exported with `trace` as its example."""
    with warnings.catch_warnings():
        for noise in TORCH_NOISE:  # torch's own notices from inside the exporter (serving/export.py)
            warnings.filterwarnings("ignore", message=noise)
        program = torch.onnx.export(
            module, (trace,), dynamo=True, dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False
        )
    assert program is not None
    session = onnxruntime.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: rows.numpy()})[0]
