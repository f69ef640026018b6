"""A pretrained Hugging Face encoder (``model.pretrained``) presented as petra's own encoders are, so
the one engine - pretraining, every recipe, the stability measures, checkpoints - runs it unchanged:

* ``forward(ids, mask)`` takes petra's batches (sub-words without special tokens), puts the model's
  ``[CLS]`` before and ``[SEP]`` after each sentence, as it saw text in pretraining, and returns the
  states of the sentence's own tokens, (B, T, dim);
* ``embed`` is the model's token embedding table (called here, so hooks a recipe puts on it run),
  ``encoding`` the petra PE that surgery put in (``keep``: its own table as a learned PE), ``blocks``
  its Transformer layers, ``linear_layers`` the names LoRA adapts.

The masked-LM head is the model's own (:class:`PretrainedMaskedLM`; decoder tied to the embeddings),
so continued masked-LM starts from what the model learned rather than from a fresh projection.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoModelForMaskedLM, PreTrainedModel

import petra.models.hf_model  # noqa: F401  (registers model_type "petra": an exported petra model loads as one)
from petra.encodings import KEEP, PositionalEncoding, build_encoding
from petra.errors import PetraError
from petra.hf.positions import PetraPositions
from petra.hf.pretrained import (SPECIALS_AROUND, architecture, encoder_model, is_petra, load_tokenizer, read_config,
                                 resolve_folder)
from petra.hf.surgery import quiet_loading


class PretrainedEncoder(nn.Module):
    def __init__(self, model: PreTrainedModel, cls_id: int, sep_id: int, pad_id: int) -> None:
        super().__init__()
        self.hf = model
        self.cls_id, self.sep_id, self.pad_id = cls_id, sep_id, pad_id
        arch = architecture(model.config)
        self.linear_layers = arch.linear_layers
        self._blocks = arch.blocks

    @property
    def embed(self) -> nn.Embedding:
        return self.hf.get_input_embeddings()

    @property
    def positions(self) -> PetraPositions:
        return self.hf.embeddings.position_embeddings

    @property
    def encoding(self) -> PositionalEncoding:
        return self.positions.encoding

    @property
    def blocks(self) -> nn.ModuleList:
        return self.hf.get_submodule(self._blocks)

    def __setattr__(self, name: str, value) -> None:
        # A recipe that wraps the PE (adaptive PE, per-language positions) sets `encoder.encoding`:
        # the PE lives inside the model's embeddings, so that is where it goes.
        if name == "encoding":
            self.positions.encoding = value
        else:
            super().__setattr__(name, value)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length = ids.shape
        lengths = mask.sum(dim=1)
        wrapped = torch.full((batch, length + SPECIALS_AROUND), self.pad_id, dtype=ids.dtype, device=ids.device)
        wrapped[:, 0] = self.cls_id
        wrapped[:, 1:-1] = torch.where(mask, ids, self.pad_id)
        wrapped[torch.arange(batch, device=ids.device), lengths + 1] = self.sep_id
        attention = torch.zeros(wrapped.shape, dtype=torch.long, device=ids.device)
        attention[torch.arange(length + SPECIALS_AROUND, device=ids.device) < (lengths + SPECIALS_AROUND)[:, None]] = 1
        hidden = self.hf(inputs_embeds=self.embed(wrapped), attention_mask=attention).last_hidden_state
        return hidden[:, 1 : length + 1]


class PretrainedMaskedLM(nn.Module):
    """The model's own masked-LM head behind petra's token-head interface (``select``: only those rows)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, select: torch.Tensor | None = None) -> torch.Tensor:
        if select is not None:
            hidden = hidden[select]
        return self.head(hidden)


@lru_cache(maxsize=8)
def petra_encoder(folder: Path, encoding: str, max_len: int, weights: bool = True, options: dict | None = None,
                  masked_lm: bool = False) -> tuple[nn.Module, nn.Module | None]:
    """The encoder (petra's TransformerEncoder) and, when ``masked_lm``, the masked-LM head of a model
    petra exported, with its weights (``weights``) or fresh; ``keep``: its own PE, else PE ``encoding``
    (fresh, over ``max_len`` positions)."""
    config = read_config(folder)
    added = [name for name in ("language_embeddings", "adapter_bottleneck", "adaptive_pe_hidden", "madx_bottleneck",
                               "language_positions") if getattr(config, name)]
    if added:
        raise PetraError(f"{folder}: the exported model carries per-language modules ({', '.join(added)}) that a "
                         "new run's languages do not match; export a full, frozen_pe, lora or zero_shot model")
    auto = AutoModelForMaskedLM if masked_lm else AutoModel
    with quiet_loading():
        model = auto.from_pretrained(folder, local_files_only=True) if weights else auto.from_config(config)
    if encoding != KEEP:
        model.encoder.encoding = build_encoding(encoding, config.hidden_size, config.num_attention_heads, max_len,
                                                options)
    return model.encoder, model.lm_head if masked_lm else None


def _special_ids(folder: Path) -> tuple[int, int, int]:
    tokenizer = load_tokenizer(folder)
    return tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id


def pretrained_encoder(config, encoding: str, weights: bool = True, masked_lm: bool = False,
                       ) -> tuple[nn.Module, nn.Module | None]:
    """Encoder of ``config.pretrained`` (a :class:`petra.config.ModelConfig`) with PE ``encoding``, and its
    masked-LM head when ``masked_lm``; ``weights`` False: the same architecture freshly initialised (a
    scratch baseline)."""
    folder = resolve_folder(config.pretrained)
    if is_petra(read_config(folder)):  # petra's own encoder: the engine runs it natively
        encoder, head = petra_encoder(folder, encoding, config.max_len, weights, config.encoding_options.get(encoding),
                                      masked_lm)
        return encoder, head
    model = encoder_model(folder, encoding, config.max_len + SPECIALS_AROUND, weights,
                          config.encoding_options.get(encoding), masked_lm)
    head = PretrainedMaskedLM(architecture(model.config).masked_lm_head(model)) if masked_lm else None
    return PretrainedEncoder(model.base_model, *_special_ids(folder)), head
