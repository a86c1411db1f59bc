"""Model bundles: a folder of safetensors weights and JSON, checked by a sha256 manifest.

    bundle/
      model.safetensors   the module's state_dict
      spec.json           task, architecture, fitted preprocessing, input schema, config, versions
      metrics.json        test metrics beside the baseline
      manifest.json       sha256 of every other file

Loading reads only these files, verifies every hash first and runs no code: no pickle. The
hashes catch accidents, not edits (anyone who can write the folder can rewrite them), so
spec.json is then checked against its schema, its bounds and the weights' shapes before any
tensor is allocated (bundle/spec.py).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.overrides import TorchFunctionMode

from ..atomic import check_sha256, sha256, staged_folder, write_json
from ..errors import BundleError, LayerwiseError
from .predictor import Predictor
from .spec import check_spec, check_weights

FORMAT = 1
FILES = ("model.safetensors", "spec.json", "metrics.json")


def save(predictor: Predictor, path: str | Path) -> Path:
    """Write `predictor` as a bundle folder at `path`, atomically (staged, then renamed)."""
    path = Path(path)
    with staged_folder(path) as staged:
        # contiguous CPU copies: safetensors refuses shared or non-contiguous storage
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in predictor.module.state_dict().items()}
        save_file(tensors, str(staged / "model.safetensors"), metadata={"format": str(FORMAT)})
        spec = {"format": FORMAT, **predictor.spec(), "versions": versions()}
        write_json(staged / "spec.json", spec)
        write_json(staged / "metrics.json", predictor.metrics)
        manifest = {"format": FORMAT, "sha256": {name: sha256(staged / name) for name in FILES}}
        write_json(staged / "manifest.json", manifest)
    return path


# Pickle runs code when it is read (torch.load of an untrusted file is remote code execution).
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".bin")


def load(path: str | Path, *, device: str = "cpu", trust_pickle: bool = False) -> Predictor:
    """Verify a bundle's manifest and spec, rebuild its module and preprocessing, and return a Predictor.

    `path` is the bundle folder, or a run folder holding one as bundle/. A pickle file (.pt,
    .pkl, ...) given as the bundle or found in it is refused, unless `trust_pickle`; then a
    bundle whose weights are `model.pt` (listed in its manifest in place of model.safetensors)
    is read with torch.load(weights_only=True), which refuses code objects.
    """
    path = locate(path)
    weights = _verified(path, trust_pickle)
    spec = _read_json(path, "spec.json")
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        found = spec.get("format") if isinstance(spec, dict) else None
        raise BundleError(f"{path / 'spec.json'}: bundle format {found!r}, this layerwise reads {FORMAT}")
    metrics = _read_json(path, "metrics.json")
    if not isinstance(metrics, dict):
        raise BundleError(f"{path / 'metrics.json'}: must be a JSON object")
    check_spec(spec, path / "spec.json")  # bounds and agreement, before anything is allocated
    model = spec["model"]
    shape, outputs = tuple(model["input_shape"]), model["output_dim"]
    _check_against_weights(model["config"], shape, outputs, path, weights)
    module = _built(model["config"], shape, outputs, path)
    try:
        if weights == "model.pt":
            state = torch.load(path / weights, map_location=device, weights_only=True)
        else:
            state = load_file(str(path / weights), device=device)
        module.load_state_dict(state, strict=True)
    except Exception as err:  # safetensors and torch raise several kinds for a bad file
        raise BundleError(f"{path / weights}: cannot be loaded into the model ({err})") from None
    module.to(device).eval()
    try:
        return Predictor.from_spec(spec, module, metrics=metrics)
    except (KeyError, TypeError, ValueError, LayerwiseError) as err:  # a key the schema leaves to its reader
        raise BundleError(f"{path / 'spec.json'}: cannot be read ({_short(err)})") from None


def locate(path: str | Path) -> Path:
    """The bundle folder `path` names: itself, or a run folder's bundle/ (the folder `layerwise run` writes)."""
    path = Path(path)
    if not (path / "manifest.json").is_file() and (path / "bundle" / "manifest.json").is_file():
        return path / "bundle"
    return path


