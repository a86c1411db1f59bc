"""Weights from an earlier bundle (step 4, transfer learning): load by name and shape.

The model is built from this run's config and initialized as usual (`model.init.scheme`),
then the tensors `layers` names are copied from the bundle's state_dict. Names are
state_dict keys (`stages.0.body.0.weight`); a pattern is a glob over them (`stages.*`)
or a module prefix (`stages.0`: every tensor under it).

The default, `layers: null`, is every tensor but the output head's: a trained body reused
under a new head, for another task. The head belongs to the earlier task's classes; even
where the widths agree (digits 0-4 then 5-9, five outputs each) its rows would map old
classes onto new ones, so it starts fresh: at zero, as in Big Transfer (Kolesnikov et al.,
2020). A randomly initialized head adds noise logits larger than the trained features'
signal (std ~1.7 on digits: a loss of 2.4 against ln 5 = 1.6 before the first step), which
a head-only fit on a frozen body spends its few steps undoing: 0.30 test accuracy after 20
epochs of 89 images, 0.75 from a zero head (benchmarks/transfer_digits.py). At zero every
class starts equally likely; the first step gives the head the features' direction and,
from then on, the body its gradient. `layers: ["*"]` loads the head too.

strict (the default): each requested name must be in both the model and the bundle with
the same shape, and each pattern must match something; otherwise the run refuses with
every mismatch listed, name and both shapes. strict=False loads what matches and reports
the rest. Freezing lives in layerwise.training.freeze (a Trainer callback).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from ..atomic import check_sha256
from ..errors import BundleError, ConfigError, did_you_mean

HEAD = "all but the head"  # how the default selection reads in the run log


@dataclass
class TransferReport:
    """What `load_pretrained` did: the names loaded, and those it could not load (strict=False)."""

    source: str
    loaded: list[str]
    skipped: list[str] = field(default_factory=list)  # "name: this model (5, 64), the bundle (10, 64)"
    layers: list[str] | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the bundle's model type differs
    head_zeroed: bool = False

    def summary(self) -> str:
        """'loaded 6 tensors from runs/a/bundle (stages.*)', for the run log."""
        which = HEAD if self.layers is None else ", ".join(self.layers)
        which += ", which starts at zero" if self.head_zeroed else ""
        return f"loaded {len(self.loaded)} tensors from {self.source} ({which})"


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether a state_dict name is selected: a glob match, or under a module prefix."""
    return any(fnmatch.fnmatchcase(name, p) or name.startswith(p.rstrip(".") + ".") for p in patterns)


def head_of(module: nn.Module) -> nn.Module | None:
    """The output head: a Block's `head`, or a language model's body's."""
    head = getattr(module, "head", None)
    if not isinstance(head, nn.Module):
        head = getattr(getattr(module, "body", None), "head", None)
    return head if isinstance(head, nn.Module) else None


def head_names(module: nn.Module) -> set[str]:
    """The state_dict names of the output head."""
    head = head_of(module)
    if head is None:
        return set()
    prefixes = [name for name, m in module.named_modules() if m is head]
    return {n for n in module.state_dict() if any(n.startswith(p + ".") for p in prefixes)}


def zero_head(module: nn.Module) -> bool:
    """Set the head's last Linear layer (or a head with its own `weight`, such as the tabular
    block's member heads) to zero (a new head on a trained body); False when there is none."""
    head = head_of(module)
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)] if head is not None else []
    last = linears[-1] if linears else head
    tensors = [getattr(last, name, None) for name in ("weight", "bias")]
    if not isinstance(tensors[0], torch.Tensor):
        return False
    with torch.no_grad():
        for t in tensors:
            if isinstance(t, torch.Tensor):
                t.zero_()
    return True


