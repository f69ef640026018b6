"""Task heads on top of an encoder's hidden states (B, T, dim)."""

from __future__ import annotations

import torch
from torch import nn

from petra.randomness import TOKENS, Dropout


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


def _uniform(rows: int, columns: int, fan_in: int) -> torch.Tensor:
    """nn.Bilinear's initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = fan_in ** -0.5
    return torch.empty(rows, columns).uniform_(-bound, bound)


class BiaffineHead(nn.Module):
    """Deep biaffine attention for dependency parsing (Dozat & Manning 2017): each token scores every
    candidate head - a learned root vector (index 0) and every token (index 1 + position) - and
    labels its arc with a biaffine relation classifier.

    ``forward`` gives the arc scores (B, T, 1 + T), ``s[b, d, h]``: head h for dependent d;
    :meth:`relations` the relation logits (B, T, num_classes) of each token's arc to ``heads``.
    """

    def __init__(self, dim: int, num_classes: int, arc_dim: int | None = None, rel_dim: int | None = None,
                 dropout: float = 0.1) -> None:
        super().__init__()
        arc_dim, rel_dim = arc_dim or dim, rel_dim or max(dim // 2, 16)
        self.root = nn.Parameter(torch.zeros(dim))
        def mlp(width: int, sizes=TOKENS) -> nn.Sequential:
            return nn.Sequential(nn.Linear(dim, width), nn.GELU(), Dropout(dropout, sizes))

        with_root = {0: "batch", 1: "tokens+1"}  # candidate heads: the root, then every token
        self.arc_dep, self.arc_head = mlp(arc_dim), mlp(arc_dim, with_root)
        self.rel_dep, self.rel_head = mlp(rel_dim), mlp(rel_dim, with_root)
        # bilinear maps as plain parameters and matmuls (nn.Bilinear has no bf16 autocast on the CPU)
        self.arc = nn.Parameter(_uniform(arc_dim, arc_dim, fan_in=arc_dim))
        self.arc_prior = nn.Linear(arc_dim, 1, bias=False)  # how likely a token is to be a head at all
        self.rel = nn.Parameter(_uniform(rel_dim, num_classes * rel_dim, fan_in=rel_dim))
        self.rel_linear = nn.Linear(2 * rel_dim, num_classes)
        self.num_classes = num_classes

    def _with_root(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.root.to(hidden.dtype).expand(hidden.shape[0], 1, -1), hidden], dim=1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        dep, head = self.arc_dep(hidden), self.arc_head(self._with_root(hidden))  # (B, T, a), (B, 1 + T, a)
        scores = dep @ self.arc.to(dep.dtype) @ head.transpose(1, 2) + self.arc_prior(head).transpose(1, 2)
        candidate = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)  # root + real tokens
        return scores.masked_fill(~candidate[:, None, :], torch.finfo(scores.dtype).min)

    def relations(self, hidden: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """Relation logits of each token's arc from head ``heads`` (B, T): 0 root, 1 + position a token."""
        dep, candidates = self.rel_dep(hidden), self.rel_head(self._with_root(hidden))
        head = candidates.gather(1, heads.clamp(min=0).unsqueeze(-1).expand(-1, -1, candidates.shape[-1]))
        mapped = (dep @ self.rel.to(dep.dtype)).unflatten(-1, (self.num_classes, -1))  # (B, T, classes, r)
        return (mapped @ head.unsqueeze(-1)).squeeze(-1) + self.rel_linear(torch.cat([dep, head], dim=-1))
