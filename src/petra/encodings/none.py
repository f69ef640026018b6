"""No positional encoding: the Transformer sees a bag of tokens (apart from any masking)."""

from __future__ import annotations

import torch

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


@register("none", "no positional information (a permutation-invariant baseline)")
class NoEncoding(PositionalEncoding):
    """Kind ``"none"``: no parameters; the model skips it. ``forward`` returns ``None``.

    Returning ``None`` (rather than raising) lets generic code call every encoding the same way;
    the model checks ``kind`` and never adds anything.
    """

    kind = "none"

    def __init__(self, dim: int, num_heads: int, max_len: int) -> None:
        super().__init__(dim, num_heads, max_len)

    def forward(self, positions: torch.Tensor) -> None:
        return None
