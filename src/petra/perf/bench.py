"""``petra bench``: petra's encoder against ``transformers``' ``BertForMaskedLM``, same run, alternating.

Both models are built at the same sizes and trained with masked-LM on the same random batches, at
the same precision. Each round measures the machine's matmul peak, then runs a few steps of one
model and a few of the other, swapping which goes first every round (A B, B A, ...), so load
from other processes and drift in clock speed fall on both sides alike. Every figure is kept per
round, and the report gives the median with the min-max spread over rounds: the petra / HF
ratio is taken within each round, which is what the alternation makes fair.

MFU (Chowdhery et al. 2022, App. B) divides the *model* FLOPs a step needs by time and by the
measured peak; it is counted alike for both models (``petra.perf.flops.model_work``: the last
layer's outputs and the MLM head at the masked positions only, since nothing else reaches the
loss). HFU counts the FLOPs an implementation executes (HF runs everything at every position).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch

from petra.encodings import BERT_ENCODING
from petra.perf.flops import ModelShape, gemm_shapes, model_work, train_step_flops
from petra.perf.memory import StepProfile, profile_step, resident_bytes
from petra.perf.peak import measure_peak, synchronize
from petra.perf.trainees import MLMBatch, Trainee, hf_trainee, petra_trainee, random_batches, train_step

Precision = Literal["fp32", "bf16"]


@dataclass(frozen=True)
class BenchConfig:
    shape: ModelShape = ModelShape()
    precisions: tuple[Precision, ...] = ("fp32", "bf16")
    rounds: int = 3  # alternations per precision
    steps: int = 2  # steps of each model per round
    warmup: int = 1  # untimed steps of each model before the first round
    dropout: float = 0.1
    mask_prob: float = 0.15
    encoding: str = BERT_ENCODING
    fused_adamw: bool = True
    full_head: bool = False  # ablation: petra runs its last layer and head at every position, as HF does
    seed: int = 0
    distinct_batches: int = 4
    device: str = "cpu"  # what petra.device.resolve_device takes: cpu, cuda, cuda:N


@dataclass
class SideStats:
    """Per-round measurements of one model at one precision."""

    name: str
    parameters: int
    tokens_per_s: list[float] = field(default_factory=list)
    # Tokens per second of this process's CPU time: on a shared machine, wall time also counts the
    # time other processes held the cores; with one thread, CPU time is the work done.
    tokens_per_cpu_s: list[float] = field(default_factory=list)
    cpu_share: list[float] = field(default_factory=list)  # CPU time / (wall time x threads)
    mfu: list[float] = field(default_factory=list)
    hfu: list[float] = field(default_factory=list)
    model_flops_per_step: float = 0.0
    resident_bytes: int = 0
    peak_step_bytes: int = 0
    profile: str = ""

    @property
    def peak_memory_bytes(self) -> int:
        return self.resident_bytes + self.peak_step_bytes


@dataclass
class PrecisionResult:
    precision: Precision
    petra: SideStats
    hf: SideStats
    peak_flops: list[float] = field(default_factory=list)  # measured matmul peak per round
    best_gemm: tuple[int, int, int] = (0, 0, 0)

    @property
    def ratios(self) -> list[float]:
        """petra tokens/s over HF tokens/s, within each round."""
        return [p / h for p, h in zip(self.petra.tokens_per_s, self.hf.tokens_per_s)]

    @property
    def cpu_ratios(self) -> list[float]:
        """The same ratio in tokens per CPU-second."""
        return [p / h for p, h in zip(self.petra.tokens_per_cpu_s, self.hf.tokens_per_cpu_s)]


@dataclass
class BenchResult:
    config: BenchConfig
    threads: int
    results: list[PrecisionResult]
    seconds: float
    max_rss_bytes: int


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


@dataclass(frozen=True)
class Chunk:
    """A few timed steps of one model: seconds, tokens, and FLOPs needed / executed."""

    seconds: float
    cpu_seconds: float  # CPU time of this process (all its threads) over the same steps
    tokens: int
    model_flops: int
    executed_flops: int


def timed_steps(trainee: Trainee, batches: list[MLMBatch], shape: ModelShape, precision: str) -> Chunk:
    device = next(trainee.model.parameters()).device
    synchronize(device)
    begin, begin_cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        train_step(trainee, batch, precision)
    synchronize(device)  # CUDA queues work: time it done, not launched
    seconds, cpu_seconds = time.perf_counter() - begin, time.process_time() - begin_cpu
    return Chunk(
        seconds, cpu_seconds, sum(b.tokens for b in batches),
        sum(train_step_flops(shape, model_work(b.masked, trainee.head_transform)) for b in batches),
        sum(train_step_flops(shape, trainee.work(b)) for b in batches),
    )


def _side(trainee: Trainee) -> SideStats:
    return SideStats(trainee.name, trainee.parameters)


def bench_precision(
    config: BenchConfig, precision: Precision, petra: Trainee, hf: Trainee, batches: list[MLMBatch],
    profile_rows: int, on_round: Callable[[str], None] | None = None,
) -> PrecisionResult:
    shape = config.shape
    masked = round(statistics.mean(b.masked for b in batches))
    result = PrecisionResult(precision, _side(petra), _side(hf))
    device = next(petra.model.parameters()).device
    sides = {petra.name: (petra, result.petra), hf.name: (hf, result.hf)}
    for trainee, _ in sides.values():
        for i in range(config.warmup):
            train_step(trainee, batches[i % len(batches)], precision)
    for index in range(config.rounds):
        peak = measure_peak(gemm_shapes(shape, masked), precision, device=device)
        result.peak_flops.append(peak.flops_per_second)
        result.best_gemm = peak.best_shape
        chosen = [batches[(index * config.steps + i) % len(batches)] for i in range(config.steps)]
        order = list(sides.values()) if index % 2 == 0 else list(sides.values())[::-1]
        for trainee, stats in order:
            chunk = timed_steps(trainee, chosen, shape, precision)
            stats.tokens_per_s.append(chunk.tokens / chunk.seconds)
            stats.tokens_per_cpu_s.append(chunk.tokens / max(chunk.cpu_seconds, 1e-9))
            stats.cpu_share.append(chunk.cpu_seconds / (chunk.seconds * torch.get_num_threads()))
            stats.mfu.append(chunk.model_flops / chunk.seconds / peak.flops_per_second)
            stats.hfu.append(chunk.executed_flops / chunk.seconds / peak.flops_per_second)
            stats.model_flops_per_step = chunk.model_flops / len(chosen)
        if on_round is not None:
            on_round(f"{precision} round {index + 1}/{config.rounds}: petra {result.petra.tokens_per_s[-1]:,.0f} tok/s, "
                     f"transformers {result.hf.tokens_per_s[-1]:,.0f} tok/s")
    for trainee, stats in sides.values():
        profiled: StepProfile = profile_step(lambda t=trainee: train_step(t, batches[0], precision), profile_rows, device)
        stats.resident_bytes = resident_bytes(trainee.model, trainee.optimizer)
        stats.peak_step_bytes, stats.profile = profiled.peak_step_bytes, profiled.table
    return result


def run_bench(
    config: BenchConfig, profile_rows: int = 15, on_round: Callable[[str], None] | None = None
) -> BenchResult:
    """Build both models once per precision (fresh weights and optimizer state) and alternate."""
    import resource

    from petra.device import resolve_device

    config.shape.validate()
    device = resolve_device(config.device)
    start = time.perf_counter()
    batches = [b.to(device) for b in random_batches(config.shape, config.distinct_batches, config.mask_prob, config.seed)]
    results = []
    for precision in config.precisions:
        torch.manual_seed(config.seed)
        petra = petra_trainee(config.shape, config.dropout, config.encoding, config.fused_adamw, config.full_head, device)
        torch.manual_seed(config.seed)
        hf = hf_trainee(config.shape, config.dropout, config.fused_adamw, device)
        petra.model.train()
        hf.model.train()
        results.append(bench_precision(config, precision, petra, hf, batches, profile_rows, on_round))
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return BenchResult(config, torch.get_num_threads(), results, time.perf_counter() - start, max_rss)
