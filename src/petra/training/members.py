"""Several seeds of one model trained as one batched model (``run.ensemble``, ``petra bench --members``).

The members' parameters are stacked along a leading member dimension
(``torch.func.stack_module_state``); one step runs every member's forward and backward pass at once
(``torch.func.vmap`` over ``functional_call``) and one fused AdamW updates the stacked tensors.

A member keeps exactly what it has alone in :func:`petra.training.loop.train`: its initial weights,
its batch order (its own ``epoch_batches``), its masks (its objective's generators, drawn apart in
``objective.prepare``), its dropout and random-PE stream (its own generator, :mod:`petra.randomness`),
its optimizer state and its gradient clipping (per-member norms). Batches are padded to the largest
member's (sentences and length); a member's draws keep its own shape. Its checkpoints are the ones it writes alone,
so a killed batched run resumes, batched or alone, to the same numbers. On the CPU a member's losses
equal its lone run's up to float rounding (batched and single matrix products round differently).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from petra.config import OptimConfig
from petra.data.batches import Batch
from petra.errors import PetraError
from petra.models import PetraModel
from petra.models.encoder import TransformerEncoder
from petra.models.language import set_language
from petra.models.model import check_token_ids
from petra.randomness import Members, members
from petra.training.checkpoint import Checkpointer
from petra.training.member_batches import member_epoch, rebuild, stacked
from petra.training.loop import TrainResult, make_optimizer


@dataclass
class Member:
    """One seed: what :func:`petra.training.loop.train` would get for it, plus the state of torch's
    generator on the model's device (the CPU's or the GPU's) at the moment its lone ``train`` would
    start (``rng_state``, None: the state when training starts; updated to where its lone run would
    leave it)."""

    model: PetraModel
    epoch_batches: Callable[[int], Iterable[Batch]]
    objective: object  # prepare(batch) -> Prepared, loss(model, prepared), state_dict(), load_state_dict()
    rng_state: torch.Tensor | None = None
    checkpointer: Checkpointer | None = None
    evaluate: Callable[[PetraModel], float] | None = None
    result: TrainResult = field(default_factory=TrainResult)


def check_members(members_: list[Member]) -> None:
    """What a batched run needs, said before any work: the same Transformer shape for every member."""
    if not members_:
        raise PetraError("train_members needs at least one member")
    first = members_[0].model
    for m in members_:
        if not isinstance(m.model.encoder, TransformerEncoder):
            raise PetraError("batched members need petra's Transformer encoder (not an LSTM or a pretrained encoder); "
                             "set run.ensemble: off")
        if not (hasattr(m.objective, "prepare") and hasattr(m.objective, "loss")):
            raise PetraError(f"batched members need an objective with prepare() and loss(), got {type(m.objective).__name__}")
        shapes = [(n, p.shape, p.requires_grad) for n, p in m.model.named_parameters()]
        if shapes != [(n, p.shape, p.requires_grad) for n, p in first.named_parameters()]:
            raise PetraError("batched members must have the same parameters (names, shapes, frozen or not): "
                             "same PE, heads, vocabulary and recipe")
        if m.model.encoder._forward_hooks:
            raise PetraError("batched members cannot train a model with forward hooks (the adversarial objective)")
        for name, p in m.model.named_parameters():
            if p._backward_hooks and (len(p._backward_hooks) > 1 or not hasattr(p, "row_mask")):
                raise PetraError(f"batched members cannot train {name}: a gradient hook other than a recipe's row mask")


class _Loss(nn.Module):
    """``objective.loss(model, prepared)`` as a module, so ``functional_call`` swaps in one member's
    parameters for every submodule the loss reaches (heads, encoder)."""

    def __init__(self, model: PetraModel, objective) -> None:
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, prepared, step: Members) -> torch.Tensor:
        step.anchor = prepared.batch.ids  # the member dimension for draws that take no tensor (positions)
        return self.objective.loss(self.model, prepared)


def _stack_optimizer_states(states: list[dict]) -> dict:
    first = states[0]
    return {"param_groups": first["param_groups"], "state": {
        i: {k: v if k == "step" else torch.stack([s["state"][i][k] for s in states]) for k, v in entry.items()}
        for i, entry in first["state"].items()}}


def _member_optimizer_state(stacked: dict, m: int) -> dict:
    return {"param_groups": stacked["param_groups"], "state": {
        i: {k: v.clone() if k == "step" else v[m].clone() for k, v in entry.items()} for i, entry in stacked["state"].items()}}


class _Stack:
    """The members as one model: stacked parameters and buffers, one optimizer and schedule, and a
    generator per member."""

    def __init__(self, members_: list[Member], cfg: OptimConfig, total: int, saved: list[dict | None]) -> None:
        self.members, self.base = members_, members_[0].model
        params, buffers = stack_module_state([m.model for m in members_])
        for name, p in self.base.named_parameters():
            if p._backward_hooks:  # a recipe's embedding rows: each member trains its own (check_members)
                masks = torch.stack([dict(m.model.named_parameters())[name].row_mask for m in members_])
                params[name].register_hook(lambda grad, masks=masks: grad * masks.to(grad.device))
        self.params, self.buffers = params, buffers
        self.trained = [params[n] for n, p in self.base.named_parameters() if p.requires_grad]
        self.optimizer, self.schedule = make_optimizer(self.base, cfg, total, params)
        if saved[0] is not None:
            self.optimizer.load_state_dict(_stack_optimizer_states([s["optimizer"] for s in saved]))
            self.schedule.load_state_dict(saved[0]["schedule"])
        device = next(self.base.parameters()).device
        now = torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()
        self.generators = [torch.Generator(device).set_state(now if m.rng_state is None else m.rng_state) for m in members_]
        self.loss = _Loss(self.base, members_[0].objective)
        self.named = {f"model.{k}": v for k, v in {**params, **buffers}.items()}

    def losses(self, prepared: list, precision: str) -> torch.Tensor:
        """(S,) each member's loss on its own prepared batch."""
        named, step = stacked(prepared)
        step.generators = self.generators
        vocab = self.base.encoder.embed.num_embeddings
        for key in ("batch.ids", "task.ids", "masked.inputs"):
            if key in named:
                check_token_ids(named[key], vocab)
        template = prepared[0]

        def member_loss(state: dict, tensors: dict) -> torch.Tensor:
            return functional_call(self.loss, state, (rebuild(template, tensors), step))

        device = next(self.base.parameters()).device
        with members(step), torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            return vmap(member_loss, randomness="error")(self.named, named)

    def clip(self, max_norm: float) -> torch.Tensor:
        """Each member's gradients clipped by its own total norm (clip_grad_norm_ per member); the norms."""
        grads = [p.grad for p in self.trained if p.grad is not None]
        norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])  # (params, S)
        total = torch.linalg.vector_norm(norms, dim=0)
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))
        return total

    def unstack(self) -> None:
        """Each member's model takes its slice of the stacked weights."""
        with torch.no_grad():
            for m, member in enumerate(self.members):
                for name, tensor in [*member.model.named_parameters(), *member.model.named_buffers()]:
                    source = self.params[name] if name in self.params else self.buffers[name]
                    tensor.copy_(source[m])

    def snapshot(self, m: int) -> dict:
        """Member m's checkpoint, exactly as its lone run writes it (call :meth:`unstack` first)."""
        member, optimizer = self.members[m], self.optimizer.state_dict()
        objective_state = getattr(member.objective, "state_dict", None)
        on_cuda = self.generators[m].device.type == "cuda"
        return {
            "model": member.model.state_dict(), "optimizer": _member_optimizer_state(optimizer, m),
            "schedule": self.schedule.state_dict(),
            "torch_rng": torch.get_rng_state() if on_cuda else self.generators[m].get_state(),
            "cuda_rng": [self.generators[m].get_state()] if on_cuda else None,
            "objective": objective_state() if objective_state else None,
            "losses": list(member.result.losses), "evals": list(member.result.evals), "seconds": member.result.seconds,
        }


