"""Word labelling (UPOS, or the relation of each word to its head): a label per word, on its first
sub-word (XTREME's protocol), scored by accuracy over words."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, Batch, EncodedCorpus
from petra.data.vocab import LabelSet
from petra.models import PetraModel
from petra.tasks.base import WORD_LABELS, Scored, Task, word_scores
from petra.tasks.registry import register


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over labelled positions; 0 (not NaN) when a batch has none, e.g. nothing masked."""
    total = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction="sum")
    return total / (targets != IGNORE).sum().clamp(min=1)


@register
class TokenTask(Task):
    name = "token"
    description = "a label per word (task.labels: upos, deprel or udeprel)"
    head = "token"
    label_kinds = WORD_LABELS
    hf_head = "token"

    @property
    def predicts(self) -> str:
        return self.labels  # upos, deprel, udeprel

    def loss(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        return token_cross_entropy(model(batch.ids, batch.mask, head="task"), batch.tags)

    def scores(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet) -> Scored:
        correct, total, _ = word_scores(model, corpus, pad_id)
        return Scored(correct, total)
