"""A trained model as a folder: safetensors weights and JSON, verified on load, running no code.

    store.py      save / load / locate: the files, the sha256 manifest, the checks before any tensor
    spec.py       spec.json's strict schema and its agreement with the weights (meta device)
    predictor.py  Predictor: preprocessing + module + the task's decoding, built once

Loaded lazily: `layerwise.bundle.predictor` serves ONNX models where torch is not installed.
"""

_LAZY = {
    "save": (".store", "save"),
    "load": (".store", "load"),
    "locate": (".store", "locate"),
    "versions": (".store", "versions"),
    "Predictor": (".predictor", "Predictor"),
}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'layerwise.bundle' has no attribute {name!r}")
    from importlib import import_module

    module, attr = _LAZY[name]
    value = getattr(import_module(module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
