"""The gap experiment behind ``petra bound``: is the seed analysis's bound
``P(Δ ≥ ε) ≤ exp(−ε²/2σ²)`` on the generalization gap ``Δ = L_test − L_train`` borne out?

One *unit* = (encoding, seed): train a model on the synthetic-language task (any ``task``), then
evaluate ``L_train`` and ``L_test`` (the mean, bounded loss over the whole training and test
sets) under ``gap.draws`` independent PE draws. How a draw is made depends on the encoding:

* a PE that offers explicit draws (``PositionalEncoding.explicit_draws``: random Gaussian vectors)
  is swapped for its seeded stand-in in each ``gap.schemes``: ``shared`` (one N(0, I) table used
  for every example of both splits: Δ is a function of that one draw) or ``per_example`` (an
  independent table for each example: Δ is a function of many independent draws, which is what
  McDiarmid's inequality needs);
* any other stochastic PE - torch's global RNG is reseeded per draw (``random_ordered`` samples a
  position subset per sequence, so its draws are per example);
* a deterministic PE (``fixed``) is evaluated once: its only randomness is the training seed, so
  the pooled check over seeds has one sample per seed.

Analysis (:mod:`petra.experiments.bound_outputs`, with the checks of :mod:`petra.metrics.bound`) runs per
(encoding, scheme, seed) and pooled over seeds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field, model_validator

from petra.config import ExperimentConfig, OptimConfig, RunSection
from petra.data.batches import EncodedCorpus, encode
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.device import prepare_unit
from petra.encodings import BOUND_DEFAULT
from petra.experiments.executors import run_units
from petra.experiments.phases import fit
from petra.seeding import seed_everything, stage_seed
from petra.models import HeadSpec, PetraModel, build_model
from petra.section import Section
from petra.tasks import TaskConfig, get_task, task_class, task_names
from petra.training.evaluate import bounded_loss
from petra.training.objectives import JointObjective

Scheme = Literal["shared", "per_example"]


class GapData(Section):
    language: LanguageSpec = LanguageSpec(name="svo")
    train: int = Field(1000, gt=1, description="training sentences (L_train is measured on all of them)")
    test: int = Field(1000, gt=1, description="held-out sentences (L_test)")
    seed: int = 1234


class GapTrain(OptimConfig):
    epochs: int = Field(20, gt=0)
    lr: float = Field(2e-3, gt=0)


class GapAnalysis(Section):
    draws: int = Field(200, ge=2, description="K: independent PE draws per trained model")
    schemes: list[Scheme] = Field(default_factory=lambda: ["shared", "per_example"], min_length=1)
    loss: Literal["cross_entropy", "zero_one"] = "cross_entropy"
    loss_bound: float = Field(5.0, gt=0, description="B: cross-entropy is clipped to [0, B] (zero_one uses B = 1)")
    confidence: float = Field(0.95, gt=0, lt=1, description="Clopper-Pearson band level")
    grid_points: int = Field(200, ge=10)

    @property
    def bound(self) -> float:
        return 1.0 if self.loss == "zero_one" else self.loss_bound


class GapRun(RunSection):
    output_dir: Path = Path("runs/bound")


class BoundConfig(ExperimentConfig):
    experiment: Literal["bound"] = "bound"
    name: str = "bound"
    encodings: list[str] = Field(default_factory=lambda: list(BOUND_DEFAULT), min_length=1)
    task: TaskConfig = TaskConfig()
    data: GapData = GapData()
    train: GapTrain = GapTrain()
    gap: GapAnalysis = GapAnalysis()
    run: GapRun = GapRun()

    @model_validator(mode="after")
    def _task_has_example_losses(self) -> BoundConfig:
        if not task_class(self.task.type).example_losses:  # the bound is over per-example label losses
            usable = [name for name in task_names() if task_class(name).example_losses]
            raise ValueError(f"task.type {self.task.type!r} has no per-example label loss for the bound: use one of {usable}")
        return self


@dataclass(frozen=True)
class GapDataset:
    vocab: Vocab
    num_classes: int
    train: EncodedCorpus
    test: EncodedCorpus


@dataclass(frozen=True)
class DrawRecord:
    encoding: str
    seed: int
    scheme: str  # shared | per_example (random_gaussian), random (other RNG-driven PEs) | fixed
    draw: int
    train_loss: float
    test_loss: float
    train_accuracy: float
    test_accuracy: float
    train_seconds: float

    @property
    def gap(self) -> float:
        return self.test_loss - self.train_loss


def prepare_data(config: BoundConfig) -> GapDataset:
    d = config.data
    sentences = generate(d.language, d.train + d.test, seed=stage_seed(d.seed, d.language.name))
    train_s, test_s = sentences[: d.train], sentences[d.train :]
    vocab = Vocab.build(w for s in train_s for w in s.words)
    task = get_task(config.task)
    task.check(d.language.name, sentences)
    labels = LabelSet.build(t for s in sentences for t in task.word_labels(s))
    num_classes = task.num_classes(labels, sentences)
    return GapDataset(vocab, num_classes, encode(train_s, vocab, labels, task.word_labels),
                      encode(test_s, vocab, labels, task.word_labels))


def train_model(config: BoundConfig, data: GapDataset, encoding: str, seed: int, device) -> tuple[PetraModel, float]:
    seed_everything(stage_seed(seed, encoding, "init"))
    model = build_model(config.model, encoding, len(data.vocab), {"task": HeadSpec(get_task(config.task).head, data.num_classes)})
    model.to(device)
    objective = JointObjective(get_task(config.task))
    result = fit(model, data.train, objective, config.train, data.vocab.pad_id, stage_seed(seed, encoding, "batches"))
    return model, result.seconds


def _evaluate(model: PetraModel, data: GapDataset, config: BoundConfig) -> tuple[float, float, float, float]:
    def split(corpus: EncodedCorpus) -> tuple[float, float]:
        return bounded_loss(model, corpus, get_task(config.task), data.vocab.pad_id, config.gap.loss, config.gap.loss_bound)

    return (*split(data.train), *split(data.test))


def _draws(model: PetraModel, data: GapDataset, config: BoundConfig, encoding: str, seed: int):
    """Yield (scheme, draw, train_loss, train_acc, test_loss, test_acc) for every draw."""
    K, original = config.gap.draws, model.encoder.encoding
    longest = max(len(x) for x in data.train.ids + data.test.ids)
    if original.explicit_draws(config.gap.schemes[0], 0, longest) is not None:
        for scheme in config.gap.schemes:
            probe = copy.deepcopy(model)
            for k in range(K):
                probe.encoder.encoding = original.explicit_draws(scheme, stage_seed(seed, scheme, str(k)), longest)
                yield (scheme, k, *_evaluate(probe, data, config))
        return
    model.eval()
    if not original.stochastic:  # every further draw would repeat the first
        yield ("fixed", 0, *_evaluate(model, data, config))
        return
    for k in range(K):
        torch.manual_seed(stage_seed(seed, encoding, "draw", str(k)))
        yield ("random", k, *_evaluate(model, data, config))


def run_unit(config: BoundConfig, data: GapDataset, encoding: str, seed: int) -> list[DrawRecord]:
    model, seconds = train_model(config, data, encoding, seed, prepare_unit(config.run.threads, config.run.device))
    return [
        DrawRecord(encoding, seed, scheme, k, tr_loss, te_loss, tr_acc, te_acc, seconds)
        for scheme, k, tr_loss, tr_acc, te_loss, te_acc in _draws(model, data, config, encoding, seed)
    ]


@dataclass(frozen=True)
class BoundResults:
    data: GapDataset
    records: list[DrawRecord]  # in unit order (encoding, then seed), whatever order the units finished in
    failures: list[str]
    reused: int = 0  # units found finished in the store


def units(config: BoundConfig) -> list[tuple[str, int]]:
    return [(e, s) for e in config.encodings for s in config.seeds]


def run(config: BoundConfig, executor=None, on_unit_done: Callable[[str, int], None] | None = None,
        store=None) -> BoundResults:
    """Every (encoding, seed) unit on ``executor``, kept in ``store`` as it finishes (see run_units)."""
    data = prepare_data(config)
    done = run_units(config, run_unit, units(config), lambda unit: (config, data, *unit), executor, on_unit_done, store)
    records = [r for unit in done.results if unit is not None for r in unit]
    return BoundResults(data, records, [f for _, f in done.failures], done.reused)
