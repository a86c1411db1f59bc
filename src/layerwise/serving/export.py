"""Export a bundle's network to ONNX (or TorchScript) and prove the file computes what torch does.

The file is checked before it is written: onnxruntime (or torch.jit.load) runs it on rows that
were not used to trace it, at other batch sizes and, for sequence models, other sequence
lengths, and the export fails if the largest absolute difference from the torch module exceeds
`tolerance`. The preprocessing is not in the graph: it stays the bundle's JSON, copied into
the ONNX metadata (`layerwise.spec`) for `layerwise.onnx_predict`.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_bytes
from ..errors import LayerwiseError, UsageError
from ..predictor import Predictor
from .inputs import model_inputs, random_inputs
from .onnx_runtime import SPEC_KEY

FORMATS = ("onnx", "torchscript")
TOLERANCE = 1e-4
# torch's own deprecation notices from inside the exporters (torch 2.13), not about our calls
# except torch.jit itself, which PyTorch deprecates: the CLI says so when that format is chosen.
TORCH_NOISE = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"_check_is_size will be removed",
    r"`torch\.jit\.\w+` is deprecated",
    # nn.LSTM/GRU re-point their weight list while traced; the values are the parameters
    r"The tensor attributes .*_flat_weights.* were assigned during export",
    # dynamo probes tensors while tracing the RNN's time loop; nothing here reads gradients
    r"The \.grad attribute of a Tensor that is not a leaf Tensor is being accessed",
)


@dataclass
class Verified:
    """What the export checked: rows, batch sizes, sequence lengths, and the largest difference."""

    path: Path
    format: str
    max_abs_diff: float
    rows: int
    batch_sizes: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)


def export(predictor: Predictor, path: str | Path, *, format: str = "onnx", data: pd.DataFrame | None = None,
           tolerance: float = TOLERANCE, spec: dict | None = None) -> Verified:
    """Write the network of `predictor` to `path` after verifying it on held-out inputs.

    `data` (raw rows with the feature columns) gives the verification inputs; without it they
    are drawn from a standard normal, which is what standardized features look like.
    """
    if format not in FORMATS:
        raise UsageError(f"--format {format!r}: choose one of {FORMATS}")
    x = model_inputs(predictor, data) if data is not None else random_inputs(predictor, rows=64)
    if len(x) < 4:
        raise UsageError("export needs at least 4 rows (or windows) of data to verify the file",
                         hint="pass a longer --data file, or none to verify on random inputs")
    module = predictor.module.eval()
    # (2, *input_shape) traces the graph; the other rows verify it, at other batch sizes
    trace, held_out = x[:2], x[2:]
    sequence = len(predictor.model["input_shape"]) == 2 and predictor.model["config"].get("type") != "mlp"
    with _quiet_torch():
        if format == "onnx":
            data_bytes = _onnx_bytes(module, trace, sequence, spec or predictor.spec())
            run = _onnx_runner(data_bytes)
        else:
            data_bytes = _torchscript_bytes(module, trace)
            run = _torchscript_runner(data_bytes)
        checked = _verify(module, run, held_out, sequence, tolerance)
    write_bytes(path, data_bytes)
    return Verified(Path(path), format, *checked)


def _onnx_bytes(module, trace: np.ndarray, sequence: bool, spec: dict) -> bytes:
    import torch

    dims = {0: torch.export.Dim("batch")}
    if sequence:
        # AUTO: dynamic where the network allows it (every built-in sequence block does)
        dims[1] = torch.export.Dim.AUTO
    program = torch.onnx.export(module, (torch.as_tensor(trace),), dynamo=True, dynamic_shapes=(dims,),
                                input_names=["x"], output_names=["y"], verbose=False)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec, allow_nan=False)
    return proto.SerializeToString()


def _onnx_runner(data: bytes):
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})[0]


def _torchscript_bytes(module, trace: np.ndarray) -> bytes:
    import torch

    traced = torch.jit.trace(module, torch.as_tensor(trace))
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _torchscript_runner(data: bytes):
    import torch

    loaded = torch.jit.load(io.BytesIO(data))

    def run(x):
        with torch.no_grad():
            return loaded(torch.as_tensor(x)).numpy()

    return run


def _verify(module, run, x: np.ndarray, sequence: bool, tolerance: float):
    import torch

    sizes = sorted({1, min(3, len(x)), len(x)})
    lengths = [x.shape[1]]
    if sequence and x.shape[1] > 2:
        lengths += [x.shape[1] - 1, max(2, x.shape[1] // 2)]  # the window's most recent steps
    worst = 0.0
    for length in lengths:
        for size in sizes:
            batch = np.ascontiguousarray(x[:size, x.shape[1] - length:] if sequence else x[:size])
            with torch.no_grad():
                expected = module(torch.as_tensor(batch)).numpy()
            worst = max(worst, float(np.abs(run(batch) - expected).max()))
    if not worst <= tolerance:
        raise LayerwiseError(f"the exported file differs from the torch model by {worst:.3g} (tolerance {tolerance:g})",
                             hint="no file was written; report this with the bundle's model section")
    return worst, len(x), sizes, lengths if sequence else []


class _quiet_torch:
    """Silence torch's internal deprecation notices and its exporter's progress lines."""

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        for pattern in TORCH_NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        self._logger = logging.getLogger("torch.onnx")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)  # "torchvision is not installed" and the like
        return self

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)
        return self._warnings.__exit__(*exc)
