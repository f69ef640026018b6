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
from petra.randomness import ROWS, TOKENS, Dropout, batched, dropout, most_selected


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, rotary: tuple[torch.Tensor, torch.Tensor] | None,
        rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T, dim) -> (B, T, dim); with ``rows`` (B, M) query indices, (B, M, dim): the outputs at
        those positions only (keys and values still come from every token)."""
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if rotary is not None:
            q, k = apply_rotary(q, k, *rotary)
        if rows is not None:
            q, bias = _take_rows(q, rows), _bias_rows(bias, rows)
        p = self.dropout if self.training else 0.0
        # Written out: measured faster on the CPU, and batched members draw their own masks.
        if p > 0 and (q.device.type == "cpu" or batched()):
            y = _attention_with_dropout(q, k, v, bias, p, selected=rows is not None)
        else:  # CUDA: SDPA picks a fused kernel (flash / memory-efficient), dropout included
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        return self.out(y.transpose(1, 2).reshape(batch, q.shape[2], dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim))
        self.p = dropout

    def forward(self, x, bias, rotary, rows: torch.Tensor | None = None):
        """``rows`` (B, M): compute the block's output at those positions only, (B, M, dim)."""
        attended = self.attn(self.norm1(x), bias, rotary, rows)
        sizes = TOKENS
        if rows is not None:
            x, sizes = x.gather(1, rows.unsqueeze(-1).expand(-1, -1, x.shape[-1])), ROWS
        x = x + dropout(attended, self.p, self.training, sizes)
        return x + dropout(self.ffn(self.norm2(x)), self.p, self.training, sizes)


class TransformerEncoder(nn.Module):
    """Token ids (B, T) + padding mask (B, T, True = real token) -> hidden states (B, T, dim).

    With ``select`` ((B, T) bool) it returns only the selected rows, (N, dim) in the order
    ``hidden[select]`` would give, and its last block computes those rows alone: a token's
    final state feeds nothing but its own output, so for masked-LM (~15% of positions have a
    target) the last layer's attention outputs, projection and feed-forward shrink ~7x, exactly.
    In a batched members step (petra.models.randomness) a selection has no fixed N: the selected
    rows come as (B, M, dim), each sequence's first, padded with others up to the longest M.
    """

    linear_layers = r".*blocks\.\d+\.(attn\.(qkv|out)|ffn\.(0|2))"  # what LoRA adapts (petra.training.recipes.lora)

    def __init__(
        self, vocab_size: int, encoding: PositionalEncoding, dim: int, layers: int, heads: int,
        ffn_dim: int, dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.encoding = encoding
        self.drop = Dropout(dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, ffn_dim, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
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
        selection = selected_rows(select) if select is not None else None
        if selection is None:
            for block in self.blocks:
                x = block(x, bias, rotary)
            x = self.norm(x)
            return x if select is None else x[select]
        rows, valid = selection
        for block in self.blocks[:-1]:
            x = block(x, bias, rotary)
        x = self.norm(self.blocks[-1](x, bias, rotary, rows))
        return x if batched() else x[valid]


def selected_rows(select: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(B, T) bool -> (rows (B, M) indices of each sequence's selected positions in order, padded
    with unselected ones up to the longest selection M; valid (B, M) marking the real entries).
    None when nothing is selected."""
    counts = select.sum(dim=1)
    most = most_selected(select)
    if most == 0:
        return None
    # A stable descending sort puts each row's selected positions first, in their original order.
    rows = torch.sort(select.to(torch.uint8), dim=1, descending=True, stable=True).indices[:, :most]
    valid = torch.arange(most, device=select.device) < counts.unsqueeze(1)
    return rows, valid


def _take_rows(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(B, H, T, d) gathered at query positions ``rows`` (B, M) -> (B, H, M, d)."""
    batch, heads, _, width = x.shape
    return x.gather(2, rows[:, None, :, None].expand(batch, heads, rows.shape[1], width))


def _bias_rows(bias: torch.Tensor | None, rows: torch.Tensor) -> torch.Tensor | None:
    """The attention-bias rows of the selected queries; a bias with one row (key padding only)
    applies to every query as it is."""
    if bias is None or bias.shape[-2] == 1:
        return bias
    batch, length = rows.shape[0], bias.shape[-1]
    bias = bias.expand(batch, bias.shape[1], bias.shape[-2], length)
    return bias.gather(2, rows[:, None, :, None].expand(batch, bias.shape[1], rows.shape[1], length))


def _attention_with_dropout(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None, p: float, selected: bool = False
) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v with dropout on the attention weights (Vaswani et al. 2017,
    eq. 1), as SDPA computes it. SDPA's fused CPU kernel takes no dropout, and its fallback
    re-checks every row for -inf and upcasts bf16 inputs; written out, the same arithmetic ran
    1.3x (fp32) to 1.6x (bf16 autocast) faster on this machine's CPU."""
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-2, -1))
    if bias is not None:
        scores = scores + bias
    sizes = {0: "batch", 2: "rows" if selected else "tokens", 3: "tokens"}  # (B, H, queries, keys)
    return torch.matmul(dropout(torch.softmax(scores, dim=-1), p, True, sizes), v)


# The most negative number both fp32 and bf16 hold: its exp() is 0 like -inf's, but a row whose keys
# are all padding (an empty sequence) gets finite weights instead of NaN, which would reach the
# gradients through the softmax backward.
_MASKED = torch.finfo(torch.bfloat16).min


def _with_padding(bias: torch.Tensor | None, mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """Fold the key-padding mask into the additive attention bias SDPA takes."""
    if not batched() and bool(mask.all()):  # a members step cannot branch on values: it always folds
        return bias
    padding = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, _MASKED)
    padding = padding[:, None, None, :]
    return padding if bias is None else bias + padding
