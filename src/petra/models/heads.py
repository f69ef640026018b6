"""Task heads on top of an encoder's hidden states (B, T, dim)."""

from __future__ import annotations

import torch
from torch import nn


class TokenHead(nn.Module):
    """Per-token logits: masked-LM (num_classes = vocab) or token classification (tags)."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, num_classes)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, num_classes) logits; with ``select`` (a (B, T) bool selection of positions), only
        the selected rows ``(N, num_classes)``, in the order ``logits[select]`` would give them. ``hidden``
        may also be rows already selected, (N, dim), which give (N, num_classes).

        Masked-LM needs logits at its ~15% masked positions only, and the vocabulary projection is
        the largest matmul of a small model: gathering first skips ~85% of it (and of the softmax).
        """
        if select is not None:
            hidden = hidden[select]
        return self.proj(hidden)


class SequenceHead(nn.Module):
    """Sentence logits from the mean of the real (non-padding) token states."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, num_classes))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.proj(pooled)
