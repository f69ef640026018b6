"""The LSTM baseline of the original sketch: embedding + additive PE -> BiLSTM -> (heads).

The recurrence already sees order, so the PE here tests whether explicit positions add anything;
only additive encodings (or none) make sense, which the config validates.
"""

from __future__ import annotations

import torch
from torch import nn

from petra.encodings import PositionalEncoding


class LSTMEncoder(nn.Module):
    """Token ids (B, T) + padding mask (B, T) -> hidden states (B, T, dim)."""

    def __init__(self, vocab_size: int, encoding: PositionalEncoding, dim: int, layers: int, dropout: float) -> None:
        super().__init__()
        if encoding.kind not in ("additive", "none"):
            raise ValueError(f"the LSTM takes additive encodings only, got kind {encoding.kind!r}")
        if dim % 2:
            raise ValueError(f"the bidirectional LSTM needs an even dim, got {dim}")
        self.embed = nn.Embedding(vocab_size, dim)
        self.encoding = encoding
        self.drop = nn.Dropout(dropout)
        # Bidirectional: masked-LM and tagging need context from both sides.
        self.lstm = nn.LSTM(dim, dim // 2, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        if self.encoding.kind == "additive":
            x = x + self.encoding(self.encoding.positions(ids.shape[0], ids.shape[1], ids.device))
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(x), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out
