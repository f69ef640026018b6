"""petra's encoder as ``transformers`` models: ``save_pretrained``/``from_pretrained``, the Auto
classes, pipelines and the ``Trainer`` all work with them.

Each model is petra's own :class:`~petra.models.encoder.TransformerEncoder` (any PE of the zoo) with
a head from :mod:`petra.models.heads`, so a model trained here is the model petra trains natively:
same modules, same initialisation, same parameter names under ``encoder.``; the heads are named as
in ``transformers`` (``lm_head``, ``classifier``) so a checkpoint's head never lands in another task's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    PreTrainedModel,
)
from transformers.modeling_outputs import BaseModelOutput, MaskedLMOutput, SequenceClassifierOutput, TokenClassifierOutput

from petra.config import ModelConfig
from petra.data.batches import IGNORE
from petra.encodings import PositionalEncoding
from petra.hf.configuration import PetraConfig
from petra.models.encoder import TransformerEncoder
from petra.models.heads import SequenceHead, TokenHead
from petra.models.language import AdaptivePE, LanguageAware, LanguagePositions, attach_language_modules

try:  # transformers >= 4.57: init functions that skip weights already loaded from a checkpoint
    from transformers import initialization as hf_init

    _copy = hf_init.copy_
except (ImportError, AttributeError):  # older transformers initialises only missing modules anyway
    def _copy(tensor: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return tensor.copy_(other)


class PetraPreTrainedModel(PreTrainedModel):
    """Shared base: config class, weight initialisation, the encoder and the padding mask."""

    config_class = PetraConfig
    config: PetraConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False

    def _build_encoder(self, config: PetraConfig) -> None:
        self.encoder = TransformerEncoder(
            config.vocab_size, config.build_encoding(), config.hidden_size, config.num_hidden_layers,
            config.num_attention_heads, config.intermediate_size, config.dropout,
        )
        attach_language_modules(self, config.num_languages, config.language, config.language_embeddings,
                                config.adaptive_pe_hidden, config.adapter_bottleneck, config.madx_bottleneck,
                                config.language_positions)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """petra's native initialisation (PyTorch defaults; each PE's own init), so an HF model starts
        where ``petra.models.build_model`` would. ``transformers`` calls this for modules that are not
        loaded from a checkpoint, including non-persistent buffers (RoPE frequencies, ALiBi slopes)."""
        top = self.encoder.encoding
        top = top.base if isinstance(top, AdaptivePE) else top  # the zoo PE inside a language-adaptive wrapper
        tops = list(top.per_language) if isinstance(top, LanguagePositions) else [top]  # one zoo PE per language
        found = next(((pe, name) for pe in tops for name, sub in pe.named_modules() if sub is module), None)
        if found is not None:  # the PE or a module inside it (learned table, random_ordered's base)
            _copy_fresh_encoding(*found, self.config)
        elif any(module is part for language in self.modules() if isinstance(language, LanguageAware)
                 for part in language.modules()):
            return  # per-language modules start as petra builds them (zero-initialised maps, identity adapters)
        elif isinstance(module, (nn.Linear, nn.Embedding, nn.LayerNorm)):
            module.reset_parameters()

    def _mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if attention_mask is None:
            return torch.ones_like(input_ids, dtype=torch.bool)
        return attention_mask.bool()

    def _logits(self, head: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Head logits; in eval mode with a PE that asks for K draws (random_gaussian ``average``),
        the log of the mean probability over K passes, so softmax/argmax see the averaged prediction."""
        draws = 1 if self.training else getattr(self.encoder.encoding, "eval_draws", 1)
        if draws == 1:
            return head(self.encoder(input_ids, mask), mask)
        probs = sum(head(self.encoder(input_ids, mask), mask).softmax(-1) for _ in range(draws)) / draws
        return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()


def _copy_fresh_encoding(top: PositionalEncoding, path: str, config: PetraConfig) -> None:
    """Give the module at ``path`` in ``top`` the tensors a freshly built PE has there; ``copy_``
    leaves those loaded from a checkpoint alone. (A PE module without tensors of its own is skipped
    by ``transformers``, so its children are reached one by one through this path.)"""
    with torch.device("cpu"):
        fresh = config.build_encoding().get_submodule(path)
    module = top.get_submodule(path)
    fresh_state = dict(fresh.named_parameters()) | dict(fresh.named_buffers())
    for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
        _copy(tensor, fresh_state[name].to(tensor.device, tensor.dtype))


