"""The search space: dotted config paths mapped to ranges or choices, and back to configs.

    train.lr:      {log_uniform: [1.0e-4, 1.0e-1]}          # continuous, sampled on a log scale
    model.dropout: {uniform: [0.0, 0.5], points: 3}         # points: what grid search visits
    train.batch_size: {int: [16, 64], step: 16}             # integers; `log: true` for a log scale
    model.hidden:  {choice: [[64, 64], [128, 128, 128, 128]]}
    model.type:    [mlp, cnn1d]                              # a plain list: the same as {choice: [...]}

Each kind is one small class registered by its YAML name. Optuna's categorical
distribution holds only scalars, so a choice of lists is stored by its JSON text
("[64, 64]"), which is also what `tuning.csv` shows; `decode` turns it back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from ..errors import ConfigError, did_you_mean
from .messages import cut, shorten

_KINDS: dict[str, type[Param]] = {}
_OPTIONS = ("step", "points", "log")


def register(name: str):
    def add(cls: type[Param]) -> type[Param]:
        cls.kind = name
        _KINDS[name] = cls
        return cls

    return add


def available() -> list[str]:
    return list(_KINDS)


@dataclass
class Param:
    """One dimension of the space; `problems()` says what is wrong with it, empty when valid."""

    path: str
    spec: Any
    step: float | None = None
    points: int | None = None
    log: bool = False
    kind = ""

    def problems(self) -> list[str]:
        return []

    def suggest(self, trial: optuna.Trial) -> Any:
        raise NotImplementedError

    def grid(self) -> list[Any]:
        """The values grid search visits; a ConfigError when the range is continuous."""
        raise NotImplementedError

    def decode(self, value: Any) -> Any:
        return value

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.kind: self.spec}
        out.update({k: getattr(self, k) for k in _OPTIONS if getattr(self, k) not in (None, False)})
        return out


class _Range(Param):
    def problems(self) -> list[str]:
        spec = self.spec
        if not (isinstance(spec, list) and len(spec) == 2 and all(_number(v) for v in spec)):
            return [f"{self.kind}: expected [low, high], two numbers, got {shorten(spec)}"]
        low, high = spec
        out = []
        if low >= high:
            out.append(f"{self.kind}: bounds in the wrong order or equal, low {low} must be < high {high}")
        if self.log and low <= 0:
            out.append(f"{self.kind}: a log range must stay above zero, got low {low}")
        if self.step is not None and (not _number(self.step) or self.step <= 0):
            out.append(f"step: must be a number > 0, got {shorten(self.step)}")
        if self.step is not None and self.log:
            out.append("step: cannot be combined with a log scale")
        if self.points is not None and (
            not isinstance(self.points, int) or isinstance(self.points, bool) or self.points < 2
        ):
            out.append(f"points: must be a whole number >= 2, got {shorten(self.points)}")
        return out


@register("uniform")
class Uniform(_Range):
    def suggest(self, trial: optuna.Trial) -> Any:
        return trial.suggest_float(self.path, float(self.spec[0]), float(self.spec[1]), log=self.log, step=self.step)

    def grid(self) -> list[Any]:
        low, high = (float(v) for v in self.spec)
        if self.step is not None:
            return [float(v) for v in np.round(np.arange(low, high + self.step / 2, self.step), 12)]
        if self.points is None:
            raise ConfigError(
                f"tune.space.{self.path}: grid search needs discrete values; a continuous "
                f"{self.kind} range needs `points: N` (or use method random or tpe)"
            )
        values = np.geomspace(low, high, self.points) if self.log else np.linspace(low, high, self.points)
        return [float(v) for v in values]


@register("log_uniform")
@dataclass
class LogUniform(Uniform):
    log: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_dict().items() if k != "log"}


@register("int")
class Int(_Range):
    def problems(self) -> list[str]:
        out = super().problems()
        if not out and not all(float(v).is_integer() for v in self.spec):
            out.append(f"int: bounds must be whole numbers, got {shorten(self.spec)}")
        if self.step is not None and _number(self.step) and not float(self.step).is_integer():
            out.append(f"step: must be a whole number for an int range, got {shorten(self.step)}")
        return out

    def suggest(self, trial: optuna.Trial) -> Any:
        return trial.suggest_int(
            self.path, int(self.spec[0]), int(self.spec[1]), step=int(self.step or 1), log=self.log
        )

    def grid(self) -> list[Any]:
        low, high = (int(v) for v in self.spec)
        if self.points is not None:
            values = np.geomspace(low, high, self.points) if self.log else np.linspace(low, high, self.points)
            return sorted({int(round(v)) for v in values})
        return list(range(low, high + 1, int(self.step or 1)))


@register("choice")
class Choice(Param):
    def problems(self) -> list[str]:
        if not isinstance(self.spec, list) or not self.spec:
            return [f"choice: expected a non-empty list of values, got {shorten(self.spec)}"]
        labels = [self._label(v) for v in self.spec]
        if len(set(labels)) != len(labels):
            return [f"choice: the values repeat, {shorten(self.spec)}"]
        return [f"{k}: does not apply to a choice" for k in _OPTIONS if getattr(self, k) not in (None, False)]

    def suggest(self, trial: optuna.Trial) -> Any:
        return trial.suggest_categorical(self.path, self.grid())

    def grid(self) -> list[Any]:
        return [self._label(v) for v in self.spec]

    def decode(self, value: Any) -> Any:
        # lists and mappings travel as their JSON text; scalars as themselves
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value

    @staticmethod
    def _label(value: Any) -> Any:
        return json.dumps(value) if isinstance(value, (list, dict)) else value


class Space:
    """The parsed `tune.space`: one Param per dotted path, in the order given."""

    def __init__(self, params: list[Param]):
        self.params = params

    @classmethod
    def parse(cls, raw: Any) -> Space:
        """Validate a `tune.space` mapping; one ConfigError listing every problem."""
        if not isinstance(raw, dict) or not raw:
            raise ConfigError("tune.space: needs at least one entry, e.g. {train.lr: {log_uniform: [1.0e-4, 1.0e-1]}}")
        params, problems = [], []
        known = config_paths()
        for path, spec in raw.items():
            where = f"tune.space.{cut(str(path))}"
            if path not in known:
                problems.append(f"{where}: not a config key{did_you_mean(str(path), known)}")
                continue
            if isinstance(spec, list):
                spec = {"choice": spec}  # `train.batch_size: [32, 64]` reads as the choices it lists
            if not isinstance(spec, dict):
                problems.append(
                    f"{where}: expected a mapping such as {{uniform: [0.0, 0.5]}} or a list of "
                    f"choices, got {shorten(spec)}"
                )
                continue
            kinds = [k for k in spec if k in _KINDS]
            unknown = [k for k in spec if k not in _KINDS and k not in _OPTIONS]
            problems += [
                f"{where}.{cut(str(k))}: unknown key{did_you_mean(str(k), [*_KINDS, *_OPTIONS])}" for k in unknown
            ]
            if len(kinds) != 1:
                if not unknown:
                    problems.append(f"{where}: give exactly one of {', '.join(_KINDS)}")
                continue
            options = {k: spec[k] for k in _OPTIONS if k in spec}
            param = _KINDS[kinds[0]](path, spec[kinds[0]], **options)
            found = param.problems()
            problems += [f"{where}.{p}" for p in found]
            if not found:
                params.append(param)
        if problems:
            raise ConfigError(problems)
        return cls(params)

    def to_dict(self) -> dict[str, Any]:
        return {p.path: p.to_dict() for p in self.params}

    def grid(self) -> dict[str, list[Any]]:
        return {p.path: p.grid() for p in self.params}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw one point; returns path -> value as the config takes it."""
        return self.decode({p.path: p.suggest(trial) for p in self.params})

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        by_path = {p.path: p for p in self.params}
        return {k: by_path[k].decode(v) if k in by_path else v for k, v in params.items()}

    def corners(self) -> list[dict[str, Any]]:
        """Points that exercise every bound and every choice: checked before any training."""
        points = []
        for p in self.params:
            values = p.spec if isinstance(p, Choice) else list(p.spec)
            points += [{p.path: v} for v in values]
        return points


def apply(raw: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Set dotted paths in a config dict (a copy); the value replaces what was there."""
    out = json.loads(json.dumps(raw))
    for path, value in params.items():
        node = out
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
    return out


def config_paths() -> list[str]:
    """Every dotted path a search space may name (sections are not values to search)."""
    from pydantic import BaseModel

    from .schema import ExperimentConfig

    paths = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
            elif prefix:  # top-level sections themselves are not searchable
                paths.append(f"{prefix}{name}")

    walk(ExperimentConfig, "")
    return [p for p in paths if not p.startswith("tune.")]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
