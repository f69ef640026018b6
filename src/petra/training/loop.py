"""One ``train()`` for pretraining and fine-tuning: AdamW, linear warm-up then linear decay,
gradient clipping, and a guard that stops on a non-finite loss instead of training on NaNs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from petra.config import OptimConfig
from petra.data.batches import Batch
from petra.errors import PetraError
from petra.models import PetraModel

Objective = Callable[[PetraModel, Batch], torch.Tensor]


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.losses)


def warmup_linear_decay(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def make_optimizer(model: PetraModel, cfg: OptimConfig, total_steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise PetraError("nothing to train: every parameter is frozen")
    # No weight decay on biases, norms and 1-D tables (standard AdamW practice).
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, foreach=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(cfg.warmup_steps, total_steps))
    return optimizer, schedule


def train(
    model: PetraModel,
    epoch_batches: Callable[[int], Iterable[Batch]],
    objective: Objective,
    cfg: OptimConfig,
    steps_per_epoch: int,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Run ``cfg.epochs`` epochs; ``epoch_batches(e)`` yields the batches of epoch ``e``."""
    total = cfg.epochs * steps_per_epoch
    optimizer, schedule = make_optimizer(model, cfg, total)
    params = [p for p in model.parameters() if p.requires_grad]
    result, start = TrainResult(), time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        for batch in epoch_batches(epoch):
            loss = objective(model, batch)
            value = loss.item()
            if not math.isfinite(value):
                raise PetraError(f"training stopped: loss is {value} at step {result.steps} (epoch {epoch})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            schedule.step()
            result.losses.append(value)
            if on_step is not None:
                on_step(result.steps, value)
    result.seconds = time.perf_counter() - start
    model.eval()
    return result
