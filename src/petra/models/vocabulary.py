"""Growing a model's token embeddings with its tokenizer (``finetune.extend_vocab``)."""

from __future__ import annotations

import torch
from torch import nn

from petra.models.model import PetraModel


def grow_embeddings(model: PetraModel, replaced: list[list[int]]) -> None:
    """Append one embedding row per new piece, each the mean of the rows of the pieces it replaces
    (what the model read for that text before), so a new piece starts where the model already was."""
    if not replaced:
        return
    old = model.encoder.embed
    with torch.no_grad():
        rows = torch.stack([old.weight[ids].mean(0) for ids in replaced])
        grown = nn.Embedding(old.num_embeddings + len(replaced), old.embedding_dim,
                             device=old.weight.device, dtype=old.weight.dtype)
        grown.weight.copy_(torch.cat([old.weight, rows]))
    grown.weight.requires_grad_(old.weight.requires_grad)
    model.encoder.embed = grown
