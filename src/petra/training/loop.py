"""One ``train()`` for pretraining and fine-tuning: AdamW, linear warm-up then linear decay,
gradient clipping, a guard that stops on a non-finite loss instead of training on NaNs, periodic
evaluation for learning curves, and checkpoints that resume to the identical result.

Resuming is exact on CPU because everything random is restored: model, optimizer and schedule
state, torch's global RNG (dropout, random PEs), the objective's own generator (MLM masks), and
the batch order, which ``epoch_batches(epoch)`` must derive from the epoch number alone.
"""

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
from petra.models.language import set_language
from petra.training.checkpoint import Checkpointer

Objective = Callable[[PetraModel, Batch], torch.Tensor]


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    evals: list[tuple[int, float]] = field(default_factory=list)  # (step, metric) learning curve
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
    # fused: one kernel for all parameters (petra bench: 5 ms vs 26 ms per step at 7.3M parameters)
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(cfg.warmup_steps, total_steps))
    return optimizer, schedule


@dataclass
class _State:
    model: PetraModel
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    objective: Objective
    result: TrainResult

    def snapshot(self) -> dict:
        objective_state = getattr(self.objective, "state_dict", None)
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(), "torch_rng": torch.get_rng_state(),
            "objective": objective_state() if objective_state else None,
            "losses": list(self.result.losses), "evals": list(self.result.evals),
            "seconds": self.result.seconds,
        }

    def restore(self, saved: dict) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["torch_rng"])
        if saved["objective"] is not None:
            self.objective.load_state_dict(saved["objective"])
        self.result.losses, self.result.evals = list(saved["losses"]), [tuple(e) for e in saved["evals"]]
        self.result.seconds = saved["seconds"]


def train(
    model: PetraModel,
    epoch_batches: Callable[[int], Iterable[Batch]],
    objective: Objective,
    cfg: OptimConfig,
    steps_per_epoch: int,
    on_step: Callable[[int, float], None] | None = None,
    checkpointer: Checkpointer | None = None,
    evaluate: Callable[[PetraModel], float] | None = None,
    eval_every: int = 0,
    sync_gradients: Callable[[list[torch.nn.Parameter]], None] | None = None,
) -> TrainResult:
    """Run ``cfg.epochs`` epochs (or finish them, resuming from ``checkpointer``).

    ``sync_gradients(params)`` runs after every backward pass: data-parallel training averages the
    gradients of all processes there (petra.training.distributed), leaving this loop unchanged.

    ``evaluate(model)`` is called every ``eval_every`` steps and at the end, under a forked RNG
    so that measuring a curve never changes the training itself.
    """
    total = cfg.epochs * steps_per_epoch
    optimizer, schedule = make_optimizer(model, cfg, total)
    params = [p for p in model.parameters() if p.requires_grad]
    state = _State(model, optimizer, schedule, objective, TrainResult())
    saved = checkpointer.load() if checkpointer else None
    if saved is not None:
        state.restore(saved)
    result, start = state.result, time.perf_counter() - state.result.seconds
    model.train()
    try:
        for epoch in range(result.steps // steps_per_epoch, cfg.epochs):
            for index, batch in enumerate(epoch_batches(epoch)):
                if epoch * steps_per_epoch + index < result.steps:
                    continue  # done before the checkpoint we resumed from
                _step(state, batch, params, cfg, epoch, sync_gradients)
                if on_step is not None:
                    on_step(result.steps, result.losses[-1])
                if evaluate is not None and (result.steps == total or (eval_every and result.steps % eval_every == 0)):
                    result.evals.append((result.steps, _measure(model, evaluate)))
                last = result.steps == total
                if checkpointer is not None and (checkpointer.due(result.steps) or (last and checkpointer.at_end)):
                    result.seconds = time.perf_counter() - start
                    checkpointer.save(state.snapshot())
    except KeyboardInterrupt:
        if checkpointer is not None:  # Ctrl-C: keep what was done, then stop
            result.seconds = time.perf_counter() - start
            checkpointer.save(state.snapshot())
        raise
    result.seconds = time.perf_counter() - start
    model.eval()
    return result


def _step(state: _State, batch: Batch, params: list, cfg: OptimConfig, epoch: int, sync_gradients=None) -> None:
    set_language(state.model, batch.lang)
    device = next(state.model.parameters()).device.type
    with torch.autocast(device, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        loss = state.objective(state.model, batch)
    value = loss.item()
    step = state.result.steps
    if not math.isfinite(value):
        raise PetraError(f"training stopped: loss is {value} at step {step} (epoch {epoch}); "
                         "the last checkpoint holds the last good state")
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if sync_gradients is not None:
        sync_gradients(params)
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    if not torch.isfinite(norm):
        raise PetraError(f"training stopped: non-finite gradients at step {step} (epoch {epoch}) in "
                         f"{', '.join(_nonfinite_groups(state.model))}; the last checkpoint holds the last good state")
    state.optimizer.step()
    state.schedule.step()
    state.result.losses.append(value)


def _nonfinite_groups(model: PetraModel) -> list[str]:
    """Modules (e.g. 'encoder.blocks.0.attn') whose parameters received inf/NaN gradients."""
    groups = dict.fromkeys(
        name.rsplit(".", 1)[0] for name, p in model.named_parameters()
        if p.grad is not None and not torch.isfinite(p.grad).all()
    )
    return list(groups) or ["(unknown)"]


def _measure(model: PetraModel, evaluate: Callable[[PetraModel], float]) -> float:
    with torch.random.fork_rng():
        value = evaluate(model)
    model.train()
    return value
