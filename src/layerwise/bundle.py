"""Model bundles: a folder of safetensors weights and JSON, checked by a sha256 manifest.

    bundle/
      model.safetensors   the module's state_dict
      spec.json           task, architecture, fitted preprocessing, input schema, config, versions
      metrics.json        test metrics beside the baseline
      manifest.json       sha256 of every other file

Loading reads only these files, verifies every hash first and runs no code: no pickle.
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from .atomic import staged_folder, write_json
from .errors import BundleError
from .predictor import Predictor

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
        manifest = {"format": FORMAT, "sha256": {name: _sha256(staged / name) for name in FILES}}
        write_json(staged / "manifest.json", manifest)
    return path


# Pickle runs code when it is read (torch.load of an untrusted file is remote code execution).
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".bin")


def load(path: str | Path, *, device: str = "cpu", trust_pickle: bool = False) -> Predictor:
    """Verify a bundle's manifest, rebuild its module and preprocessing, and return a Predictor.

    A pickle file (.pt, .pkl, ...) given as the bundle or found in it is refused, unless
    `trust_pickle`; then a bundle whose weights are `model.pt` (listed in its manifest in place
    of model.safetensors) is read with torch.load(weights_only=True), which refuses code objects.
    """
    from .models import build

    path = Path(path)
    pickled = [path] if path.suffix.lower() in PICKLE_SUFFIXES else (
        sorted(p for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES) if path.is_dir() else [])
    if pickled and not trust_pickle:
        raise BundleError(f"{pickled[0]}: refused, a pickle file can run code when it is loaded",
                          hint="use a bundle of safetensors + JSON, or pass --trust-pickle if you wrote this file")
    if not path.is_dir():
        raise BundleError(f"bundle not found: {path.resolve()}", hint="pass the bundle/ folder written by `layerwise run`")
    manifest = _read_json(path, "manifest.json")
    expected = manifest.get("sha256") if isinstance(manifest, dict) else None
    weights = "model.pt" if trust_pickle and isinstance(expected, dict) and "model.pt" in expected else FILES[0]
    if not isinstance(expected, dict) or set(expected) != {weights, *FILES[1:]}:
        raise BundleError(f"{path / 'manifest.json'}: does not list the bundle's files {list(FILES)}")
    for name, digest in expected.items():
        if not (path / name).is_file():
            raise BundleError(f"{path / name}: missing from the bundle")
        if _sha256(path / name) != digest:
            raise BundleError(
                f"{path / name}: sha256 does not match manifest.json; the file was changed or corrupted",
                hint="use the bundle as `layerwise run` wrote it, or run again",
            )
    spec = _read_json(path, "spec.json")
    if spec.get("format") != FORMAT:
        raise BundleError(f"{path / 'spec.json'}: bundle format {spec.get('format')!r}, this layerwise reads {FORMAT}")
    metrics = _read_json(path, "metrics.json")
    model = spec["model"]
    module = build(model["config"], tuple(model["input_shape"]), model["output_dim"])
    try:
        if weights == "model.pt":
            import torch

            state = torch.load(path / weights, map_location=device, weights_only=True)
        else:
            state = load_file(str(path / weights), device=device)
        module.load_state_dict(state, strict=True)
    except Exception as err:  # safetensors and torch raise several kinds for a bad file
        raise BundleError(f"{path / weights}: cannot be loaded into the model ({err})") from None
    module.to(device).eval()
    return Predictor.from_spec(spec, module, metrics=metrics)


def versions() -> dict[str, str]:
    import numpy
    import pandas
    import torch

    from . import __version__

    return {"layerwise": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "pandas": pandas.__version__}


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder / name}: missing from the bundle") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"{folder / name}: not valid JSON ({err})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
