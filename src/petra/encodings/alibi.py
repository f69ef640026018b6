"""ALiBi: attention with linear biases (Press et al. 2022, "Train Short, Test Long", Sec. 3)."""

from __future__ import annotations

import math

import torch

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


def _power_of_two_slopes(n: int) -> list[float]:
    # Geometric sequence starting at 2^(-8/n) with the same ratio (Press et al. 2022, Sec. 3).
    start = 2.0 ** (-8.0 / n)
    return [start ** (i + 1) for i in range(n)]


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """Per-head slopes, shape (num_heads,). For 8 heads: 1/2, 1/4, ..., 1/256.

    For a head count that is not a power of two, the authors' rule (their reference code,
    ofirpress/attention_with_linear_biases) takes the slopes of the closest smaller power of two
    ``m``, then adds every other slope of ``2m`` heads (those falling between them) until there
    are ``num_heads``.
    """
    if num_heads < 1:
        raise ValueError(f"alibi needs num_heads >= 1, got {num_heads}")
    m = 2 ** math.floor(math.log2(num_heads))
    slopes = _power_of_two_slopes(m)
    if m < num_heads:
        slopes += _power_of_two_slopes(2 * m)[0::2][: num_heads - m]
    return torch.tensor(slopes, dtype=torch.float32)


@register("alibi", "linear distance penalty on attention logits, one slope per head (Press et al. 2022)")
class AlibiEncoding(PositionalEncoding):
    """Bias ``-slope_h * |p_i - p_j|`` added to the attention logits (bidirectional, for encoders).

    With ``causal=True`` the bias is ``-slope_h * (p_i - p_j)`` for ``j <= i`` and ``-inf`` above
    the diagonal (the decoder form of the paper). Distances come from the positions tensor, so
    random or long positions work; the causal mask follows token order (index ``j > i``).
    """

    kind = "bias"

    def __init__(self, dim: int, num_heads: int, max_len: int, causal: bool = False) -> None:
        super().__init__(dim, num_heads, max_len)
        self.causal = bool(causal)
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions`` (B|1, T) -> bias (B|1, H, T, T)."""
        pos = positions.to(self.slopes.dtype)
        distance = pos.unsqueeze(-1) - pos.unsqueeze(-2)  # [b, i, j] = p_i - p_j
        slopes = self.slopes.view(1, -1, 1, 1)
        if not self.causal:
            return -slopes * distance.abs().unsqueeze(1)
        bias = -slopes * distance.unsqueeze(1)
        length = positions.shape[-1]
        future = torch.ones(length, length, dtype=torch.bool, device=positions.device).triu(1)
        return bias.masked_fill(future, float("-inf"))
