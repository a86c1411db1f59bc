"""The workflow as public steps and the recipes over them (see docs/develop.md).

The names load on first use (PEP 562), so that the run's second process (offload.py) starts
without importing torch.
"""

_LAZY = {"RESUMABLE", "Experiment", "Result", "fingerprint", "summary"}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'layerwise.experiment' has no attribute {name!r}")
    from . import run

    value = getattr(run, name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
