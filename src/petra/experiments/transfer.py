"""The transfer experiment: pretrain on the source language, fine-tune on each low-resource
target with every recipe, and train the same target from scratch as the baseline.

One *unit* = (encoding, seed): one pretraining shared by all targets and recipes. Units are
independent, so they run in parallel processes; results do not depend on the worker count.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from petra.config import Config
from petra.data.batches import EncodedCorpus, batches, encode
from petra.data.synthetic import generate
from petra.data.vocab import LabelSet, Vocab
from petra.experiments.seeding import seed_everything, stage_seed
from petra.models import HeadSpec, PetraModel, build_model
from petra.training.evaluate import accuracy
from petra.training.loop import train
from petra.training.objectives import JointObjective, MLMObjective
from petra.training.recipes import apply_recipe, has_pe_parameters


@dataclass(frozen=True)
class TransferData:
    vocab: Vocab
    labels: LabelSet
    num_classes: int
    source_train: EncodedCorpus
    source_test: EncodedCorpus
    targets: dict[str, tuple[EncodedCorpus, EncodedCorpus]]  # name -> (train, test)


@dataclass(frozen=True)
class RunRecord:
    """One fine-tuned model: (encoding, seed, target, recipe) and what it scored."""

    encoding: str
    seed: int
    target: str
    recipe: str
    accuracy: float  # target test accuracy after fine-tuning
    scratch_accuracy: float  # same target data and budget, no pretraining
    zero_shot_accuracy: float  # pretrained model on the target before fine-tuning
    source_accuracy: float  # pretrained model on the source test set
    pretrain_seconds: float
    finetune_seconds: float

    @property
    def gain(self) -> float:
        return self.accuracy - self.scratch_accuracy


def prepare_data(config: Config) -> TransferData:
    """Generate every language's splits and one shared vocabulary (same config -> same data)."""
    d = config.data
    src = generate(d.source, d.source_train + d.test, seed=stage_seed(d.seed, d.source.name))
    tgt = {t.name: generate(t, d.target_train + d.test, seed=stage_seed(d.seed, t.name)) for t in d.targets}
    train_sents = src[: d.source_train] + [w for s in tgt.values() for w in s[: d.target_train]]
    vocab = Vocab.build(w for s in train_sents for w in s.words)
    field = config.task.labels
    labels = LabelSet.build(t for s in src + [w for v in tgt.values() for w in v] for t in s.token_labels(field))
    num_classes = len(labels) if config.task.type == "token" else 1 + max(s.label for s in src)

    def enc(sentences):
        return encode(sentences, vocab, labels, field)

    return TransferData(
        vocab, labels, num_classes, enc(src[: d.source_train]), enc(src[d.source_train :]),
        {name: (enc(s[: d.target_train]), enc(s[d.target_train :])) for name, s in tgt.items()},
    )


def _fit(model: PetraModel, corpus: EncodedCorpus, objective, cfg, pad_id: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    steps = -(-len(corpus) // cfg.batch_size)
    return train(model, lambda _: batches(corpus, cfg.batch_size, pad_id, rng), objective, cfg, steps).seconds


def _new_model(config: Config, data: TransferData, encoding: str, seed: int) -> PetraModel:
    heads = {"task": HeadSpec(config.task.type, data.num_classes)}
    if "mlm" in config.pretrain.objectives:
        heads["mlm"] = HeadSpec("token", len(data.vocab))
    seed_everything(seed)
    return build_model(config.model, encoding, len(data.vocab), heads)


def pretrain(config: Config, data: TransferData, encoding: str, seed: int) -> tuple[PetraModel, float]:
    p = config.pretrain
    model = _new_model(config, data, encoding, stage_seed(seed, encoding, "init"))
    mlm = None
    if "mlm" in p.objectives:
        generator = torch.Generator().manual_seed(stage_seed(seed, encoding, "mask"))
        mlm = MLMObjective(len(data.vocab), data.vocab.mask_id, p.mask_prob, generator)
    objective = JointObjective(config.task.type, p.task_weight if "task" in p.objectives else 0.0, mlm, p.mlm_weight)
    seconds = _fit(model, data.source_train, objective, p, data.vocab.pad_id, stage_seed(seed, encoding, "pretrain"))
    return model, seconds


def run_unit(config: Config, data: TransferData, encoding: str, seed: int) -> list[RunRecord]:
    """Pretrain once, then for each target: zero-shot, every recipe, and the scratch baseline."""
    torch.set_num_threads(1)  # units run in parallel processes; one thread each wastes nothing
    pad, task, f = data.vocab.pad_id, config.task.type, config.finetune
    pretrained, pretrain_seconds = pretrain(config, data, encoding, seed)
    source_acc = accuracy(pretrained, data.source_test, task, pad)
    records = []
    for target, (train_set, test_set) in data.targets.items():
        zero_shot = accuracy(pretrained, test_set, task, pad)
        scratch = _new_model(config, data, encoding, stage_seed(seed, encoding, target, "scratch-init"))
        objective = JointObjective(task)
        _fit(scratch, train_set, objective, f, pad, stage_seed(seed, encoding, target, "finetune"))
        scratch_acc = accuracy(scratch, test_set, task, pad)
        done: dict[str, tuple[float, float]] = {}
        for recipe in f.recipes:
            if recipe == "frozen_pe" and "full" in done and not has_pe_parameters(pretrained):
                done[recipe] = done["full"]  # identical training: nothing of the PE could change
                continue
            model = copy.deepcopy(pretrained)
            apply_recipe(model, recipe)
            seconds = _fit(model, train_set, objective, f, pad, stage_seed(seed, encoding, target, "finetune"))
            done[recipe] = (accuracy(model, test_set, task, pad), seconds)
        records += [
            RunRecord(encoding, seed, target, recipe, acc, scratch_acc, zero_shot, source_acc, pretrain_seconds, sec)
            for recipe, (acc, sec) in done.items()
        ]
    return records


def run(config: Config, on_unit_done: Callable[[str, int], None] | None = None) -> list[RunRecord]:
    """Every (encoding, seed) unit, in parallel over ``config.run.workers`` processes."""
    data = prepare_data(config)
    units = [(e, s) for e in config.encodings for s in config.seeds]
    workers = min(config.run.workers or os.cpu_count() or 1, len(units))
    records: list[RunRecord] = []
    for (encoding, seed), unit_records in zip(units, _map_units(config, data, units, workers)):
        records += unit_records
        if on_unit_done is not None:
            on_unit_done(encoding, seed)
    return records


def _map_units(config: Config, data: TransferData, units, workers: int) -> Iterable[list[RunRecord]]:
    if workers <= 1:
        yield from (run_unit(config, data, e, s) for e, s in units)
        return
    # spawn, not fork: forking a process that has used torch's thread pools can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_unit, config, data, e, s) for e, s in units]
        yield from (future.result() for future in futures)