def _verified(path: Path, trust_pickle: bool) -> str:
    """Refuse pickles and check every sha256 of the manifest; the name of the weights file."""
    pickled = (
        [path]
        if path.suffix.lower() in PICKLE_SUFFIXES
        else (sorted(p for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES) if path.is_dir() else [])
    )
    if pickled and not trust_pickle:
        raise BundleError(
            f"{pickled[0]}: refused, a pickle file can run code when it is loaded",
            hint="use a bundle of safetensors + JSON, or pass --trust-pickle if you wrote this file",
        )
    if not path.is_dir():
        raise BundleError(
            f"bundle not found: {path.resolve()}", hint="pass the bundle/ folder written by `layerwise run`"
        )
    if not (path / "manifest.json").is_file():
        raise BundleError(
            f"{path}: not a bundle (no manifest.json here or in {path / 'bundle'})",
            hint="pass the bundle/ folder `layerwise run` writes, or the run folder holding it",
        )
    manifest = _read_json(path, "manifest.json")
    expected = manifest.get("sha256") if isinstance(manifest, dict) else None
    weights = "model.pt" if trust_pickle and isinstance(expected, dict) and "model.pt" in expected else FILES[0]
    if not isinstance(expected, dict) or set(expected) != {weights, *FILES[1:]}:
        raise BundleError(f"{path / 'manifest.json'}: does not list the bundle's files {list(FILES)}")
    check_sha256(path, expected)
    return weights


def _check_against_weights(config: dict, shape: tuple[int, ...], outputs: int, path: Path, weights: str) -> None:
    """Build the module on the meta device (shapes only, no memory) and compare it with the file's header."""
    with torch.device("meta"), _NoRandomFills():
        module = _built(config, shape, outputs, path)
    expected = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    # every buffer, the non-persistent ones (a causal mask, a position table) included
    extra = sum(b.numel() * b.element_size() for b in module.buffers())
    check_weights(expected, _weight_shapes(path / weights), extra, path / "spec.json", path / weights)


class _NoRandomFills(TorchFunctionMode):
    """Skip random fills: on the meta device there is nothing to fill, and torch runs them there
    through torch._dynamo, whose import alone takes seconds."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        filled = args[0] if args else kwargs.get("tensor")  # Tensor.normal_(...) or nn.init.normal_(tensor=...)
        if getattr(func, "__name__", None) in ("normal_", "uniform_") and getattr(filled, "is_meta", False):
            return filled
        return func(*args, **kwargs)


def _weight_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape, from the safetensors header alone (model.pt: memory-mapped, not read)."""
    try:
        if file.suffix == ".pt":
            state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
            return {name: tuple(t.shape) for name, t in state.items()}
        with safe_open(str(file), "pt") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except Exception as err:  # safetensors and torch raise several kinds for a bad file
        raise BundleError(f"{file}: not a readable weights file ({_short(err)})") from None


def _built(config: dict, shape: tuple[int, ...], outputs: int, path: Path):
    from ..models import build

    try:
        return build(config, shape, outputs)
    except (LayerwiseError, TypeError, ValueError, KeyError, RuntimeError) as err:
        raise BundleError(
            f"{path / 'spec.json'}: model: cannot build the network it describes ({_short(err)})"
        ) from None


def _short(err: Exception, limit: int = 300) -> str:
    text = str(err)
    return text if len(text) <= limit else text[:limit] + "..."


def versions() -> dict[str, str]:
    import numpy
    import pandas
    import torch

    from .. import __version__

    return {
        "layerwise": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder / name}: missing from the bundle") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"{folder / name}: not valid JSON ({err})") from None
