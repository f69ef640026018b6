"""Length generalization behind ``petra lengthgen``: train on input lengths ≤ N, test on N+1 … M.

The setting of Ruoss et al. (2023), "Randomized Positional Encodings Boost Length Generalization
of Transformers" (their public example script), shrunk to 2 CPU cores: an encoder-only
Transformer, non-autoregressive (input followed by blank tokens; see
:mod:`petra.data.algorithmic`), every training step a fresh batch of one input length drawn
uniformly from 1..N, evaluation on every length 1..M, and the paper's score: mean accuracy
over the lengths above N.

One *unit* = (task, encoding, seed). The training stream depends on (task, seed) only and the
evaluation sets on (task, length) only, so encodings are compared on identical data, paired by
seed. ``learned`` has a row for every position up to ``model.max_len``, which must cover the
longest test sequence; rows beyond the training lengths (2N for reverse string) are never
trained and stay at their initialisation — that is the point of the comparison, not a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from petra.config import ExperimentConfig, ModelConfig, OptimConfig, RunSection
from petra.data.algorithmic import PAD_ID, TASKS, AlgorithmicTask, build_task
from petra.device import prepare_unit
from petra.encodings import LENGTHGEN_DEFAULT, check_covers
from petra.experiments.executors import run_units
from petra.seeding import seed_everything, stage_seed
from petra.models import HeadSpec, build_model
from petra.training.loop import train
from petra.training.objectives import JointObjective

TaskName = Literal["reverse_string", "duplicate_string", "parity_check", "modular_arithmetic", "binary_addition", "bucket_sort"]


class LengthgenTrain(OptimConfig):
    epochs: int = Field(1, ge=1, le=1, description="fixed at 1: every step draws fresh data; set 'steps'")
    steps: int = Field(2000, gt=0, description="optimizer steps; each a fresh batch of one input length in 1..N")
    batch_size: int = Field(32, gt=0)
    lr: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.0, ge=0)


class LengthgenRun(RunSection):
    output_dir: Path = Path("runs/lengthgen")


def _default_model() -> ModelConfig:
    # No dropout: every step sees fresh data, so there is nothing to overfit. max_len 128 covers
    # reverse string's longest test sequence (64 inputs + 64 blanks) for `learned`.
    return ModelConfig(dim=64, layers=2, heads=4, ffn_dim=128, dropout=0.0, max_len=128)


class LengthgenConfig(ExperimentConfig):
    SCHEDULING = (*ExperimentConfig.SCHEDULING, "tasks", "reference")  # a unit names its task; reference is analysis

    experiment: Literal["lengthgen"] = "lengthgen"
    name: str = "lengthgen"
    tasks: list[TaskName] = Field(default_factory=lambda: ["reverse_string"], min_length=1)
    task_options: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="per-task options, e.g. {reverse_string: {alphabet: 2}, modular_arithmetic: {modulus: 5}}"
    )
    encodings: list[str] = Field(default_factory=lambda: list(LENGTHGEN_DEFAULT), min_length=1)
    reference: str | None = Field(None, description="the PE every other is compared with on unseen lengths, paired "
                                  "by seed (default: the first of encodings)")
    train_max_length: int = Field(16, ge=1, description="N: training input lengths are 1..N")
    test_max_length: int = Field(64, ge=2, description="M: evaluation on every input length 1..M")
    eval_samples: int = Field(64, gt=0, description="test examples per length")
    data_seed: int = Field(1234, description="seed of the evaluation sets (shared by every PE and seed)")
    model: ModelConfig = Field(default_factory=_default_model)
    train: LengthgenTrain = LengthgenTrain()
    run: LengthgenRun = LengthgenRun()

    @model_validator(mode="before")
    @classmethod
    def _model_defaults(cls, data):
        # A partial `model:` section keeps this experiment's model defaults, not ModelConfig's.
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            data = {**data, "model": {**_default_model().model_dump(), **data["model"]}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> LengthgenConfig:
        if self.test_max_length <= self.train_max_length:
            raise ValueError(f"test_max_length ({self.test_max_length}) must exceed train_max_length ({self.train_max_length})")
        unknown = sorted(set(self.task_options) - set(self.tasks))
        if unknown:
            raise ValueError(f"task_options names tasks not in 'tasks': {unknown}")
        if self.reference is not None and self.reference not in self.encodings:
            raise ValueError(f"reference {self.reference!r} is not one of encodings {self.encodings}")
        longest = max(self.task(name).sequence_length(self.test_max_length) for name in self.tasks)
        check_covers(self.encodings, self.model, longest, "the longest test sequence, input and blanks")
        return self

    @property
    def compared_to(self) -> str:
        return self.reference or self.encodings[0]

    def task(self, name: str) -> AlgorithmicTask:
        return build_task(name, **self.task_options.get(name, {}))


@dataclass(frozen=True)
class LengthRecord:
    task: str
    encoding: str
    seed: int
    length: int  # input length n
    accuracy: float  # per output token
    in_distribution: bool  # n <= N
    train_seconds: float
    final_loss: float  # mean training loss over the last 100 steps


def run_unit(config: LengthgenConfig, task_name: str, encoding: str, seed: int) -> list[LengthRecord]:
    device = prepare_unit(config.run.threads, config.run.device)
    task, N, t = config.task(task_name), config.train_max_length, config.train
    seed_everything(stage_seed(seed, task_name, encoding, "init"))
    model = build_model(config.model, encoding, task.vocab_size, {"task": HeadSpec("token", task.output_size)}).to(device)
    rng = np.random.default_rng(stage_seed(seed, task_name, "data"))  # same stream for every PE

    def stream(_epoch: int):
        for _ in range(t.steps):
            yield task.batch(rng, t.batch_size, int(rng.integers(1, N + 1)))

    objective = JointObjective("token")
    result = train(model, stream, objective, t, t.steps)
    torch.manual_seed(stage_seed(seed, task_name, encoding, "eval"))  # random PEs sample at test time too
    records = []
    for n in range(1, config.test_max_length + 1):
        corpus = task.corpus(np.random.default_rng(stage_seed(config.data_seed, task_name, "eval", str(n))), config.eval_samples, n)
        acc = objective.task.scores(model, corpus, PAD_ID, labels=None).accuracy
        records.append(LengthRecord(task_name, encoding, seed, n, acc, n <= N, result.seconds, float(np.mean(result.losses[-100:]))))
    return records


@dataclass(frozen=True)
class LengthgenResults:
    records: list[LengthRecord]  # in unit order (task, encoding, seed), whatever order the units finished in
    failures: list[str]
    reused: int = 0  # units found finished in the store


def units(config: LengthgenConfig) -> list[tuple[str, str, int]]:
    return [(task, e, s) for task in config.tasks for e in config.encodings for s in config.seeds]


def run(config: LengthgenConfig, executor=None, on_unit_done: Callable[[str, str, int], None] | None = None,
        store=None) -> LengthgenResults:
    """Every (task, encoding, seed) unit on ``executor``, kept in ``store`` as it finishes (see run_units)."""
    done = run_units(config, run_unit, units(config), lambda unit: (config, *unit), executor, on_unit_done, store)
    records = [r for unit in done.results if unit is not None for r in unit]
    return LengthgenResults(records, [f for _, f in done.failures], done.reused)


__all__ = ["LengthgenConfig", "LengthRecord", "TASKS", "run", "run_unit"]
