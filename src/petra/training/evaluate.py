"""Accuracy of a model's task head on an encoded corpus."""

from __future__ import annotations

import torch

from petra.data.batches import IGNORE, EncodedCorpus, batches
from petra.models import PetraModel
from petra.models.language import set_language


@torch.no_grad()
def predict_probs(model: PetraModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Class probabilities; averaged over K forward passes when the PE asks for it
    (random_gaussian with eval_mode='average' draws fresh positions each pass)."""
    draws = getattr(model.encoding, "eval_draws", 1)
    probs = sum(model(ids, mask, head="task").softmax(-1) for _ in range(draws))
    return probs / draws


@torch.no_grad()
def accuracy(model: PetraModel, corpus: EncodedCorpus, task_type: str, pad_id: int, batch_size: int = 256) -> float:
    model.eval()
    correct = total = 0
    for batch in batches(corpus, batch_size, pad_id):
        set_language(model, batch.lang)
        predicted = predict_probs(model, batch.ids, batch.mask).argmax(-1)
        if task_type == "sequence":
            correct += int((predicted == batch.labels).sum())
            total += len(batch.labels)
        else:
            labelled = batch.tags != IGNORE
            correct += int((predicted[labelled] == batch.tags[labelled]).sum())
            total += int(labelled.sum())
    return correct / max(total, 1)
