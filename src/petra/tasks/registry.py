"""Every task by name, as a config chooses it (``task.type``).

Adding a task = one new module with a ``@register``ed :class:`~petra.tasks.base.Task` and its import
line in ``petra/tasks/__init__.py``. Nothing else changes.
"""

from __future__ import annotations

from petra.errors import PetraError
from petra.tasks.base import Task

_REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    if cls.name in _REGISTRY:
        raise ValueError(f"task {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def task_names() -> list[str]:
    return list(_REGISTRY)


def task_class(name: str) -> type[Task]:
    if name not in _REGISTRY:
        raise PetraError(f"unknown task {name!r}; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def get_task(config) -> Task:
    """The task a config's ``task`` section chooses (a :class:`~petra.tasks.TaskConfig`), or one by name."""
    if isinstance(config, str):
        return task_class(config)()
    return task_class(config.type)(config.labels)


def run_metrics() -> list[str]:
    """Every task's run columns beside accuracy, less the one accuracy already is (parse: las)."""
    names = [m for cls in _REGISTRY.values() for m in cls.metrics if m != cls.accuracy_is]
    return list(dict.fromkeys(names))
