"""The bounded loss of a model's task head on an encoded corpus (the gap bound's measure); a task's
own scores are the task's (petra.tasks)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, EncodedCorpus, collate
from petra.models import PetraModel
from petra.tasks import Task


@torch.no_grad()
def bounded_loss(model: PetraModel, corpus: EncodedCorpus, task: Task, pad_id: int, loss: str,
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
        targets = task.targets(batch)
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
