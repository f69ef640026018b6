"""Adversarial language invariance (Ganin et al. 2016, DANN): a language discriminator on the
pooled encoder output, trained through a gradient-reversal layer so the encoder learns
representations from which the language cannot be told."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from petra.data.batches import Batch
from petra.models import PetraModel
from petra.training.loop import Objective


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; multiplies the gradient by −scale backward."""
    return _GradientReversal.apply(x, scale)


def dann_schedule(progress: float) -> float:
    """Ganin et al. 2016, eq. 14: λ_p = 2 / (1 + exp(−10 p)) − 1, rising from 0 to ~1."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0


class LanguageDiscriminator(nn.Module):
    def __init__(self, dim: int, num_languages: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, num_languages))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.net(pooled)


@dataclass
class AdversarialObjective:
    """base loss + weight · λ(progress) · CE(D(GRL(pooled hidden)), language).

    The encoder's output is captured from the base objective's own forward pass (a forward hook),
    so invariance costs no extra encoder pass. ``task_languages`` lists the languages whose batches
    also carry the base loss; batches of other languages (e.g. unlabelled source text mixed into
    fine-tuning) contribute only the adversarial term.
    """

    base: Objective
    discriminator: LanguageDiscriminator
    weight: float
    total_steps: int
    schedule: str = "dann"
    task_languages: frozenset[int] | None = None
    steps: int = field(default=0, init=False)

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        captured: list[torch.Tensor] = []
        handle = model.encoder.register_forward_hook(lambda m, args, out: captured.append(out))
        try:
            if self.task_languages is None or batch.lang in self.task_languages:
                loss = self.base(model, batch)
            else:
                loss = torch.zeros(())
                model.encoder(batch.ids, batch.mask)
        finally:
            handle.remove()
        hidden = captured[0]  # first pass: the unmasked task input when there is one
        weights = batch.mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        scale = dann_schedule(self.steps / max(1, self.total_steps)) if self.schedule == "dann" else 1.0
        self.steps += 1
        logits = self.discriminator(reverse_gradient(pooled, scale))
        target = torch.full((len(pooled),), batch.lang, dtype=torch.long)
        return loss + self.weight * F.cross_entropy(logits, target)

    def state_dict(self) -> dict:
        base = getattr(self.base, "state_dict", None)
        return {"steps": self.steps, "base": base() if base else None}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state["steps"]
        if state["base"] is not None:
            self.base.load_state_dict(state["base"])
