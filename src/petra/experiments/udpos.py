"""UD-POS cross-lingual transfer on real treebanks (the XTREME setup, Hu et al. 2020).

Optional masked-LM pretraining on the raw text of the pretraining mix, POS fine-tuning on the
source treebank (default English-EWT), then for every target: zero-shot accuracy, and k-shot
fine-tuning on k target sentences (from its train split, or dev when it has none; test-only
treebanks are zero-shot only) beside a from-scratch model trained on the same sentences with the
same budget. One *unit* = (encoding, seed); units run in parallel processes.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from petra.config import ModelConfig, OptimConfig, RunConfig, Section, check_encodings_fit, load_config
from petra.data.augment import ORDERS
from petra.data.batches import IGNORE, Batch, EncodedCorpus, batches, mask_for_mlm
from petra.data.tokenize import TokenizerConfig, encode_sentences
from petra.experiments.seeding import seed_everything, stage_seed
from petra.experiments.udpos_data import UdPosData, augment_shots, build_augmenters, prepare_data
from petra.models import HeadSpec, PetraModel, build_model
from petra.training.evaluate import accuracy
from petra.training.loop import train
from petra.training.objectives import JointObjective

# --- configuration ------------------------------------------------------------------------------


class UdDataConfig(Section):
    source: str = Field("English-EWT", description="UD treebank name, or a folder saved by `datasets`")
    targets: list[str] | Literal["all"] = Field(
        default_factory=lambda: ["Turkish-IMST", "Japanese-GSD", "Hindi-PUD", "Irish-IDT", "Wolof-WTB"],
        description="treebanks to transfer to; 'all' = every treebank in the data folder but the source",
    )
    mix: list[str] = Field(
        default_factory=lambda: ["source", "targets"],
        description="raw text of the pretraining mix (tokenizer + masked-LM): treebank names, 'source', 'targets'",
    )
    mix_sentences: int | None = Field(None, gt=0, description="cap per treebank in the mix (train split, else dev)")
    source_train: int | None = Field(None, gt=0, description="cap on source training sentences (None = all)")
    test: int | None = Field(None, gt=0, description="cap on test sentences per language (seeded sample)")
    seed: int = 1234


class MLMConfig(OptimConfig):
    enabled: bool = False
    mask_prob: float = Field(0.15, gt=0, lt=1)
    epochs: int = Field(3, gt=0)


class SourceTrainConfig(OptimConfig):
    token_dropout: float = Field(
        0.0, ge=0, lt=1, description="share of input sub-words replaced by [MASK] while training the tagger"
    )


class KShotConfig(OptimConfig):
    shots: list[int] = Field(default_factory=lambda: [0, 10, 100, 1000], min_length=1)
    epochs: int = Field(20, gt=0)
    batch_size: int = Field(16, gt=0)
    lr: float = Field(5e-4, gt=0)
    warmup_steps: int = Field(10, ge=0)

    @model_validator(mode="after")
    def _non_negative(self) -> KShotConfig:
        if any(k < 0 for k in self.shots):
            raise ValueError(f"shots must be >= 0, got {self.shots}")
        return self


class ReorderConfig(Section):
    """Add source sentences re-ordered to the target's basic word order to its k-shot set."""

    order: str = Field("auto", description="SVO, SOV, VSO, VOS, OVS, OSV, or 'auto' (the target's dominant order)")
    flip_adpositions: bool = False
    flip_adjectives: bool = False
    source_sentences: int = Field(200, gt=0)

    @model_validator(mode="after")
    def _known_order(self) -> ReorderConfig:
        if self.order != "auto" and self.order.upper() not in ORDERS:
            raise ValueError(f"order must be 'auto' or one of {', '.join(ORDERS)}, got {self.order!r}")
        return self


class SynonymConfig(Section):
    """Add ``copies`` synonym-swapped copies of each k-shot sentence."""

    lexicon: Path | None = Field(None, description="TSV: word<TAB>synonym[<TAB>...]")
    vectors: Path | None = Field(None, description="word2vec text file; nearest neighbours are synonyms")
    model_embeddings: bool = Field(False, description="nearest neighbours in the source-trained model's embeddings")
    k: int = Field(5, gt=0)
    min_similarity: float = Field(0.5, ge=-1, le=1)
    prob: float = Field(0.2, gt=0, le=1)
    copies: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> SynonymConfig:
        given = [self.lexicon is not None, self.vectors is not None, self.model_embeddings]
        if sum(given) != 1:
            raise ValueError("give exactly one of lexicon, vectors, model_embeddings")
        return self


