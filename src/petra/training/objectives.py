"""The losses the loop optimises: the labelled task and masked-LM, alone or weighted together."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, Batch, mask_for_mlm
from petra.models import PetraModel
from petra.models.encoder import selected_rows
from petra.randomness import batched
from petra.tasks import Task, get_task
from petra.tasks.token import token_cross_entropy


def mlm_loss(model: PetraModel, inputs: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Masked-LM cross-entropy, equal to ``token_cross_entropy(model(inputs, mask, "mlm"), targets)``
    but projecting to the vocabulary only at the masked positions (the only ones with a target)."""
    picked = targets != IGNORE
    logits = model(inputs, mask, head="mlm", select=picked)
    if batched():  # (B, M, vocab): each sequence's selected rows first, padded (petra.models.encoder)
        selection = selected_rows(picked)
        if selection is not None:
            rows, valid = selection
            targets = targets.gather(1, rows).masked_fill(~valid, IGNORE)
        return token_cross_entropy(logits, targets)
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

    def prepare(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The random part (masks, from this objective's generator): (inputs, targets)."""
        return mask_for_mlm(batch, self.vocab_size, self.mask_id, self.mask_prob, self.generator)

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        inputs, targets = self.prepare(batch)
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
class Prepared:
    """A batch ready for :meth:`JointObjective.loss`: ``task`` None when the task term is off for it,
    ``masked`` the masked-LM (inputs, targets), None when that term is off."""

    batch: Batch
    task: Batch | None
    masked: tuple[torch.Tensor, torch.Tensor] | None


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

    def prepare(self, batch: Batch) -> Prepared:
        """The random part of the loss, drawn from the objective's own generators: what the task
        loss reads (word dropout applied) and the masked-LM (inputs, targets). Batched members
        prepare each member's batch apart, then compute :meth:`loss` for all at once."""
        task = None
        if self.task_weight and batch.labelled:
            task = batch if self.token_dropout is None else self.token_dropout(batch)
        masked = self.mlm.prepare(batch) if self.mlm is not None and self.mlm_weight else None
        return Prepared(batch, task, masked)

    def loss(self, model: PetraModel, prepared: Prepared) -> torch.Tensor:
        loss = torch.zeros(())
        if prepared.task is not None:
            loss = loss + self.task_weight * self.task.loss(model, prepared.task)
        if prepared.masked is not None:
            loss = loss + self.mlm_weight * mlm_loss(model, prepared.masked[0], prepared.batch.mask, prepared.masked[1])
        return loss

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        return self.loss(model, self.prepare(batch))
