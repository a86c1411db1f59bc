"""Export a bundle's network to ONNX (or TorchScript) and prove the file computes what torch does.

The file is checked before it is written: onnxruntime (or torch.jit.load) runs it on rows that
were not used to trace it, at other batch sizes and, for sequence models, other sequence
lengths, and the export fails if the largest absolute difference from the torch module exceeds
`tolerance`. The preprocessing is not in the graph: it stays the bundle's JSON, copied into
the ONNX metadata (`layerwise.spec`) for `layerwise.onnx_predict`.

For a runtime other than layerwise, the file's interface is written beside it (FILE.json) and
into the ONNX metadata (`layerwise.interface`): the input tensor's name, shape and layout, what
the output means, the classes, and for an image model each preprocessing step in order (decode
mode, resize, pixel scale, per-channel normalization with its fitted numbers).

A model with text columns exports like any table model: the graph takes the packed row
(the scaled features, then each text's token ids as float32), and tokenizing stays in the
preprocessing (Hugging Face `tokenizers`, its JSON in the spec), which `onnx_predict` runs
before the graph; the interface lists each text's slice of the row. Every text encoder
(text_bag, text_cnn, text_gru, text_lstm, text_transformer) exports and verifies within
1e-5 (tests/test_text_predict.py). A network the exporter cannot trace is an ExportError
naming its block and the exporter's reason; a failed export writes nothing.
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import write_bytes, write_json
from ..bundle.predictor import Predictor
from ..errors import LayerwiseError, UsageError, needs_extra
from .inputs import model_inputs, random_inputs, text_slices
from .onnx_runtime import SPEC_KEY

INTERFACE_KEY = "layerwise.interface"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the exporters colour their messages

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


class ExportError(LayerwiseError):
    """The network cannot be written in the chosen format: names the block and the exporter's reason."""


@dataclass
class Verified:
    """What the export checked: rows, batch sizes, sequence lengths, and the largest difference."""

    path: Path
    format: str
    max_abs_diff: float
    rows: int
    batch_sizes: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)


def export(
    predictor: Predictor,
    path: str | Path,
    *,
    format: str = "onnx",
    data: pd.DataFrame | str | Path | None = None,
    tolerance: float = TOLERANCE,
    spec: dict | None = None,
) -> Verified:
    """Write the network of `predictor` to `path` after verifying it on held-out inputs.

    `data` (raw rows with the feature columns; for an image bundle an image folder or file) gives
    the verification inputs; without it they are drawn from a standard normal, which is what
    standardized features look like. The interface is written beside the file as FILE.json.
    """
    if format not in FORMATS:
        raise UsageError(f"--format {format!r}: choose one of {FORMATS}")
    if predictor.vocabulary is not None:
        # its network reads token ids one growing prefix at a time: not a fixed-shape float graph
        raise UsageError(
            "export: a generation bundle cannot be exported yet",
            hint="serve it with `layerwise serve BUNDLE` (POST /generate) or use `layerwise generate`",
        )
    if format == "onnx":
        with needs_extra("onnx", instead="or --format torchscript, which needs only torch"):
            # torch.onnx's exporter writes through onnx and onnxscript; onnxruntime verifies the file
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
    x = model_inputs(predictor, data) if data is not None else random_inputs(predictor, rows=64)
    if len(x) < 4:
        raise UsageError(
            "export needs at least 4 rows (or windows) of data to verify the file",
            hint="pass a longer --data file, or none to verify on random inputs",
        )
    module = predictor.module.eval()
    # (2, *input_shape) traces the graph; the other rows verify it, at other batch sizes
    trace, held_out = x[:2], x[2:]
    sequence = len(predictor.model["input_shape"]) == 2 and predictor.model["config"].get("type") != "mlp"
    described = interface(predictor, sequence)
    with _quiet_torch():
        try:
            if format == "onnx":
                data_bytes = _onnx_bytes(module, trace, sequence, spec or predictor.spec(), described)
                run = _onnx_runner(data_bytes)
            else:
                data_bytes = _torchscript_bytes(module, trace)
                run = _torchscript_runner(data_bytes)
        except LayerwiseError:
            raise
        except Exception as err:  # the exporters raise many kinds, each about an operation they cannot trace
            raise _cannot_export(predictor, format, err) from err
        checked = _verify(module, run, held_out, sequence, tolerance)
    write_bytes(path, data_bytes)
    try:
        write_json(sidecar(path), described)
    except BaseException:
        Path(path).unlink(missing_ok=True)  # a file without its interface is half-written
        raise
    return Verified(Path(path), format, *checked)


def _cannot_export(predictor: Predictor, format: str, err: Exception) -> ExportError:
    block = predictor.model["config"].get("type", "mlp")
    root: BaseException = err
    while root.__cause__ is not None:  # torch.onnx wraps torch.export's error, which says what failed
        root = root.__cause__
    lines = [line.strip() for line in ANSI.sub("", str(root)).splitlines() if line.strip()]
    reason = f"{type(root).__name__}: {lines[0][:300]}" if lines else type(root).__name__
    other = "--format torchscript" if format == "onnx" else "--format onnx"
    return ExportError(
        f"export: the '{block}' block cannot be exported to {format}: the exporter stopped at {reason}",
        hint=f"no file was written; try {other}, or serve the bundle itself with `layerwise serve BUNDLE`",
    )