class BackTranslationConfig(Section):
    """Add a word-level back-translated copy of each k-shot sentence."""

    forward_model: Path | None = Field(None, description="local HF seq2seq folder: target -> pivot")
    backward_model: Path | None = Field(None, description="local HF seq2seq folder: pivot -> target")
    dictionary: Path | None = Field(None, description="TSV target<TAB>pivot, used both ways")

    @model_validator(mode="after")
    def _one_kind(self) -> BackTranslationConfig:
        models = self.forward_model is not None and self.backward_model is not None
        if models == (self.dictionary is not None):
            raise ValueError("give forward_model + backward_model, or dictionary")
        return self


class AugmentConfig(Section):
    reorder: ReorderConfig | None = None
    synonyms: SynonymConfig | None = None
    back_translation: BackTranslationConfig | None = None


class UdRunConfig(RunConfig):
    threads: int = Field(1, gt=0, description="torch threads per unit; more than one helps only on idle cores")


class UdPosConfig(Section):
    name: str = "ud_pos"
    encodings: list[str] = Field(default_factory=lambda: ["sinusoidal", "learned", "rope", "random_gaussian"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    model: ModelConfig = ModelConfig(dim=128, layers=2, heads=4, ffn_dim=256, max_len=128)
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: UdDataConfig = UdDataConfig()
    pretrain: MLMConfig = MLMConfig()
    finetune: SourceTrainConfig = SourceTrainConfig(epochs=8, batch_size=32, lr=2e-3, warmup_steps=100)
    kshot: KShotConfig = KShotConfig()
    augment: AugmentConfig = AugmentConfig()
    run: UdRunConfig = UdRunConfig(output_dir=Path("runs/ud_pos"))

    @model_validator(mode="after")
    def _encodings_exist(self) -> UdPosConfig:
        check_encodings_fit(self.encodings, self.model.architecture)
        return self


def load_udpos_config(path: str | Path, overrides: dict[str, Any] | None = None) -> UdPosConfig:
    """Read and validate a YAML config; ``overrides`` are merged per top-level section."""
    return load_config(path, overrides, schema=UdPosConfig)


# --- one unit: (encoding, seed) -----------------------------------------------------------------


@dataclass(frozen=True)
class UdPosRecord:
    """One (encoding, seed, target, k) cell. k = 0 is zero-shot: no fine-tuning, no scratch model."""

    encoding: str
    seed: int
    target: str
    shots: int
    accuracy: float  # target test accuracy of the transferred model
    scratch_accuracy: float  # same k sentences and budget, no source training (NaN for k = 0)
    source_accuracy: float  # in-language accuracy on the source test split
    train_sentences: int  # k plus augmented sentences
    pool_split: str  # where the k sentences came from: train, dev, or '' for zero-shot
    pretrain_seconds: float
    source_seconds: float
    kshot_seconds: float

    @property
    def gain(self) -> float:
        return self.accuracy - self.scratch_accuracy


@dataclass(frozen=True)
class SourceRecord:
    """The source-trained model of one unit, scored in-language (the source test split)."""

    encoding: str
    seed: int
    source: str
    accuracy: float
    pretrain_seconds: float
    source_seconds: float


@dataclass(frozen=True)
class UnitResult:
    source: SourceRecord
    targets: list[UdPosRecord]


@dataclass
class SparseMLM:
    """BERT masked-LM, but logits only at the masked positions: with a vocabulary of thousands the
    output layer is most of the work, and 85% of its rows would be thrown away."""

    mask_id: int
    vocab_size: int
    mask_prob: float
    generator: torch.Generator

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        inputs, targets = mask_for_mlm(batch, self.vocab_size, self.mask_id, self.mask_prob, self.generator)
        picked = targets != IGNORE
        hidden = model.encoder(inputs, batch.mask)
        if not bool(picked.any()):
            return hidden.sum() * 0.0
        return F.cross_entropy(model.heads["mlm"](hidden[picked], picked), targets[picked])


@dataclass
class TokenDropout:
    """Word dropout for the tagger (Kiperwasser & Goldberg 2016, sec. 4; Iyyer et al. 2015): hide
    a share of the input sub-words behind [MASK], so a tag must also be read from its context,
    which is all a model has for words it never saw in training."""

    objective: Callable[[PetraModel, Batch], torch.Tensor]
    prob: float
    mask_id: int
    generator: torch.Generator

    def __call__(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        hide = (torch.rand(batch.ids.shape, generator=self.generator) < self.prob) & batch.mask
        return self.objective(model, replace(batch, ids=batch.ids.masked_fill(hide, self.mask_id)))


def _fit(model: PetraModel, corpus: EncodedCorpus, objective, cfg: OptimConfig, seed: int) -> float:
    rng = np.random.default_rng(seed)
    steps = math.ceil(len(corpus) / cfg.batch_size)
    return train(model, lambda _: batches(corpus, cfg.batch_size, 0, rng), objective, cfg, steps).seconds


def _new_model(config: UdPosConfig, data: UdPosData, encoding: str, seed: int) -> PetraModel:
    heads = {"task": HeadSpec("token", len(data.labels))}
    if config.pretrain.enabled:
        heads["mlm"] = HeadSpec("token", len(data.tokenizer))
    seed_everything(seed)
    return build_model(config.model, encoding, len(data.tokenizer), heads)


def _encode(data: UdPosData, config: UdPosConfig, sentences) -> EncodedCorpus:
    return encode_sentences(sentences, data.tokenizer, data.labels, "upos", config.model.max_len)[0]


def run_unit(config: UdPosConfig, data: UdPosData, encoding: str, seed: int, threads: int = 1) -> UnitResult:
    """MLM (optional) -> source POS -> per target: zero-shot, then k-shot vs scratch for each k."""
    torch.set_num_threads(threads)
    model = _new_model(config, data, encoding, stage_seed(seed, encoding, "init"))
    pretrain_seconds = 0.0
    if config.pretrain.enabled:
        p = config.pretrain
        generator = torch.Generator().manual_seed(stage_seed(seed, encoding, "mask"))
        mlm = SparseMLM(data.tokenizer.mask_id, len(data.tokenizer), p.mask_prob, generator)
        pretrain_seconds = _fit(model, data.mix, mlm, p, stage_seed(seed, encoding, "pretrain"))
    task = JointObjective("token")
    source_task = task
    if config.finetune.token_dropout:
        generator = torch.Generator().manual_seed(stage_seed(seed, encoding, "token-dropout"))
        source_task = TokenDropout(task, config.finetune.token_dropout, data.tokenizer.mask_id, generator)
    source_seconds = _fit(model, data.source_train, source_task, config.finetune, stage_seed(seed, encoding, "source"))
    source_acc = accuracy(model, data.source_test, "token", 0)
    timing = (pretrain_seconds, source_seconds)
    tools = build_augmenters(config.augment, model, data.tokenizer)
    records = []
    for target in data.targets:
        zero = accuracy(model, target.test, "token", 0)
        records.append(UdPosRecord(encoding, seed, target.name, 0, zero, math.nan, source_acc, 0, "", *timing, 0.0))
        for k in config.kshot.shots:
            if k == 0 or len(target.pool) < k:
                continue  # test-only treebanks, and pools smaller than k, are not k-shot targets
            rng = np.random.default_rng(stage_seed(seed, target.name, str(k), "sample"))
            shots = [target.pool[i] for i in rng.choice(len(target.pool), size=k, replace=False)]
            shots = augment_shots(shots, target, data, config.augment, tools, rng)
            corpus = _encode(data, config, shots)
            fit_seed = stage_seed(seed, encoding, target.name, str(k), "finetune")
            tuned = copy.deepcopy(model)
            seconds = _fit(tuned, corpus, task, config.kshot, fit_seed)
            scratch = _new_model(config, data, encoding, stage_seed(seed, encoding, target.name, str(k), "scratch"))
            _fit(scratch, corpus, task, config.kshot, fit_seed)
            records.append(UdPosRecord(
                encoding, seed, target.name, k, accuracy(tuned, target.test, "token", 0),
                accuracy(scratch, target.test, "token", 0), source_acc, len(shots), target.pool_split, *timing, seconds,
            ))
    return UnitResult(SourceRecord(encoding, seed, data.source, source_acc, *timing), records)


def run(
    config: UdPosConfig, data_dir: str | Path | None = None, on_unit_done: Callable[[str, int], None] | None = None,
    data: UdPosData | None = None,
) -> tuple[UdPosData, list[UnitResult]]:
    """Every (encoding, seed) unit, in parallel over ``config.run.workers`` processes."""
    data = data or prepare_data(config, data_dir)
    units = [(e, s) for e in config.encodings for s in config.seeds]
    cores = os.cpu_count() or 1
    workers = min(config.run.workers or cores, len(units))
    threads = config.run.threads
    results: list[UnitResult] = []
    for (encoding, seed), result in zip(units, _map_units(config, data, units, workers, threads)):
        results.append(result)
        if on_unit_done is not None:
            on_unit_done(encoding, seed)
    return data, results


def _map_units(config, data, units, workers: int, threads: int) -> Iterable[UnitResult]:
    if workers <= 1:
        yield from (run_unit(config, data, e, s, threads) for e, s in units)
        return
    # spawn, not fork: forking a process that has used torch's thread pools can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_unit, config, data, e, s, threads) for e, s in units]
        yield from (future.result() for future in futures)


__all__ = ["SourceRecord", "UdPosConfig", "UdPosRecord", "UnitResult", "load_udpos_config", "run", "run_unit"]