def _token_loss(logits: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor | None:
    if labels is None:
        return None
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten().to(logits.device), ignore_index=IGNORE)


class PetraEncoderModel(PetraPreTrainedModel):
    """The bare encoder: ``last_hidden_state`` (B, T, hidden_size). ``AutoModel`` maps here."""

    def __init__(self, config: PetraConfig) -> None:
        super().__init__(config)
        self._build_encoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, return_dict: bool | None = None, **kwargs: Any):
        # token_type_ids: accepted (BERT-style tokenizers send them) and ignored - petra has no segments.
        hidden = self.encoder(input_ids, self._mask(input_ids, attention_mask))
        output = BaseModelOutput(last_hidden_state=hidden)
        return output if return_dict is not False else output.to_tuple()


class PetraForMaskedLM(PetraPreTrainedModel):
    """Masked-LM head (a linear map to the vocabulary, untied as in petra). Works with
    ``pipeline("fill-mask")`` and ``DataCollatorForLanguageModeling``."""

    def __init__(self, config: PetraConfig) -> None:
        super().__init__(config)
        self._build_encoder(config)
        self.lm_head = TokenHead(config.hidden_size, config.vocab_size)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.proj

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                return_dict: bool | None = None, **kwargs: Any):
        logits = self._logits(self.lm_head, input_ids, self._mask(input_ids, attention_mask))
        output = MaskedLMOutput(loss=_token_loss(logits, labels), logits=logits)
        return output if return_dict is not False else output.to_tuple()


class PetraForTokenClassification(PetraPreTrainedModel):
    """One label per token (``config.num_labels``); ``labels`` use -100 where there is none."""

    def __init__(self, config: PetraConfig) -> None:
        super().__init__(config)
        self._build_encoder(config)
        self.classifier = TokenHead(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                return_dict: bool | None = None, **kwargs: Any):
        logits = self._logits(self.classifier, input_ids, self._mask(input_ids, attention_mask))
        output = TokenClassifierOutput(loss=_token_loss(logits, labels), logits=logits)
        return output if return_dict is not False else output.to_tuple()


class PetraForSequenceClassification(PetraPreTrainedModel):
    """One label per sequence from petra's mean-pooled :class:`~petra.models.heads.SequenceHead`;
    ``num_labels == 1`` is regression (MSE), as in ``transformers``."""

    def __init__(self, config: PetraConfig) -> None:
        super().__init__(config)
        self._build_encoder(config)
        self.classifier = SequenceHead(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                return_dict: bool | None = None, **kwargs: Any):
        logits = self._logits(self.classifier, input_ids, self._mask(input_ids, attention_mask))
        loss = None
        if labels is not None:
            labels = labels.to(logits.device)
            if self.config.num_labels == 1:
                loss = F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
            else:
                loss = F.cross_entropy(logits, labels)
        output = SequenceClassifierOutput(loss=loss, logits=logits)
        return output if return_dict is not False else output.to_tuple()


def model_config(config: PetraConfig) -> ModelConfig:
    """petra's own :class:`~petra.config.ModelConfig` for the encoder ``config`` describes."""
    return ModelConfig(
        architecture="transformer", dim=config.hidden_size, layers=config.num_hidden_layers,
        heads=config.num_attention_heads, ffn_dim=config.intermediate_size, dropout=config.dropout,
        max_len=config.max_position_embeddings, encoding_options={config.encoding: config.encoding_options},
    )


def register_auto_classes() -> None:
    """Make ``model_type="petra"`` models known to the Auto classes (idempotent: imports may repeat)."""
    for auto, model in ((AutoModel, PetraEncoderModel), (AutoModelForMaskedLM, PetraForMaskedLM),
                        (AutoModelForTokenClassification, PetraForTokenClassification),
                        (AutoModelForSequenceClassification, PetraForSequenceClassification)):
        auto.register(PetraConfig, model, exist_ok=True)


register_auto_classes()
