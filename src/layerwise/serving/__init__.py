"""Serving a bundle: a validated REST API, batch prediction of files, ONNX and TorchScript export.

`onnx_predict` runs without torch; the rest loads it on first use (PEP 562 __getattr__), so
importing this package for ONNX inference stays light.
"""

from .onnx_runtime import onnx_predict as onnx_predict

_LAZY = {
    "create_app": (".app", "create_app"),
    "Limits": (".app", "Limits"),
    "export": (".export", "export"),
    "ExportError": (".export", "ExportError"),
    "predict_file": (".batch", "predict_file"),
}
__all__ = ["onnx_predict", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'layerwise.serving' has no attribute {name!r}")
    from importlib import import_module

    module, attr = _LAZY[name]
    return getattr(import_module(module, __name__), attr)
