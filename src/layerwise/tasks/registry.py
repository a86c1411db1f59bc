"""Names for the kinds of problem, shaped like models/registry.py: `@register` a final Task class,
`resolve` the one a run is, `for_bundle` the one a saved bundle was trained as."""

from __future__ import annotations

from typing import Any

from ..errors import BundleError, ConfigError, did_you_mean
from .base import Prepared, Task, TaskInfo

_TASKS: dict[str, Task] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: one instance of the Task, found by its `name` and asked by `resolve`."""
    for attribute in ("name", "types"):
        if not hasattr(cls, attribute):
            raise TypeError(f"task {cls.__name__} needs a class attribute {attribute!r} to be registered")
    if cls.name in _TASKS and type(_TASKS[cls.name]) is not cls:
        raise ValueError(f"task {cls.name!r} is already registered by {type(_TASKS[cls.name]).__name__}")
    _TASKS[cls.name] = cls()
    return cls


def _loaded() -> None:
    from . import forecast, generation, images, rows, text  # noqa: F401  registers the built-in kinds


def available() -> list[str]:
    """The registered kinds, sorted."""
    _loaded()
    return sorted(_TASKS)


def get(name: str) -> Task:
    """The task registered as `name`."""
    _loaded()
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown kind of problem {name!r}{did_you_mean(str(name), _TASKS)}; the kinds are {', '.join(available())}"
        ) from None


def resolve(cfg: Any, data: Any = None) -> Task:
    """The task this run is: the one that claims it (their claims exclude each other)."""
    _loaded()
    for task in _TASKS.values():
        if task.claims(cfg, data):
            return task
    raise ConfigError(
        f"task.type: no kind of problem takes '{cfg.task.type}' with this data",
        hint=f"the kinds are {', '.join(available())}",
    )


def for_bundle(task: TaskInfo, preprocessing: Any) -> Task:
    """The task a bundle was trained as, from its spec's task and preprocessing state."""
    _loaded()
    found = next((t for t in _TASKS.values() if t.owns(task, preprocessing)), None)
    if found is None:
        raise BundleError(
            f"spec.json task.type {task.type!r}: no kind of problem takes it; the kinds are {', '.join(available())}",
            hint="use a bundle `layerwise run` wrote",
        )
    return found


def prepare_again(cfg: Any, data: Any = None) -> tuple[Task, Any, Prepared]:
    """A run's data read, checked and split again exactly as the run did: (task, raw data, Prepared).

    What must see a run's test rows again later (explanations, audits) goes through here, the
    one path from raw data to a run's splits."""
    from ..training.runlog import RunLog

    task = resolve(cfg, data)
    name = str(cfg.data.path) if data is None else "data"
    source = task.read(cfg, data, RunLog(quiet=True))
    return task, source, task.prepare(cfg, source, task.check(cfg, source, name), name)
