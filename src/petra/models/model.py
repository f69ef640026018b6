"""PetraModel: one encoder (Transformer or LSTM, any PE) shared by named heads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from petra.config import ModelConfig
from petra.encodings import build_encoding
from petra.errors import PetraError
from petra.models.encoder import TransformerEncoder
from petra.models.heads import BiaffineHead, SequenceHead, TokenHead
from petra.models.lstm import LSTMEncoder
from petra.randomness import batched


@dataclass(frozen=True)
class HeadSpec:
    kind: Literal["token", "sequence", "parse"]
    num_classes: int


class PetraModel(nn.Module):
    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)

    @property
    def encoding(self) -> nn.Module:
        return self.encoder.encoding

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, head: str, select: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits of ``head``; ``select`` ((B, T) bool, token heads only) gives just those rows,
        (N, classes), computed without the rest where the encoder can (the Transformer's last layer)."""
        if not batched():  # a members step checks its ids before it starts (petra.training.members)
            check_token_ids(ids, self.encoder.embed.num_embeddings)
        if select is None:
            return self.heads[head](self.encoder(ids, mask), mask)
        if isinstance(self.heads[head], SequenceHead):
            raise ValueError(f"head {head!r} is a sequence head: it has no per-position logits to select")
        # The encoder's own selection hands a forward hook on it (N, dim) rows instead of the (B, T, dim)
        # states it may pool (the adversarial objective does): with a hook, only the head selects.
        if isinstance(self.encoder, TransformerEncoder) and not self.encoder._forward_hooks:
            return self.heads[head](self.encoder(ids, mask, select=select), mask)
        return self.heads[head](self.encoder(ids, mask), mask, select=select)


HEADS = {"token": TokenHead, "sequence": SequenceHead, "parse": BiaffineHead}


def check_token_ids(ids: torch.Tensor, vocab_size: int) -> None:
    """Ids from a tokenizer that does not belong to this model would index past the embedding
    table (an opaque IndexError deep in torch): say what is wrong instead."""
    if ids.numel() and (int(ids.max()) >= vocab_size or int(ids.min()) < 0):
        raise PetraError(
            f"token ids span [{int(ids.min())}, {int(ids.max())}] but the model's vocabulary has {vocab_size} "
            "entries: the tokenizer and the model do not match (use the tokenizer saved with the model)"
        )


def build_model(config: ModelConfig, encoding: str, vocab_size: int, heads: dict[str, HeadSpec],
                pretrained_weights: bool = True) -> PetraModel:
    """Encoder of ``config.architecture`` with PE ``encoding`` and one head per entry of ``heads``.
    ``config.pretrained``: that encoder, with its weights unless ``pretrained_weights`` is False (the
    same architecture freshly initialised), and its own masked-LM head as ``mlm``."""
    if config.pretrained is not None:
        from petra.models.pretrained import pretrained_encoder

        encoder, masked_lm = pretrained_encoder(config, encoding, pretrained_weights, masked_lm="mlm" in heads)
        return PetraModel(encoder, {name: masked_lm if name == "mlm" else HEADS[spec.kind](config.dim, spec.num_classes)
                                    for name, spec in heads.items()})
    options = config.encoding_options.get(encoding, {})
    pe = build_encoding(encoding, dim=config.dim, num_heads=config.heads, max_len=config.max_len, options=options)
    if config.architecture == "transformer":
        encoder = TransformerEncoder(vocab_size, pe, config.dim, config.layers, config.heads, config.ffn_dim, config.dropout)
    else:
        encoder = LSTMEncoder(vocab_size, pe, config.dim, config.layers, config.dropout)
    return PetraModel(encoder, {name: HEADS[spec.kind](config.dim, spec.num_classes) for name, spec in heads.items()})
