"""Tasks: what a model predicts (the sequence and token tasks live in petra.training; dependency
parsing in parse.py and mst.py) and the config section that chooses one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from petra.section import Section


class TaskConfig(Section):
    type: Literal["sequence", "token", "parse"] = Field("sequence", description="which noun is the agent, a label per "
                                                        "word, or dependency trees (UAS/LAS)")
    labels: Literal["upos", "deprel", "udeprel"] = Field("deprel", description="token: the word label; parse: the "
                                                         "relations (udeprel: no subtypes, as CoNLL 2018's LAS)")

    @model_validator(mode="after")
    def _parse_labels_relations(self) -> TaskConfig:
        if self.type == "parse" and self.labels == "upos":
            raise ValueError("task.type 'parse' labels arcs with relations: labels must be 'deprel' or 'udeprel'")
        return self
