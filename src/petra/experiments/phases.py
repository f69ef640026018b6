"""Resumable phases of a unit: a JSON log of finished phase results and per-phase checkpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from petra.config import OptimConfig
from petra.data.batches import EncodedCorpus, batches
from petra.data.mixing import mixed_epochs
from petra.data.vocab import LabelSet
from petra.experiments.lockstep import train_phase
from petra.models import PetraModel
from petra.tasks import Task
from petra.training.checkpoint import Checkpointer, atomic_write_json
from petra.training.loop import Objective, TrainResult, train


class PhaseLog:
    """Results of finished phases in ``work/phases.json``; without a work folder, memory only."""

    def __init__(self, work: Path | None, checkpoint_every: int) -> None:
        self.work, self.every = work, checkpoint_every
        self.path = work / "phases.json" if work else None
        self.done: dict[str, Any] = json.loads(self.path.read_text()) if self.path and self.path.is_file() else {}
        self.reused = len(self.done)  # phases an earlier attempt finished
        self.loaded: list[tuple[str, int]] = []  # (phase, step) of each checkpoint an earlier attempt left

    def resumed(self) -> str | None:
        """What this attempt took over from an earlier one ('' parts omitted); None: it started afresh."""
        parts = [f"{self.reused} finished phase(s)"] if self.reused else []
        parts += [f"{phase} from its step-{step} checkpoint" for phase, step in self.loaded]
        return ", ".join(parts) or None

    def once(self, name: str, compute: Callable[[], Any]) -> Any:
        """The logged result of phase ``name``, computing (and logging) it the first time."""
        if name not in self.done:
            self.record(name, compute())
        return self.done[name]

    def record(self, name: str, value: Any) -> None:
        self.done[name] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.done, self.path)

    def checkpointer(self, phase: str, at_end: bool = True) -> Checkpointer | None:
        return Checkpointer(self.work / f"{phase}.ckpt", self.every, at_end, self.loaded) if self.work else None

    def discard_checkpoint(self, phase: str) -> None:
        if self.work is not None:
            (self.work / f"{phase}.ckpt").unlink(missing_ok=True)


def fit(
    model: PetraModel, corpus: EncodedCorpus, objective: Objective, cfg: OptimConfig, pad_id: int, seed: int,
    checkpointer: Checkpointer | None = None, evaluate: Callable[[PetraModel], float] | None = None,
    eval_every: int = 0, on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train on ``corpus`` for ``cfg.epochs``; epoch e's batch order depends only on (seed, e),
    which is what lets a resumed run replay the exact batches it had not yet seen."""
    steps = -(-len(corpus) // cfg.batch_size)
    return train(
        model, lambda epoch: batches(corpus, cfg.batch_size, pad_id, np.random.default_rng([seed, epoch])),
        objective, cfg, steps, checkpointer=checkpointer, evaluate=evaluate, eval_every=eval_every, on_step=on_step,
    )


def fit_mixture(
    model: PetraModel, corpora: list[EncodedCorpus], probabilities, objective: Objective, cfg: OptimConfig,
    pad_id: int, seed: int, checkpointer: Checkpointer | None = None, steps: int | None = None,
    evaluate: Callable[[PetraModel], float] | None = None, eval_every: int = 0,
) -> TrainResult:
    """Like :func:`fit` over several languages, each step's language drawn from ``probabilities``.
    In a run.ensemble group, trained with the group's other units as one batched model where it can
    (petra.experiments.lockstep)."""
    epoch_batches, natural = mixed_epochs(corpora, probabilities, cfg.batch_size, pad_id, seed, steps)
    return train_phase(model, epoch_batches, objective, cfg, steps or natural, checkpointer, evaluate, eval_every,
                       single_corpus=len(corpora) == 1)


def seeded_scores(model: PetraModel, corpus: EncodedCorpus, task: Task, pad_id: int, seed: int, labels: LabelSet) -> dict:
    """The task's scores under a fixed RNG (random PEs draw at evaluation), leaving the global RNG as
    it was: accuracy, per-sentence labels right and scored, the task's other counts and breakdown."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        scored = task.scores(model, corpus, pad_id, labels)
    return {"accuracy": scored.accuracy, "correct": scored.correct.tolist(), "total": scored.total.tolist(),
            "counts": scored.counts, "breakdown": scored.breakdown}


def seeded_accuracy(model: PetraModel, corpus: EncodedCorpus, task: Task, pad_id: int, seed: int, labels: LabelSet) -> float:
    return seeded_scores(model, corpus, task, pad_id, seed, labels)["accuracy"]
