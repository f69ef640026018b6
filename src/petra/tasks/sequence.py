"""Sentence classification: which noun is the agent (the label synthetic languages carry)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from petra.data.batches import Batch, EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.vocab import LabelSet
from petra.models import PetraModel
from petra.tasks.base import Scored, Task, predictions
from petra.tasks.registry import register


@register
class SequenceTask(Task):
    name = "sequence"
    description = "which noun is the agent: one label per sentence (synthetic languages)"
    head = "sequence"
    sentence_labels = True
    hf_head = "sequence"

    def num_classes(self, labels: LabelSet, sentences: Sequence[Sentence]) -> int:
        return 1 + max(s.label for s in sentences)

    def loss(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(model(batch.ids, batch.mask, head="task"), batch.labels)

    def targets(self, batch: Batch) -> torch.Tensor:
        return batch.labels

    def scored_per_sentence(self, corpus: EncodedCorpus) -> np.ndarray:
        return np.ones(len(corpus))

    def scores(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet) -> Scored:
        correct = np.zeros(len(corpus), dtype=np.int64)
        for rows, batch, predicted in predictions(model, corpus, pad_id):
            correct[rows] = (predicted == batch.labels).numpy()
        return Scored(correct, np.ones(len(corpus), dtype=np.int64))
