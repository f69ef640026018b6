"""PetraModel: one encoder (Transformer or LSTM, any PE) shared by named heads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from petra.config import ModelConfig
from petra.encodings import build_encoding
from petra.models.encoder import TransformerEncoder
from petra.models.heads import SequenceHead, TokenHead
from petra.models.lstm import LSTMEncoder


@dataclass(frozen=True)
class HeadSpec:
    kind: Literal["token", "sequence"]
    num_classes: int


class PetraModel(nn.Module):
    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)

    @property
    def encoding(self) -> nn.Module:
        return self.encoder.encoding

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, head: str) -> torch.Tensor:
        return self.heads[head](self.encoder(ids, mask), mask)


def build_model(config: ModelConfig, encoding: str, vocab_size: int, heads: dict[str, HeadSpec]) -> PetraModel:
    """Encoder of ``config.architecture`` with PE ``encoding`` and one head per entry of ``heads``."""
    options = config.encoding_options.get(encoding, {})
    pe = build_encoding(encoding, dim=config.dim, num_heads=config.heads, max_len=config.max_len, options=options)
    if config.architecture == "transformer":
        encoder = TransformerEncoder(vocab_size, pe, config.dim, config.layers, config.heads, config.ffn_dim, config.dropout)
    else:
        encoder = LSTMEncoder(vocab_size, pe, config.dim, config.layers, config.dropout)
    modules = {
        name: (TokenHead if spec.kind == "token" else SequenceHead)(config.dim, spec.num_classes)
        for name, spec in heads.items()
    }
    return PetraModel(encoder, modules)
