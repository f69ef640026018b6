"""A small pre-LN Transformer encoder (Xiong et al. 2020) whose positions come from the PE zoo.

Attention uses ``torch.nn.functional.scaled_dot_product_attention``; the encoding's kind decides
where position enters: added to embeddings, added to attention logits, or rotating q and k.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from petra.encodings import PositionalEncoding
from petra.encodings.rope import apply_rotary


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, rotary: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if rotary is not None:
            q, k = apply_rotary(q, k, *rotary)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        return self.out(y.transpose(1, 2).reshape(batch, length, dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias, rotary):
        x = x + self.drop(self.attn(self.norm1(x), bias, rotary))
        return x + self.drop(self.ffn(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """Token ids (B, T) + padding mask (B, T, True = real token) -> hidden states (B, T, dim)."""

    def __init__(
        self, vocab_size: int, encoding: PositionalEncoding, dim: int, layers: int, heads: int,
        ffn_dim: int, dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.encoding = encoding
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, ffn_dim, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length = ids.shape
        x = self.embed(ids)
        positions = self.encoding.positions(batch, length, ids.device)
        bias, rotary = None, None
        if self.encoding.kind == "additive":
            x = x + self.encoding(positions)
        elif self.encoding.kind == "bias":
            bias = self.encoding(positions)
        elif self.encoding.kind == "rotary":
            rotary = self.encoding(positions)
        bias = _with_padding(bias, mask, x.dtype)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, bias, rotary)
        return self.norm(x)


def _with_padding(bias: torch.Tensor | None, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """Fold the key-padding mask into the additive attention bias SDPA takes."""
    if bool(mask.all()):
        return bias
    padding = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, float("-inf"))
    padding = padding[:, None, None, :]
    return padding if bias is None else bias + padding
