"""Predict with an exported ONNX file: NumPy preprocessing, onnxruntime inference, no torch.

The .onnx file carries the bundle's spec.json (task, fitted preprocessing as JSON, model shape)
in its metadata under `layerwise.spec`. The preprocessing is the bundle's own Preprocessor and
SeriesTransform, which are NumPy and pandas code reading that JSON; only the network runs in
onnxruntime. So `onnx_predict(path, frame)` gives what `layerwise.load(bundle).predict(frame)`
gives, to within float32 rounding, on a machine without torch. An image model's files are
decoded with Pillow and normalized by the bundle's ImagePreprocessor, as `predict_images` does.
A model with text columns tokenizes them here too, with the bundle's Hugging Face tokenizer
(the `tokenizers` package, the extra [text]): the graph takes the token ids, never the text.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..bundle.predictor import Predictor
from ..errors import BundleError, MissingExtra, needs_extra

SPEC_KEY = "layerwise.spec"


class OnnxPredictor(Predictor):
    """A Predictor whose network is an onnxruntime session instead of a torch module."""

    def __init__(self, session, spec: dict):
        # no torch module: raw_outputs, which reads it, is overridden (a generation bundle is never exported)
        template = Predictor.from_spec(spec, module=None)  # type: ignore[arg-type]  # see above
        super().__init__(
            template.task,
            None,  # type: ignore[arg-type]  # see above
            model=template.model,
            features=template.features,
            target=template.target,
            series=template.series,
            config=template.config,
            images=template.images,
        )
        self.session = session
        self.input_name = session.get_inputs()[0].name
        columns = {} if self.features is None else self.features.kinds  # column -> its kind of values
        texts = [name for name in columns if columns[name] == "text"]
        if texts:
            _require_tokenizers(texts)

    def raw_outputs(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, self.model["output_dim"]), dtype=np.float32)
        parts = [
            self.session.run(None, {self.input_name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts)

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """As Predictor.probabilities, in float64 NumPy: sigmoid for two classes, softmax otherwise."""
        logits = np.asarray(raw, dtype=np.float64)
        if self.task.n_classes == 2:
            p = 1.0 / (1.0 + np.exp(-logits.reshape(-1)))
            return np.stack([1 - p, p], axis=1)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


def _require_tokenizers(columns: list[str]) -> None:
    """Refuse a model with text columns, before any row is read, where `tokenizers` is missing."""
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        # installed as layerwise-onnx, this source is the package `layerwise_onnx`
        onnx_only = __name__.partition(".")[0] == "layerwise_onnx"
        command = "pip install 'layerwise-onnx[text]'" if onnx_only else 'pip install "layerwise[text]"'
        raise MissingExtra(
            f"this model reads the text column(s) {', '.join(map(repr, columns))}, which are tokenized with "
            "Hugging Face tokenizers: the module 'tokenizers' is not installed",
            extra="text",
            module="tokenizers",
            hint=command,
        ) from None


def load_onnx(path: str | Path) -> OnnxPredictor:
    """Open an ONNX file written by `layerwise export` (it must carry `layerwise.spec`)."""
    with needs_extra("onnx"):
        import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such ONNX file", hint="write one with `layerwise export BUNDLE -o FILE`")
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own kinds for unreadable files
        raise BundleError(f"{path}: not a readable ONNX model ({err})") from None
    meta = session.get_modelmeta().custom_metadata_map
    if SPEC_KEY not in meta:
        raise BundleError(
            f"{path}: has no '{SPEC_KEY}' metadata, so its preprocessing is unknown",
            hint="export it with `layerwise export`, which stores the bundle's spec in the file",
        )
    return OnnxPredictor(session, json.loads(meta[SPEC_KEY]))


def onnx_predict(model: str | Path | OnnxPredictor, frame, *, source: str = "input") -> pd.DataFrame:
    """Predictions for every row of `frame`, as `Predictor.predict` gives them, without torch.

    For an image model `frame` is what `Predictor.predict_images` takes: an image file, a
    folder of them, a list of files or an array of images.
    """
    predictor = model if isinstance(model, OnnxPredictor) else load_onnx(model)
    if predictor.images is not None:
        return predictor.predict_images(frame, source=source)
    return predictor.predict(frame, source=source)
