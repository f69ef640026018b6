"""T5 relative position bias (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Sec. 2.1).

Each head learns one scalar per *bucket* of relative position ``j - i`` (key minus query) and adds
it to the attention logits. Buckets are exact for small offsets and logarithmically wider beyond,
up to ``max_distance``; everything farther shares the last bucket.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


def relative_position_bucket(
    relative_position: torch.Tensor, bidirectional: bool = True, num_buckets: int = 32, max_distance: int = 128
) -> torch.Tensor:
    """Map integer offsets ``j - i`` to buckets in ``[0, num_buckets)`` (same shape, int64).

    As in T5 (Mesh TensorFlow ``_relative_position_bucket``): when ``bidirectional`` half the
    buckets are for keys after the query (``j > i``), half for keys at or before it; otherwise
    only ``j <= i`` is distinguished (later keys fall in bucket 0). Within a half, distances below
    ``n/2`` get their own bucket, larger ones share log-spaced buckets, and distances
    ``>= max_distance`` land in the last bucket.
    """
    relative_position = relative_position.long()
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).long() * num_buckets
        distance = relative_position.abs()
    else:
        distance = (-relative_position).clamp(min=0)
    max_exact = num_buckets // 2
    # Clamp before the log: small distances take the exact branch anyway, and log(0) would be -inf.
    log_ratio = torch.log(distance.clamp(min=max_exact).float() / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + (log_ratio * (num_buckets - max_exact)).long()
    large = large.clamp(max=num_buckets - 1)
    return buckets + torch.where(distance < max_exact, distance, large)


@register("t5_bias", "learned per-head scalar bias per bucketed relative distance (T5, Raffel et al. 2020)")
class T5RelativeBias(PositionalEncoding):
    """Bias (B|1, H, T, T) from a learned ``(num_buckets, num_heads)`` table indexed by bucketed ``j - i``."""

    kind = "bias"

    def __init__(
        self,
        dim: int,
        num_heads: int,
        max_len: int,
        num_buckets: int = 32,
        max_distance: int = 128,
        bidirectional: bool = True,
    ) -> None:
        super().__init__(dim, num_heads, max_len)
        half = num_buckets // 2 if bidirectional else num_buckets
        if half < 2:
            raise ValueError(f"t5_bias needs num_buckets >= {4 if bidirectional else 2}, got {num_buckets}")
        if max_distance <= half // 2:
            raise ValueError(
                f"t5_bias max_distance ({max_distance}) must exceed the exact range "
                f"({half // 2} for {num_buckets} buckets)"
            )
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.bidirectional = bool(bidirectional)
        self.table = nn.Embedding(num_buckets, num_heads)
        # Small init, like the other learned tables: the model starts close to no position bias.
        nn.init.normal_(self.table.weight, mean=0.0, std=0.02)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions`` (B|1, T) -> bias (B|1, H, T, T); rounds non-integer positions."""
        pos = positions.round().long() if positions.is_floating_point() else positions.long()
        relative = pos.unsqueeze(-2) - pos.unsqueeze(-1)  # [b, i, j] = p_j - p_i (key minus query)
        buckets = relative_position_bucket(relative, self.bidirectional, self.num_buckets, self.max_distance)
        return self.table(buckets).permute(0, 3, 1, 2)