def _restore(member: Member, saved: dict) -> None:
    member.model.load_state_dict(saved["model"])
    member.rng_state = saved["cuda_rng"][0] if saved.get("cuda_rng") is not None else saved["torch_rng"]
    if saved["objective"] is not None:
        member.objective.load_state_dict(saved["objective"])
    member.result = TrainResult(list(saved["losses"]), [tuple(e) for e in saved["evals"]], saved["seconds"])


GUARD_EVERY = 50  # accelerators: steps between the host syncs that read the losses (as petra.training.loop)


def train_members(members_: list[Member], cfg: OptimConfig, steps_per_epoch: int, eval_every: int = 0,
                  on_step: Callable[[int, list[float]], None] | None = None, until: int | None = None) -> list[TrainResult]:
    """Train every member as :func:`petra.training.loop.train` trains it alone, as one batched model.
    Each member's model ends with its trained weights (in eval mode) and ``rng_state`` where its
    lone run leaves torch's generator; its ``result.seconds`` is its share of the wall time.
    ``until``: stop after that step (checkpointing there), for members that must catch up."""
    check_members(members_)
    total = cfg.epochs * steps_per_epoch
    saved = [m.checkpointer.load() if m.checkpointer else None for m in members_]
    for member, state in zip(members_, saved):
        if state is not None:
            _restore(member, state)
    steps = [m.result.steps for m in members_]
    if len(set(steps)) > 1:  # killed between two members' checkpoints: the ones behind catch up first
        behind = [m for m in members_ if m.result.steps < max(steps)]
        train_members(behind, cfg, steps_per_epoch, eval_every, on_step, until=max(steps))
        return train_members(members_, cfg, steps_per_epoch, eval_every, on_step, until)
    for member in members_:
        member.model.train()
    run = _Run(_Stack(members_, cfg, total, saved), cfg, total, until or total, eval_every, on_step)
    return run.train(steps_per_epoch)


