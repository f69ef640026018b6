"""How a petra PE enters a pretrained BERT-family model.

* :class:`PetraPositions` takes the place of the model's ``embeddings.position_embeddings`` table.
  The embedding layer calls it once per forward pass. An additive PE returns its (scaled) vectors,
  which the model adds to the token embeddings exactly where the old table's rows went. A bias or
  rotary PE returns zero (no absolute position any more) and keeps its attention signal for the
  layers of this pass. Positions come from the PE (``encoding.positions``: ``0..T-1``, or the
  random draw of randomized PEs), computed once so every layer sees the same draw.
* :func:`petra_attention` is registered with ``transformers``' ``AttentionInterface`` as
  ``"petra"``: scaled dot-product attention that first rotates queries and keys (RoPE) or adds
  the bias (ALiBi, T5) to the logits. The query/key/value projections stay the model's own, so the
  pretrained weights are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
from transformers.modeling_utils import AttentionInterface

from petra.encodings import PositionalEncoding
from petra.encodings.rope import apply_rotary
from petra.errors import PetraError

ATTENTION_NAME = "petra"


class PetraPositions(nn.Module):
    """Stands in for an ``nn.Embedding`` of absolute positions: ``forward(position_ids)``.

    Only the shape of ``position_ids`` is used (one row of positions per row of it): the PE decides
    the positions, so RoBERTa's padding offset and any user-given ids do not reach it.
    """

    def __init__(self, encoding: PositionalEncoding, scale: float = 1.0) -> None:
        super().__init__()
        self.encoding = encoding
        self.scale = float(scale)
        self.signal: Any = None  # this pass's bias (B|1, H, T, T) or (cos, sin); None for additive PEs

    @property
    def kind(self) -> str:
        return self.encoding.kind

    def forward(self, position_ids: torch.Tensor) -> torch.Tensor:
        batch, length = (1, position_ids.shape[-1]) if position_ids.dim() == 1 else position_ids.shape[:2]
        positions = self.encoding.positions(batch, length, position_ids.device)
        self.signal = None
        if self.kind == "additive":
            return self.scale * self.encoding(positions)
        if self.kind in ("bias", "rotary"):
            self.signal = self.encoding(positions)
        # A 0-d zero adds nothing and keeps the embeddings' dtype (0-d tensors do not promote).
        return torch.zeros((), device=position_ids.device)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, scale={self.scale:.4g}"


@dataclass(eq=False)
class PositionLink:
    """A plain (non-Module) reference from an attention layer to the model's :class:`PetraPositions`,
    so the PE is registered - and saved - only once, under the embeddings."""

    positions: PetraPositions


LINK_ATTRIBUTE = "petra_positions"


def _combine(bias: torch.Tensor, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """One additive float mask from the position bias and the padding mask (bool: True = attend)."""
    bias = bias.to(dtype)
    if mask is None:
        return bias
    if mask.dtype == torch.bool:
        return bias.masked_fill(~mask, torch.finfo(dtype).min)
    return bias + mask.to(dtype)


def petra_attention(
    module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
    attention_mask: torch.Tensor | None, **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """``AttentionInterface`` function: queries/keys/values (B, H, T, head_dim) as the layer projected them."""
    link = getattr(module, LINK_ATTRIBUTE, None)
    if link is None:
        raise PetraError(f"{type(module).__name__} runs petra attention but was not given a PE by surgery")
    signal, kind = link.positions.signal, link.positions.kind
    if signal is None:
        raise PetraError("petra attention ran before the embeddings computed this pass's positions")
    if kind == "rotary":
        cos, sin = signal
        if cos.shape[-2] != query.shape[-2]:
            raise PetraError(f"rotary positions cover {cos.shape[-2]} tokens, the layer got {query.shape[-2]}")
        query, key = apply_rotary(query, key, cos, sin)
    else:
        attention_mask = _combine(signal, attention_mask, query.dtype)
    kwargs.pop("position_bias", None)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def register_attention() -> None:
    """Register ``"petra"`` attention and its mask format (SDPA's: bool, or None without padding)."""
    AttentionInterface.register(ATTENTION_NAME, petra_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


register_attention()
