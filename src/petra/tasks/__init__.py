"""Tasks: what a model predicts, each one module registered by name (petra.tasks.registry), and the
config section that chooses one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from petra.section import Section
from petra.tasks import sequence, token, parse, feats  # noqa: F401, I001 - each registers its task, in this order
from petra.tasks.base import Scored, Task
from petra.tasks.registry import get_task, run_metrics, task_class, task_names

__all__ = ["Scored", "Task", "TaskConfig", "get_task", "run_metrics", "task_class", "task_names"]


class TaskConfig(Section):
    type: str = Field("sequence", description="what the model predicts: " + "; ".join(
        f"{name}: {task_class(name).description}" for name in task_names()))
    labels: Literal["upos", "deprel", "udeprel"] = Field("deprel", description="token: the word label; parse: the "
                                                         "relations (udeprel: no subtypes, as CoNLL 2018's LAS)")

    @field_validator("type")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in task_names():
            raise ValueError(f"unknown task {name!r}; available: {', '.join(task_names())}")
        return name

    @model_validator(mode="after")
    def _labels_the_task_reads(self) -> TaskConfig:
        kinds = task_class(self.type).label_kinds
        if kinds and self.labels not in kinds:
            raise ValueError(f"task.type {self.type!r} reads labels {' or '.join(map(repr, kinds))}, not {self.labels!r}")
        return self
