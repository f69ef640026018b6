"""Tiny models and tokenizers, built and saved locally once per test session (no hub access)."""

import copy

import pytest
import torch
from transformers import BertConfig, DistilBertConfig, RobertaConfig, XLMRobertaConfig
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()

# Larger-than-BERT init (0.02) so attention is far from uniform and position effects are measurable.
INIT = 0.2


def tiny_configs() -> dict[str, object]:
    """Config-only tiny models of each supported architecture (no tokenizer needed)."""
    bert = dict(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=64, initializer_range=INIT)
    return {
        "bert": BertConfig(max_position_embeddings=40, **bert),
        "roberta": RobertaConfig(max_position_embeddings=42, pad_token_id=1, **bert),
        "xlm-roberta": XLMRobertaConfig(max_position_embeddings=42, pad_token_id=1, **bert),
        "distilbert": DistilBertConfig(vocab_size=60, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                       max_position_embeddings=40, initializer_range=INIT),
    }


def _tiny_model(arch: str, head: str = "mlm", seed: int = 0):
    from transformers import AutoModelForMaskedLM, AutoModelForTokenClassification

    torch.manual_seed(seed)
    config = copy.deepcopy(tiny_configs()[arch])  # surgery records itself in the config: never share one
    auto = AutoModelForMaskedLM if head == "mlm" else AutoModelForTokenClassification
    return auto.from_config(config).eval()


def _batch(arch: str, length: int = 9, real: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two sequences; the second is padded after ``real`` tokens."""
    pad = tiny_configs()[arch].pad_token_id
    ids = torch.randint(5, 60, (2, length), generator=torch.Generator().manual_seed(seed))
    mask = torch.ones_like(ids)
    ids[1, real:], mask[1, real:] = pad, 0
    return ids, mask


@pytest.fixture
def tiny_model():
    """``tiny_model(arch, head="mlm"|"token", seed=0)``: a fresh config-only model in eval mode."""
    return _tiny_model


@pytest.fixture
def batch():
    """``batch(arch, length=9, real=6)``: (ids, attention_mask), the second row padded."""
    return _batch
