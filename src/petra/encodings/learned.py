"""Learned absolute position embeddings (as in BERT, Devlin et al. 2019, and GPT-2)."""

from __future__ import annotations

import torch
from torch import nn

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


@register("learned", "a trainable vector per absolute position 0..max_len-1 (BERT-style)")
class LearnedEncoding(PositionalEncoding):
    """A trainable ``(max_len, dim)`` table; position ``p`` gets row ``p``.

    Unlike the sinusoidal encoding it has no vector for positions ``>= max_len``: asking for one
    raises a ValueError rather than an opaque index error (or a CUDA device-side assert).
    """

    kind = "additive"

    def __init__(self, dim: int, num_heads: int, max_len: int, init_std: float = 0.02) -> None:
        super().__init__(dim, num_heads, max_len)
        if max_len < 1:
            raise ValueError(f"learned encoding needs max_len >= 1, got {max_len}")
        if init_std < 0:
            raise ValueError(f"learned encoding init_std must be >= 0, got {init_std}")
        self.table = nn.Embedding(max_len, dim)
        # N(0, 0.02) as in BERT/GPT-2: the default N(0, 1) would swamp token embeddings of the same
        # (small) scale at the start of training, so position would dominate content.
        nn.init.normal_(self.table.weight, mean=0.0, std=init_std)

    @property
    def position_limit(self) -> tuple[int, str]:
        return self.max_len, "model.max_len"

    def position_table(self) -> torch.Tensor:
        return self.table.weight

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions`` (B|1, T) integers in [0, max_len) -> (B|1, T, dim)."""
        if positions.is_floating_point():
            raise ValueError("learned encoding needs integer positions, got a floating-point tensor")
        if positions.numel() and (int(positions.min()) < 0 or int(positions.max()) >= self.max_len):
            raise ValueError(
                f"learned encoding has vectors for positions 0..{self.max_len - 1} (max_len={self.max_len}), "
                f"got positions in [{int(positions.min())}, {int(positions.max())}]; "
                "raise model max_len or use an encoding defined for any position (e.g. sinusoidal, rope, alibi)"
            )
        return self.table(positions)
