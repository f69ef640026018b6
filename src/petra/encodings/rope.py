"""Rotary position embedding, RoPE (Su et al. 2021, "RoFormer", Sec. 3.4, Eq. 34).

Each pair of query/key channels is rotated by an angle ``p * theta_i`` with
``theta_i = base^(-2i/head_dim)``. Since rotations compose, ``<R_m q, R_n k> = <q, R_{n-m} k>``:
the attention logit depends on the positions only through their offset ``n - m``.
"""

from __future__ import annotations

import torch

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) -> (-x2, x1)`` over the two halves of the last dim (the GPT-NeoX/HF layout).

    Pairing channel ``i`` with ``i + head_dim/2`` (instead of RoFormer's adjacent ``2i, 2i+1``)
    is the same rotation up to a fixed permutation of channels, which the projections absorb.
    """
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(
    q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate queries and keys (B, H, T, head_dim) by the angles behind ``cos``/``sin`` (B|1, 1, T, head_dim)."""
    cos, sin = cos.to(q.dtype), sin.to(q.dtype)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


@register("rope", "rotary embedding of queries and keys; logits depend on relative offsets (Su et al. 2021)")
class RotaryEncoding(PositionalEncoding):
    """Rotary encoding: ``forward(positions)`` gives the ``(cos, sin)`` that :func:`apply_rotary` uses.

    Angles are computed from the positions tensor, so any positions work (beyond ``max_len``,
    random, or fractional).
    """

    kind = "rotary"

    def __init__(self, dim: int, num_heads: int, max_len: int, base: float = 10000.0) -> None:
        super().__init__(dim, num_heads, max_len)
        if num_heads < 1 or dim % num_heads != 0:
            raise ValueError(f"rope needs dim divisible by num_heads, got dim={dim}, num_heads={num_heads}")
        head_dim = dim // num_heads
        if head_dim % 2 != 0:
            raise ValueError(f"rope rotates channel pairs, so head_dim = dim // num_heads must be even, got {head_dim}")
        if base <= 1.0:
            raise ValueError(f"rope base must be > 1, got {base}")
        self.head_dim = head_dim
        self.base = float(base)
        # Non-persistent: derived from the options, so not worth saving (and follows .to(device)).
        inv_freq = self.base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``positions`` (B|1, T) -> ``(cos, sin)``, each (B|1, 1, T, head_dim)."""
        dtype = positions.dtype if positions.is_floating_point() else torch.float32
        angles = positions.to(dtype).unsqueeze(-1) * self.inv_freq.to(dtype)  # (B, T, head_dim/2)
        angles = torch.cat((angles, angles), dim=-1).unsqueeze(1)  # same angle for both halves of a pair
        return angles.cos(), angles.sin()
