"""Fine-tune a Hugging Face model (BERT family or petra) with petra's pipeline, per positional encoding.

For each PE (``keep`` = the model's own position embeddings, or any PE put in by
:func:`petra.hf.surgery.replace_position_encoding`) and seed: load the model from a local folder
(never the hub), add a task head, train with petra's ``train()`` loop and score with petra's
``accuracy()``. Tasks:

* ``pos``: UD part-of-speech tagging on a treebank (default English-EWT), words split into the
  model's own sub-words; the FIRST sub-word carries the word's label (Devlin et al. 2019, Sec. 5.3),
  the others and the special tokens are ignored, so each word counts once.
* ``agent``: the synthetic "which noun is the agent" sentence task of :mod:`petra.data.synthetic`
  (4 classes; a word-order-blind model tops out near 62.5%).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn
from transformers import AutoConfig, AutoTokenizer, PreTrainedModel

from petra.config import DeviceSection, OptimConfig
from petra.device import resolve_device
from petra.data.batches import IGNORE, EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.synthetic import LanguageSpec, generate
from petra.data.ud import find_treebank
from petra.data.vocab import LabelSet
from petra.encodings import get_spec
from petra.errors import PetraError
from petra.experiments.phases import fit
from petra.experiments.seeding import seed_everything, stage_seed
from petra.hf.positions import PetraPositions
from petra.hf.surgery import load_model, max_positions, replace_position_encoding
from petra.section import Section
from petra.training.evaluate import accuracy
from petra.training.objectives import JointObjective

KEEP = "keep"  # the model's own position embeddings: the "before surgery" baseline


class HFFinetuneConfig(Section):
    experiment: Literal["hf-finetune"] = "hf-finetune"
    name: str = "hf-finetune"
    model_dir: Path
    task: Literal["pos", "agent"] = "pos"
    encodings: list[str] = Field(default_factory=lambda: [KEEP], min_length=1,
                                 description=f"'{KEEP}' or any petra PE name (surgery)")
    encoding_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    treebank: str = "English-EWT"
    data_dir: Path | None = None
    language: LanguageSpec = LanguageSpec(name="svo")
    train_sentences: int = Field(1000, gt=0)
    test_sentences: int = Field(500, gt=0)
    max_subwords: int = Field(128, gt=2, description="longer sentences are truncated (their tail is not scored)")
    data_seed: int = 1234
    optim: OptimConfig = OptimConfig(epochs=2, batch_size=16, lr=5e-5, warmup_steps=20)
    run: DeviceSection = DeviceSection()

    @model_validator(mode="after")
    def _known_encodings(self) -> HFFinetuneConfig:
        for name in self.encodings:
            if name != KEEP:
                try:
                    get_spec(name)
                except PetraError as exc:
                    raise ValueError(str(exc)) from None
        return self


@dataclass(frozen=True)
class TaskData:
    task_type: Literal["token", "sequence"]
    labels: tuple[str, ...]
    train: EncodedCorpus
    test: EncodedCorpus
    pad_id: int
    truncated_words: int  # test words past max_subwords, not scored


@dataclass(frozen=True)
class FinetuneRecord:
    encoding: str
    seed: int
    task: str
    accuracy: float  # test accuracy after fine-tuning
    initial_accuracy: float  # test accuracy of the fresh head, before any step
    steps: int
    final_loss: float
    train_seconds: float


def align_first_subword(tokenizer, sentences: Sequence[Sentence], labels: LabelSet, max_subwords: int,
                        ) -> tuple[EncodedCorpus, int]:
    """Sub-word ids per sentence and UPOS ids on each word's first sub-word (IGNORE elsewhere).
    Returns the corpus and the number of words lost to truncation."""
    words = [list(s.words) for s in sentences]
    encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_subwords)
    index, ids, tags, lost = labels.index, [], [], 0
    for row, sentence in enumerate(sentences):
        word_ids = encoded.word_ids(row)
        tag = np.full(len(word_ids), IGNORE, dtype=np.int64)
        previous = None
        for position, word in enumerate(word_ids):
            if word is not None and word != previous:
                tag[position] = index.get(sentence.upos[word], IGNORE)
            previous = word
        lost += len(sentence) - len({w for w in word_ids if w is not None})
        ids.append(np.asarray(encoded["input_ids"][row], dtype=np.int64))
        tags.append(tag)
    return EncodedCorpus(ids, tags, np.full(len(sentences), -1, dtype=np.int64)), lost


def encode_sequences(tokenizer, sentences: Sequence[Sentence], max_subwords: int) -> EncodedCorpus:
    encoded = tokenizer([list(s.words) for s in sentences], is_split_into_words=True, truncation=True,
                        max_length=max_subwords)
    ids = [np.asarray(row, dtype=np.int64) for row in encoded["input_ids"]]
    tags = [np.full(len(row), IGNORE, dtype=np.int64) for row in ids]
    return EncodedCorpus(ids, tags, np.array([s.label for s in sentences], dtype=np.int64))


def load_tokenizer(model_dir: Path):
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    # Byte-level BPE (RoBERTa, XLM-R) needs a prefix space to take pre-split words.
    extra = {"add_prefix_space": True} if config.model_type in ("roberta", "xlm-roberta") else {}
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True, **extra)
    if not tokenizer.is_fast:
        raise PetraError(f"{model_dir}: word alignment needs a fast tokenizer (tokenizer.json)")
    if tokenizer.pad_token_id is None:
        raise PetraError(f"{model_dir}: the tokenizer has no pad token")
    return tokenizer


def _sample(sentences: list[Sentence], n: int, seed: int) -> list[Sentence]:
    if len(sentences) <= n:
        return sentences
    keep = np.random.default_rng(seed).choice(len(sentences), n, replace=False)
    return [sentences[i] for i in sorted(keep)]


def prepare_data(config: HFFinetuneConfig, tokenizer) -> TaskData:
    n_train, n_test = config.train_sentences, config.test_sentences
    # Never longer than the position table (BERT-family models also index token types by position).
    limit = max_positions(AutoConfig.from_pretrained(config.model_dir, local_files_only=True))
    max_len = min(config.max_subwords, limit or config.max_subwords)
    if config.task == "agent":
        spec = config.language
        sentences = generate(spec, n_train + n_test, seed=stage_seed(config.data_seed, spec.name))
        classes = tuple(str(c) for c in range(1 + max(s.label for s in sentences)))
        train_set = encode_sequences(tokenizer, sentences[:n_train], max_len)
        test_set = encode_sequences(tokenizer, sentences[n_train:], max_len)
        return TaskData("sequence", classes, train_set, test_set, tokenizer.pad_token_id, 0)
    bank = find_treebank(config.treebank, config.data_dir)
    train_sents = _sample(bank.read("train"), n_train, stage_seed(config.data_seed, "train"))
    test_sents = _sample(bank.read("test"), n_test, stage_seed(config.data_seed, "test"))
    labels = LabelSet.build(t for s in train_sents for t in s.upos)
    train_set, _ = align_first_subword(tokenizer, train_sents, labels, max_len)
    test_set, lost = align_first_subword(tokenizer, test_sents, labels, max_len)
    return TaskData("token", labels.tags, train_set, test_set, tokenizer.pad_token_id, lost)


class HFTaskModel(nn.Module):
    """Presents a ``transformers`` model to petra's ``train()``/``accuracy()``:
    ``forward(ids, mask, head="task") -> logits`` and an ``encoding`` with ``eval_draws``."""

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__()
        self.model = model

    @property
    def encoding(self) -> nn.Module:
        embeddings = getattr(self.model.base_model, "embeddings", None)
        positions = getattr(embeddings, "position_embeddings", None)
        # A surgered model's PE may ask for K averaged draws; petra HF models average inside forward.
        return positions.encoding if isinstance(positions, PetraPositions) else nn.Identity()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, head: str = "task") -> torch.Tensor:
        return self.model(input_ids=ids, attention_mask=mask.long()).logits


def build_model(config: HFFinetuneConfig, data: TaskData, encoding: str) -> PreTrainedModel:
    """The pretrained model with a fresh ``data`` head and, unless ``keep``, PE ``encoding``."""
    task = "token" if data.task_type == "token" else "sequence"
    id2label = dict(enumerate(data.labels))
    model = load_model(config.model_dir, task, num_labels=len(data.labels), id2label=id2label,
                       label2id={v: k for k, v in id2label.items()})
    if encoding != KEEP:
        replace_position_encoding(model, encoding, config.encoding_options.get(encoding))
    return model


def run_one(config: HFFinetuneConfig, data: TaskData, encoding: str, seed: int, save_to: Path | None = None,
            tokenizer=None, on_step: Callable[[int, float], None] | None = None) -> FinetuneRecord:
    # Seeds do not depend on the PE: every PE of a seed gets the same head init, batch order and
    # dropout stream, so PEs are compared paired (only the PE differs).
    seed_everything(stage_seed(seed, "init"))
    model = HFTaskModel(build_model(config, data, encoding)).to(resolve_device(config.run.device))
    initial = accuracy(model, data.test, data.task_type, data.pad_id)
    seed_everything(stage_seed(seed, "train"))
    result = fit(model, data.train, JointObjective(data.task_type), config.optim, data.pad_id,
                 stage_seed(seed, "batches"), on_step=on_step)
    final = accuracy(model, data.test, data.task_type, data.pad_id)
    if save_to is not None:
        model.model.save_pretrained(save_to)
        if tokenizer is not None:
            tokenizer.save_pretrained(save_to)
    return FinetuneRecord(encoding, seed, config.task, final, initial, result.steps,
                          float(np.mean(result.losses[-10:])), result.seconds)


def prepare(config: HFFinetuneConfig):
    """The model folder's tokenizer and the tokenized task data (shared by every PE and seed)."""
    if not (Path(config.model_dir) / "config.json").is_file():
        raise PetraError(f"model_dir {config.model_dir}: no config.json (a save_pretrained folder is expected)")
    tokenizer = load_tokenizer(config.model_dir)
    return tokenizer, prepare_data(config, tokenizer)


def run(config: HFFinetuneConfig, on_done: Callable[[FinetuneRecord], None] | None = None,
        save_models: Path | None = None, on_step: Callable[[int, float], None] | None = None,
        prepared: tuple[Any, TaskData] | None = None) -> list[FinetuneRecord]:
    """Every (encoding, seed) fine-tuning; ``save_models`` keeps each model under ``DIR/PE-seedN``;
    ``on_step(step, loss)`` follows training (e.g. a progress bar); ``prepared`` = :func:`prepare`'s result."""
    tokenizer, data = prepared or prepare(config)
    records = []
    for encoding in config.encodings:
        for seed in config.seeds:
            target = save_models / f"{encoding}-seed{seed}" if save_models is not None else None
            record = run_one(config, data, encoding, seed, target, tokenizer, on_step)
            records.append(record)
            if on_done is not None:
                on_done(record)
    return records
