"""The k target sentences one fine-tuning trains on, and the test sentences it is scored on, as a unit
draws them: the same k sentences for every PE and recipe at a seed (a paired comparison), drawn
outside the held-out fold under test folds, with augmentation drawn from a source where configured,
and read by the tokenizer that fine-tuning's k sentences grew (``finetune.extend_vocab``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from petra.data.augmenters import Augmenters
from petra.data.batches import EncodedCorpus, subset
from petra.data.sentence import Sentence
from petra.data.tokenize import AnyTokenizer
from petra.data.vocab_extension import Extension, extend
from petra.data.word_labels import encode_sentences
from petra.experiments.transfer_config import Config
from petra.experiments.transfer_data import SourceData, TargetData, TransferData
from petra.models import PetraModel
from petra.seeding import stage_seed
from petra.tasks import Task


class ShotSets:
    """A unit's k-shot draws (``pretrained(source)``: the model augmentation reads, made on first use)."""

    def __init__(self, config: Config, data: TransferData, task: Task, seed: int,
                 pretrained: Callable[[SourceData], PetraModel]) -> None:
        self.config, self.data, self.task, self.seed, self.pretrained = config, data, task, seed, pretrained
        self._augmenters: dict[str, Augmenters] = {}

    def drawn(self, target: TargetData, k: int, fold: int | None) -> tuple[list[Sentence], np.random.Generator]:
        """k sentences of the target's pool (outside the held-out ``fold``), the same for every PE at
        this seed, and the generator that drew them (augmentation draws on from it)."""
        parts = (str(k), "sample") if fold is None else (str(k), f"fold{fold}", "sample")
        rng = np.random.default_rng(stage_seed(self.seed, target.name, *parts))
        return target.pool.draw(k, rng, fold), rng

    def grown(self, target: TargetData, k: int, fold: int | None) -> Extension:
        """The run's tokenizer grown with pieces of this fine-tuning's k sentences and the target's
        ``text:`` (``finetune.extend_vocab``; itself when off): the same for scratch and every recipe."""
        sentences = self.drawn(target, k, fold)[0] + self.data.text.get(target.name, [])
        return extend(self.data.tokenizer, sentences, self.config.finetune.extend_vocab, self.config.tokenizer)

    def test_set(self, target: TargetData, fold: int | None, grown: Extension) -> tuple[EncodedCorpus, list[int]]:
        """The test sentences this fine-tuning is scored on (and their rows), read by its tokenizer."""
        test_set, rows = target.scored(fold)
        if not grown.added:
            return test_set, rows
        every, _ = encode_sentences(target.test_sentences, grown.tokenizer, self.data.labels, self.task.word_labels,
                                    self.config.model.max_len, target.lang)
        return subset(every, rows), rows

    def encoded(self, target: TargetData, k: int, fold: int | None, source: SourceData | None,
                tokenizer: AnyTokenizer) -> EncodedCorpus:
        """The drawn k sentences, plus augmentation drawn from ``source`` when configured, encoded."""
        sentences, rng = self.drawn(target, k, fold)
        if source is not None:
            if source.name not in self._augmenters:
                self._augmenters[source.name] = Augmenters.build(self.config.finetune.augment, source.reorder,
                                                                 self.pretrained(source), self.data.tokenizer)
            sentences = self._augmenters[source.name].apply(sentences, target.order, rng)
        corpus, _ = encode_sentences(sentences, tokenizer, self.data.labels, self.task.word_labels,
                                     self.config.model.max_len, target.lang)
        return corpus
