"""Tiny BERT-family (or petra) models with their own tokenizer, built and saved locally.

No hub access: a WordPiece (BERT, DistilBERT, petra) or byte-level BPE (RoBERTa, XLM-R) tokenizer
is trained with Hugging Face ``tokenizers`` on the given texts, the model is randomly initialised
from a small config, and both are written with ``save_pretrained`` so every HF entry point
(``from_pretrained(dir, local_files_only=True)``, pipelines, the ``Trainer``) can load them.
:func:`pretrain_mlm` then gives such a model real (if small) pretraining with the HF ``Trainer``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    DistilBertConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
    XLMRobertaConfig,
)

import petra.models.hf_model  # noqa: F401  (a petra model folder needs the Auto registration)
from petra.encodings import DEFAULT_ENCODING
from petra.errors import PetraError
from petra.hf.configuration import PetraConfig

Arch = Literal["bert", "roberta", "xlm-roberta", "distilbert", "petra"]
ARCHS: tuple[str, ...] = ("bert", "roberta", "xlm-roberta", "distilbert", "petra")
WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BPE_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # pad id 1, as RoBERTa's position offset expects


def wordpiece_tokenizer(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """BERT-style uncased WordPiece with ``[CLS] ... [SEP]`` around each sequence."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(WORDPIECE_SPECIALS)))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )


def bpe_tokenizer(texts: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """RoBERTa-style byte-level BPE with ``<s> ... </s>``; a prefix space makes pre-split words work."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(BPE_SPECIALS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    ))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>", model_max_length=512, add_prefix_space=True,
    )


def tiny_config(arch: Arch, vocab_size: int, pad_id: int, hidden: int = 64, layers: int = 2, heads: int = 4,
                ffn: int = 128, max_len: int = 128, encoding: str = DEFAULT_ENCODING) -> PretrainedConfig:
    """A small config of ``arch``; RoBERTa-style tables get the two extra rows their offset needs."""
    common = dict(vocab_size=vocab_size, pad_token_id=pad_id)
    bert_like = dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=ffn, **common)
    if arch == "bert":
        return BertConfig(max_position_embeddings=max_len, **bert_like)
    if arch in ("roberta", "xlm-roberta"):
        cls = RobertaConfig if arch == "roberta" else XLMRobertaConfig
        return cls(max_position_embeddings=max_len + pad_id + 1, bos_token_id=0, eos_token_id=2, **bert_like)
    if arch == "distilbert":
        return DistilBertConfig(dim=hidden, n_layers=layers, n_heads=heads, hidden_dim=ffn,
                                max_position_embeddings=max_len, **common)
    if arch == "petra":
        return PetraConfig(max_position_embeddings=max_len, encoding=encoding, **bert_like)
    raise PetraError(f"unknown tiny architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def build_tiny_model(
    out_dir: str | Path, texts: Sequence[str], arch: Arch = "bert", vocab_size: int = 1000, hidden: int = 64,
    layers: int = 2, heads: int = 4, ffn: int = 128, max_len: int = 128, encoding: str = DEFAULT_ENCODING, seed: int = 0,
) -> Path:
    """Train a tokenizer on ``texts``, randomly initialise an MLM model of ``arch``, save both to ``out_dir``."""
    if not texts:
        raise PetraError("no texts to train the tokenizer on")
    tokenizer = (bpe_tokenizer if arch in ("roberta", "xlm-roberta") else wordpiece_tokenizer)(texts, vocab_size)
    config = tiny_config(arch, len(tokenizer), tokenizer.pad_token_id, hidden, layers, heads, ffn, max_len, encoding)
    torch.manual_seed(seed)
    model = AutoModelForMaskedLM.from_config(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def pretrain_mlm(model_dir: str | Path, texts: Sequence[str], steps: int, batch_size: int = 32, lr: float = 5e-4,
                 max_length: int = 64, seed: int = 0) -> float:
    """Masked-LM training with the HF ``Trainer`` (BERT masking, 15%); saves the model back to
    ``model_dir`` and returns the mean loss of the last 10% of steps."""
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, PrinterCallback, Trainer, TrainingArguments

    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForMaskedLM.from_pretrained(model_dir, local_files_only=True)
    data = Dataset.from_dict({"text": list(texts)}).map(
        lambda b: tokenizer(b["text"], truncation=True, max_length=max_length), batched=True, remove_columns=["text"],
        desc=None,
    )
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=lr,
            warmup_steps=max(1, steps // 10), weight_decay=0.01, logging_steps=1, save_strategy="no",
            report_to=[], seed=seed, use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
        )
        collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
        trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
        trainer.remove_callback(PrinterCallback)  # losses stay in trainer.state.log_history; no stdout dump
        trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    model.save_pretrained(model_dir)
    tail = losses[-max(1, len(losses) // 10):]
    return sum(tail) / len(tail)
