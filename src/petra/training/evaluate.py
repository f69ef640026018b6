"""Accuracy of a model's task head on an encoded corpus."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, EncodedCorpus, batches, collate
from petra.models import PetraModel
from petra.models.language import set_language
from petra.tasks import parse


@torch.no_grad()
def predict_probs(model: PetraModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Class probabilities; averaged over K forward passes when the PE asks for it
    (random_gaussian with eval_mode='average' draws fresh positions each pass)."""
    draws = getattr(model.encoding, "eval_draws", 1)
    probs = sum(model(ids, mask, head="task").softmax(-1) for _ in range(draws))
    return probs / draws


@torch.no_grad()
def sentence_scores(model: PetraModel, corpus: EncodedCorpus, task_type: str, pad_id: int,
                    batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence of ``corpus`` (in its order): labels predicted right, and labels scored (1 per
    sentence for the sequence task, its labelled tokens for the token task, its words with LAS for
    parsing). Paired comparisons
    of two models resample these sentences (petra.metrics.compare)."""
    if task_type == "parse":  # labelled attachment: right head and relation, per word
        scored = parse.scores(model, corpus, pad_id, punct=None)
        return scored.las, scored.words
    model.eval()
    correct, total = np.zeros(len(corpus), dtype=np.int64), np.zeros(len(corpus), dtype=np.int64)
    start, device = 0, next(model.parameters()).device
    for batch in batches(corpus, batch_size, pad_id):
        set_language(model, batch.lang)
        predicted = predict_probs(model, batch.ids.to(device), batch.mask.to(device)).argmax(-1).cpu()
        rows = slice(start, start + len(batch.ids))
        if task_type == "sequence":
            correct[rows], total[rows] = (predicted == batch.labels).numpy(), 1
        else:
            labelled = batch.tags != IGNORE
            correct[rows] = ((predicted == batch.tags) & labelled).sum(-1).numpy()
            total[rows] = labelled.sum(-1).numpy()
        start += len(batch.ids)
    return correct, total


def accuracy(model: PetraModel, corpus: EncodedCorpus, task_type: str, pad_id: int, batch_size: int = 256) -> float:
    correct, total = sentence_scores(model, corpus, task_type, pad_id, batch_size)
    return int(correct.sum()) / max(int(total.sum()), 1)


@torch.no_grad()
def bounded_loss(model: PetraModel, corpus: EncodedCorpus, task_type: str, pad_id: int, loss: str,
                 clip: float) -> tuple[float, float]:
    """(mean bounded loss, accuracy) over every labelled unit (sentence or token) of ``corpus``:
    ``loss`` zero_one, or cross_entropy clipped to [0, ``clip``] (a bounded loss, as the gap bound needs)."""
    model.eval()
    order = np.argsort([len(x) for x in corpus.ids], kind="stable")  # little padding per batch
    loss_sum = correct = count = 0.0
    device = next(model.parameters()).device
    for start in range(0, len(order), 256):
        batch = collate(corpus, order[start : start + 256].tolist(), pad_id).to(device)
        logits = model(batch.ids, batch.mask, head="task")
        targets = batch.labels if task_type == "sequence" else batch.tags
        keep = targets != IGNORE
        logits, targets = logits[keep], targets[keep]
        hits = logits.argmax(-1) == targets
        if loss == "zero_one":
            losses = (~hits).float()
        else:
            losses = F.cross_entropy(logits, targets, reduction="none").clamp(max=clip)
        loss_sum += float(losses.sum())
        correct += float(hits.sum())
        count += int(keep.sum())
    return loss_sum / count, correct / count