def sidecar(path: str | Path) -> Path:
    """FILE.json beside an exported FILE: its interface, for other runtimes."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def interface(predictor: Predictor, sequence: bool = False) -> dict[str, Any]:
    """What another runtime needs to feed the exported network and read its answer."""
    task, shape = predictor.task, list(predictor.model["input_shape"])
    dims = ["batch", "steps", *shape[1:]] if sequence else ["batch", *shape]
    layout = {3: "NCHW (batch, channels, height, width)", 2: "(batch, steps, features)", 1: "(batch, features)"}[
        len(shape)
    ]
    described: dict[str, Any] = {
        "input": {"name": "x", "dtype": "float32", "shape": dims, "layout": layout},
        "output": {"name": "y", "dtype": "float32", "shape": ["batch", predictor.model["output_dim"]]},
        "task": task.type,
        "classes": list(task.classes),
    }
    if task.classes:
        described["output"]["meaning"] = (
            "one logit: sigmoid gives P(classes[1])"
            if task.n_classes == 2
            else "logits, one per class in `classes` order: softmax gives probabilities"
        )
    if predictor.images is not None:
        described["preprocessing"] = image_steps(predictor.images.to_dict())
    elif text_slices(predictor):
        described["preprocessing"] = text_steps(predictor)
    else:
        described["preprocessing"] = [
            {
                "step": "layerwise",
                "detail": f"the fitted preprocessing is JSON in the "
                f"ONNX metadata '{SPEC_KEY}' (spec.json's 'preprocessing')",
            }
        ]
    return described


def text_steps(predictor: Predictor) -> list[dict]:
    """A bundle with text columns: the fitted preprocessing, then where each text's ids sit in x."""
    assert predictor.features is not None  # text_slices found text columns in it
    layout = predictor.features.layout
    dense = layout["dense"]
    texts = [
        {"column": text["name"], "offset": offset, "length": length, "vocab": vocab}
        for text, (offset, length, vocab) in zip(layout["texts"], text_slices(predictor))
    ]
    return [
        {
            "step": "layerwise",
            "detail": f"the fitted preprocessing is JSON in the ONNX metadata '{SPEC_KEY}' (spec.json's "
            "'preprocessing'): the other columns are scaled and encoded, and each text column is tokenized by "
            "its Hugging Face tokenizer (the JSON under columns.<name>.tokenizer.tokenizer)",
        },
        {
            "step": "layout",
            "dense": dense,
            "texts": texts,
            "detail": "x[:, :dense] are the scaled and encoded features; x[:, offset:offset + length] are a "
            "text's token ids as float32: its tokens from the left, then 0 (padding); 1 is an unknown token; "
            "a text longer than `length` tokens is cut",
        },
    ]


def image_steps(state: dict) -> list[dict]:
    """An image bundle's preprocessing as ordered steps, from ImagePreprocessor.to_dict()."""
    height, width = state["size"]
    return [
        {
            "step": "decode",
            "mode": state["mode"],
            "pillow_mode": "L" if state["mode"] == "grayscale" else "RGB",
            "channels": state["channels"],
            "detail": "decode the file and convert it to this mode",
        },
        {
            "step": "resize",
            "height": height,
            "width": width,
            "resample": "bilinear",
            "detail": "only when the image is of another size (Pillow Image.resize((width, height), BILINEAR))",
        },
        {"step": "scale", "divide_by": state["scale"], "detail": "uint8 pixels as float32, divided by this"},
        {
            "step": "normalize",
            "method": state["normalize"],
            "subtract": state["shift"],
            "divide": state["divide"],
            "detail": "per channel c: x[c] = (pixel[c] - subtract[c]) / divide[c]",
        },
        {"step": "layout", "detail": "stack as (batch, channels, height, width) float32: the input x"},
    ]


def _onnx_bytes(module, trace: np.ndarray, sequence: bool, spec: dict, described: dict) -> bytes:
    import torch

    dims = {0: torch.export.Dim("batch")}
    if sequence:
        # AUTO: dynamic where the network allows it (every built-in sequence block does)
        dims[1] = torch.export.Dim.AUTO
    program = torch.onnx.export(
        module,
        (torch.as_tensor(trace),),
        dynamo=True,
        dynamic_shapes=(dims,),
        input_names=["x"],
        output_names=["y"],
        verbose=False,
    )
    assert program is not None  # dynamo=True always returns the ONNXProgram (None is the legacy exporter's)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec, allow_nan=False)
    entry = proto.metadata_props.add()
    entry.key, entry.value = INTERFACE_KEY, json.dumps(described, allow_nan=False)
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
    from ..training.runlog import Steps

    worst = 0.0
    with Steps("verifying the exported file", len(lengths) * len(sizes)) as steps:
        for length in lengths:
            for size in sizes:
                batch = np.ascontiguousarray(x[:size, x.shape[1] - length :] if sequence else x[:size])
                with torch.no_grad():
                    expected = module(torch.as_tensor(batch)).numpy()
                worst = max(worst, float(np.abs(run(batch) - expected).max()))
                steps.advance(detail=f"batch {size}" + (f", {length} steps" if sequence else ""))
    if not worst <= tolerance:
        raise ExportError(
            f"the exported file differs from the torch model by {worst:.3g} (tolerance {tolerance:g})",
            hint="no file was written; report this with the bundle's model section",
        )
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