class _Run:
    def __init__(self, stack: _Stack, cfg: OptimConfig, total: int, stop: int, eval_every: int, on_step) -> None:
        self.stack, self.members, self.cfg = stack, stack.members, cfg
        self.total, self.stop, self.eval_every, self.on_step = total, stop, eval_every, on_step
        self.deferred = stack.generators[0].device.type != "cpu"
        self.pending: list[tuple[torch.Tensor, torch.Tensor]] = []  # (losses, gradient norms) not yet read
        self.start = time.perf_counter() - self.members[0].result.seconds * len(self.members)

    @property
    def steps(self) -> int:
        return self.members[0].result.steps + len(self.pending)

    def train(self, steps_per_epoch: int) -> list[TrainResult]:
        try:
            for epoch in range(self.steps // steps_per_epoch, self.cfg.epochs):
                for index, batches in enumerate(member_epoch(self.members, epoch)):
                    if epoch * steps_per_epoch + index < self.steps:
                        continue  # done before the checkpoints we resumed from
                    if self.steps >= self.stop:
                        return self._finish()
                    self._step(batches)
                    self._after_step()
                self._flush()
        except KeyboardInterrupt:
            self._save()  # Ctrl-C: keep what was done, then stop
            raise
        return self._finish()

    def _finish(self) -> list[TrainResult]:
        self._flush()
        self.stack.unstack()
        for member, generator in zip(self.members, self.stack.generators):
            member.rng_state = generator.get_state()
            member.result.seconds = (time.perf_counter() - self.start) / len(self.members)
            member.model.eval()
        return [m.result for m in self.members]

    def _step(self, batches: list[Batch]) -> None:
        stack = self.stack
        device = stack.generators[0].device
        set_language(stack.base, batches[0].lang)
        prepared = [m.objective.prepare(b.to(device)) for m, b in zip(self.members, batches)]
        losses = stack.losses(prepared, self.cfg.precision)
        if not self.deferred:  # on the CPU a non-finite loss stops before the update, the models untouched
            self._check(losses.detach().tolist(), [True] * len(self.members))
        stack.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # member m's parameters get the gradient of its own loss only
        norms = stack.clip(self.cfg.grad_clip)
        if not self.deferred and not bool(torch.isfinite(norms).all()):
            self._check([m.result.losses[-1] if m.result.losses else 0.0 for m in self.members], torch.isfinite(norms).tolist())
        stack.optimizer.step()
        stack.schedule.step()
        self.pending.append((losses.detach().float(), torch.isfinite(norms)))
        if len(self.pending) >= (GUARD_EVERY if self.deferred else 1):
            self._flush()

    def _after_step(self) -> None:
        steps = self.steps
        if self.on_step is not None:
            self._flush()
            self.on_step(steps, [m.result.losses[-1] for m in self.members])
        if steps == self.total or (self.eval_every and steps % self.eval_every == 0):
            self._evaluate(steps)
        last = steps == self.total
        if any(m.checkpointer is not None and (m.checkpointer.due(steps) or (last and m.checkpointer.at_end))
               for m in self.members) or steps == self.stop < self.total:
            self._save()

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for losses, finite in pending:
            values = losses.tolist()
            self._check(values, finite.tolist())
            for member, value in zip(self.members, values):
                member.result.losses.append(value)

    def _check(self, values: list[float], finite: list[bool]) -> None:
        step = self.members[0].result.steps
        for m, (value, ok) in enumerate(zip(values, finite)):
            if not math.isfinite(value) or not ok:
                what = f"loss is {value}" if not math.isfinite(value) else "non-finite gradients"
                raise PetraError(f"training stopped: member {m} ({what} at step {step}); "
                                 "the last checkpoint holds the last good state")

    def _evaluate(self, steps: int) -> None:
        if not any(m.evaluate for m in self.members):
            return
        self._flush()
        self.stack.unstack()
        for member, generator in zip(self.members, self.stack.generators):
            if member.evaluate is None:
                continue
            with torch.random.fork_rng(devices=[generator.device] if generator.device.type == "cuda" else []):
                # the draws its lone evaluation makes: from its own stream, which the fork then discards
                if generator.device.type == "cuda":
                    torch.cuda.set_rng_state(generator.get_state(), generator.device)
                else:
                    torch.set_rng_state(generator.get_state())
                member.result.evals.append((steps, member.evaluate(member.model)))
            member.model.train()

    def _save(self) -> None:
        if not any(m.checkpointer for m in self.members):
            return
        self._flush()  # a checkpoint is only ever written from a checked state
        self.stack.unstack()
        for m, member in enumerate(self.members):
            if member.checkpointer is not None:
                member.result.seconds = (time.perf_counter() - self.start) / len(self.members)
                member.checkpointer.save(self.stack.snapshot(m))
