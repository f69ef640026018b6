"""The losses the loop optimises: the labelled task and masked-LM, alone or weighted together."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, Batch, mask_for_mlm
from petra.models import PetraModel
from petra.tasks import Task, get_task


def mlm_loss(model: PetraModel, inputs: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Masked-LM cross-entropy, equal to ``petra.tasks.token.token_cross_entropy(model(inputs, mask, "mlm"), targets)``
    but projecting to the vocabulary only at the masked positions (the only ones with a target)."""
    picked = targets != IGNORE
    logits = model(inputs, mask, head="mlm", select=picked)
    return F.cross_entropy(logits, targets[picked], reduction="sum") / picked.sum().clamp(min=1)


@dataclass
class MLMObjective:
    vocab_size: int
    mask_id: int
    mask_prob: float
    generator: torch.Generator

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        inputs, targets = mask_for_mlm(batch, self.vocab_size, self.mask_id, self.mask_prob, self.generator)
        return mlm_loss(model, inputs, batch.mask, targets)


@dataclass
class TokenDropout:
    """Word dropout for the task loss (Kiperwasser & Goldberg 2016, sec. 4; Iyyer et al. 2015): hide
    a share of the input tokens behind [MASK], so a label must also be read from its context, which
    is all a model has for words it never saw in training."""

    prob: float
    mask_id: int
    generator: torch.Generator

    def __call__(self, batch: Batch) -> Batch:
        hide = (torch.rand(batch.ids.shape, generator=self.generator).to(batch.ids.device) < self.prob) & batch.mask
        return replace(batch, ids=batch.ids.masked_fill(hide, self.mask_id))


@dataclass
class JointObjective:
    """L = w_mlm * L_mlm + w_task * L_task; a zero weight (or missing part) drops that term.
    Unlabelled batches (raw text: a target's pool, a language's ``text:``) get the masked-LM term only.
    ``task``: the task whose loss L_task is (or its name)."""

    task: Task | str
    task_weight: float = 1.0
    mlm: MLMObjective | None = None
    mlm_weight: float = 1.0
    token_dropout: TokenDropout | None = None

    def __post_init__(self) -> None:
        if isinstance(self.task, str):
            self.task = get_task(self.task)

    def state_dict(self) -> dict:
        dropout = self.token_dropout.generator.get_state() if self.token_dropout is not None else None
        return {"mlm": self.mlm.state_dict() if self.mlm is not None else None, "token_dropout": dropout}

    def load_state_dict(self, state: dict) -> None:
        if self.mlm is not None:
            self.mlm.load_state_dict(state["mlm"])
        if self.token_dropout is not None:
            self.token_dropout.generator.set_state(state["token_dropout"])

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        loss = torch.zeros(())
        if self.task_weight and batch.labelled:
            task_batch = batch if self.token_dropout is None else self.token_dropout(batch)
            loss = loss + self.task_weight * self.task.loss(model, task_batch)
        if self.mlm is not None and self.mlm_weight:
            loss = loss + self.mlm_weight * self.mlm(model, batch)
        return loss
