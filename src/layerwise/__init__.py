"""layerwise: from raw data to an honestly evaluated, saved neural network."""

__version__ = "0.1.0"

from .errors import BundleError as BundleError
from .errors import ConfigError as ConfigError
from .errors import DataError as DataError
from .errors import LayerwiseError as LayerwiseError

# Imported on first use, so `import layerwise` stays light and `layerwise.onnx_predict`
# runs where torch is not installed (PEP 562 module __getattr__).
_LAZY = {
    "load": (".bundle.store", "load"),
    "ExperimentConfig": (".config.schema", "ExperimentConfig"),
    "Experiment": (".experiment.run", "Experiment"),
    "Result": (".experiment.run", "Result"),
    "Trainer": (".training", "Trainer"),
    "explain": (".explain", "explain"),
    "onnx_predict": (".serving.onnx_runtime", "onnx_predict"),
}
__all__ = ["BundleError", "ConfigError", "DataError", "LayerwiseError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'layerwise' has no attribute {name!r}")
    from importlib import import_module

    module, attr = _LAZY[name]
    value = getattr(import_module(module, __name__), attr)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
