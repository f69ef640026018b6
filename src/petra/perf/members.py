"""``petra bench --members S``: S seeds trained as one batched model against the same S trained
one after another, in the same run, alternating which goes first each round.

Both sides run petra's own training functions (``petra.training.members.train_members`` and
``petra.training.loop.train``), on the demo's pretraining objective (masked-LM + the sequence task),
with per-member batches of fixed shape, so the tokens/s ratio is what a sweep's unit gains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from petra.config import ModelConfig, OptimConfig
from petra.data.batches import IGNORE, Batch
from petra.device import resolve_device
from petra.models import HeadSpec, build_model
from petra.perf.flops import ModelShape
from petra.training.loop import train
from petra.training.members import Member, train_members
from petra.training.objectives import JointObjective, MLMObjective

MASK_ID, FIRST_WORD = 4, 5  # special ids below FIRST_WORD, as petra's tokenizers number them


@dataclass(frozen=True)
class MembersConfig:
    shape: ModelShape
    members: int
    rounds: int = 3
    steps: int = 20  # training steps of every member per round
    warmup: int = 3  # untimed steps of both sides first
    dropout: float = 0.1
    encoding: str = "sinusoidal"
    precision: str = "fp32"
    device: str = "cpu"


@dataclass
class MembersBench:
    config: MembersConfig
    threads: int
    separate: list[float] = field(default_factory=list)  # tokens/s per round, S models one after another
    batched: list[float] = field(default_factory=list)  # tokens/s per round, S members as one model
    seconds: float = 0.0

    @property
    def ratios(self) -> list[float]:
        return [b / s for b, s in zip(self.batched, self.separate)]


def _batches(shape: ModelShape, steps: int, seed: int, device: torch.device) -> list[Batch]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(FIRST_WORD, shape.vocab, (steps, shape.batch, shape.seq_len), generator=generator)
    labels = torch.randint(0, 4, (steps, shape.batch), generator=generator)
    tags = torch.full((shape.batch, shape.seq_len), IGNORE)
    return [Batch(i.to(device), torch.ones_like(i, dtype=torch.bool, device=device), tags.to(device), y.to(device))
            for i, y in zip(ids, labels)]


def _members(config: MembersConfig, steps: int, device: torch.device) -> list[Member]:
    shape = config.shape
    model_config = ModelConfig(dim=shape.dim, layers=shape.layers, heads=shape.heads, ffn_dim=shape.ffn_dim,
                               dropout=config.dropout, max_len=max(shape.seq_len, 8))
    members = []
    for seed in range(config.members):
        torch.manual_seed(seed)
        model = build_model(model_config, config.encoding, shape.vocab,
                            {"task": HeadSpec("sequence", 4), "mlm": HeadSpec("token", shape.vocab)}).to(device)
        masked = MLMObjective(shape.vocab, MASK_ID, 0.15, torch.Generator().manual_seed(1000 + seed))
        data = _batches(shape, steps, seed, device)
        members.append(Member(model, lambda epoch, data=data: data, JointObjective("sequence", 1.0, masked, 1.0)))
    return members


def _optim(config: MembersConfig) -> OptimConfig:
    return OptimConfig(epochs=1, batch_size=config.shape.batch, lr=1e-3, warmup_steps=1, precision=config.precision)


def _separate(config: MembersConfig, steps: int, device: torch.device) -> float:
    members, optim = _members(config, steps, device), _optim(config)
    start = time.perf_counter()
    for member in members:
        train(member.model, member.epoch_batches, member.objective, optim, steps)
    return _seconds(start, device)


def _batched(config: MembersConfig, steps: int, device: torch.device) -> float:
    members = _members(config, steps, device)
    start = time.perf_counter()
    train_members(members, _optim(config), steps)
    return _seconds(start, device)


def _seconds(start: float, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def run_members_bench(config: MembersConfig, on_round: Callable[[str], None] = lambda line: None) -> MembersBench:
    device = resolve_device(config.device)
    bench = MembersBench(config, torch.get_num_threads())
    start = time.perf_counter()
    _separate(config, config.warmup, device)
    _batched(config, config.warmup, device)
    tokens = config.members * config.steps * config.shape.batch * config.shape.seq_len
    for round_ in range(config.rounds):
        sides = [("separate", _separate), ("batched", _batched)]
        times = {}
        for name, side in sides if round_ % 2 == 0 else sides[::-1]:
            times[name] = side(config, config.steps, device)
        bench.separate.append(tokens / times["separate"])
        bench.batched.append(tokens / times["batched"])
        on_round(f"round {round_ + 1}/{config.rounds}: {config.members} separate {bench.separate[-1]:,.0f} tokens/s, "
                 f"batched {bench.batched[-1]:,.0f} tokens/s ({bench.ratios[-1]:.2f}×)")
    bench.seconds = time.perf_counter() - start
    return bench