def load_pretrained(
    module: nn.Module,
    source: str | Path | Any,
    layers: list[str] | None = None,
    *,
    strict: bool = True,
    key: str = "model.init",
) -> TransferReport:
    """Copy the tensors `layers` selects from `source` into `module`, by name and shape.

    Args:
        source: a bundle folder (or a run folder holding bundle/), a Predictor as
            layerwise.bundle.load returns it, an nn.Module, or a state_dict.
        layers: patterns over state_dict names; None = every tensor but the head's, and the
            head set to zero.
        strict: refuse (ConfigError listing each mismatch) instead of loading the part that matches.
        key: the config key named in messages.
    Returns:
        a TransferReport; `module` holds the loaded values.
    """
    label, state, their_type = _read(source, key)
    ours = module.state_dict()
    our_type = _type_of(module)
    head = head_names(module)

    def wanted(name: str) -> bool:
        return name not in head if layers is None else matches(name, layers)

    names = sorted({n for n in ours if wanted(n)} | {n for n in state if wanted(n)})
    problems, notes = [], []
    if their_type and our_type and their_type != our_type:
        notes.append(f"{key}.from: {label} holds a '{their_type}' model; this run builds '{our_type}'")
    for pattern in layers or []:
        if not any(matches(n, [pattern]) for n in [*ours, *state]):
            problems.append(
                f"{key}.layers: {pattern!r} matches no tensor of this model or the bundle"
                f"{did_you_mean(pattern, _prefixes(ours))}"
            )
    loaded, skipped = {}, []
    for name in names:
        if name not in state:
            skipped.append(f"{name}: this model {_shape(ours[name])}, not in the bundle")
        elif name not in ours:
            skipped.append(f"{name}: the bundle {_shape(state[name])}, not in this model")
        elif state[name].shape != ours[name].shape:
            skipped.append(f"{name}: this model {_shape(ours[name])}, the bundle {_shape(state[name])}")
        else:
            loaded[name] = state[name]
    if strict and (problems or skipped):
        raise ConfigError(
            notes + problems + [f"{key}: {line}" for line in skipped],
            hint=f"build the bundle's architecture (model.*), select the tensors that match with "
            f"{key}.layers, or set {key}.strict: false to load only those",
        )
    notes += problems  # strict=False: a pattern that matched nothing is reported, not fatal
    if not loaded and not strict:
        notes.append(f"{key}.from: no tensor of {label} matches this model; nothing loaded")
    with torch.no_grad():
        for name, value in loaded.items():
            ours[name].copy_(value)  # state_dict tensors share storage with the module's
    zeroed = layers is None and bool(loaded) and zero_head(module)
    return TransferReport(label, list(loaded), skipped, None if layers is None else list(layers), notes, zeroed)


def _read(source: Any, key: str) -> tuple[str, Mapping[str, torch.Tensor], str | None]:
    """(label for messages, state_dict, model type or None) of what `load_pretrained` was given."""
    if isinstance(source, Mapping):
        return "the given state_dict", source, None
    if isinstance(source, nn.Module):
        return type(source).__name__, source.state_dict(), _type_of(source)
    if isinstance(source, (str, Path)):
        return _read_bundle(Path(source), key)
    label = "the given predictor"
    model = getattr(source, "model", None) or {}
    return label, source.module.state_dict(), (model.get("config") or {}).get("type")


def _read_bundle(path: Path, key: str) -> tuple[str, Mapping[str, torch.Tensor], str | None]:
    """A bundle's weights and model type, read as `layerwise.bundle.load` reads them: every sha256 of
    the manifest checked, then safetensors and JSON only (no code runs, nothing is built)."""
    if not (path / "manifest.json").exists() and (path / "bundle" / "manifest.json").exists():
        path = path / "bundle"  # a run folder
    if not path.is_dir():
        raise ConfigError(
            f"{key}.from: bundle not found: {path}",
            hint="give the bundle/ folder (or the run folder) an earlier `layerwise run` wrote",
        )
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        spec = json.loads((path / "spec.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(
            f"{path}: not a readable bundle ({err})",
            hint="give the bundle/ folder (or the run folder) an earlier `layerwise run` wrote",
        ) from None
    expected = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(expected, dict) or "model.safetensors" not in expected:
        raise BundleError(f"{path / 'manifest.json'}: does not list model.safetensors")
    check_sha256(path, expected)
    try:
        state = load_file(str(path / "model.safetensors"))
    except Exception as err:  # safetensors raises several kinds for a bad file
        raise BundleError(f"{path / 'model.safetensors'}: cannot be read ({err})") from None
    model = spec.get("model") if isinstance(spec, dict) else None
    config = model.get("config") if isinstance(model, dict) else None
    return str(path), state, config.get("type") if isinstance(config, dict) else None


def _type_of(module: nn.Module) -> str | None:
    get_config = getattr(module, "get_config", None)
    return get_config().get("type") if callable(get_config) else None


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _prefixes(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Every module prefix and full name, as did-you-mean choices for a pattern."""
    out = set(state)
    for name in state:
        parts = name.split(".")
        out.update(".".join(parts[:i]) + ".*" for i in range(1, len(parts)))
    return sorted(out)
