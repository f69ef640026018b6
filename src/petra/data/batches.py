"""Encoded corpora, length-bucketed batches and BERT-style masking for masked-LM."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import torch

from petra.data.sentence import Sentence
from petra.data.vocab import LabelSet, Vocab

IGNORE = -100  # PyTorch's cross-entropy ignore index: padding and unmasked MLM positions


NO_HEAD = -1  # heads: a word whose head was cut off by max_len (a node of the tree, not scored)


@dataclass(frozen=True)
class EncodedCorpus:
    ids: list[np.ndarray]
    tags: list[np.ndarray]
    labels: np.ndarray
    lang: int = 0  # language index within an experiment; batches carry it
    # per token: at a word's first sub-word, 1 + the position of its head word's first sub-word
    # (0 = root; NO_HEAD when that was cut off); IGNORE at every other position. None: no trees.
    heads: list[np.ndarray] | None = None
    labelled: bool = True  # False: raw text (masked-LM only), its tags and labels are placeholders

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Batch:
    ids: torch.Tensor  # (B, T) token ids
    mask: torch.Tensor  # (B, T) True at real tokens
    tags: torch.Tensor  # (B, T) token labels, IGNORE at padding
    labels: torch.Tensor  # (B,) sentence labels
    lang: int = 0  # every batch holds one language (see petra.models.language)
    heads: torch.Tensor | None = None  # (B, T) as EncodedCorpus.heads, IGNORE at padding
    labelled: bool = True  # as its corpus

    def to(self, device: torch.device) -> Batch:
        """The batch on ``device`` (itself when it is there already); copies overlap compute on CUDA."""
        if self.ids.device == device:
            return self
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        heads = None if self.heads is None else move(self.heads)
        return Batch(move(self.ids), move(self.mask), move(self.tags), move(self.labels), self.lang, heads, self.labelled)


def subset(corpus: EncodedCorpus, rows: Sequence[int]) -> EncodedCorpus:
    """The sentences ``rows`` of ``corpus``, in that order."""
    heads = None if corpus.heads is None else [corpus.heads[r] for r in rows]
    return EncodedCorpus([corpus.ids[r] for r in rows], [corpus.tags[r] for r in rows],
                         corpus.labels[list(rows)], corpus.lang, heads, corpus.labelled)


def encode(sentences: Sequence[Sentence], vocab: Vocab, labels: LabelSet,
           labels_of: Callable[[Sentence], Sequence[str]] = attrgetter("upos"), lang: int = 0) -> EncodedCorpus:
    """Words -> ids of a word vocabulary (synthetic languages), with ``labels_of`` each sentence's word labels."""
    index, tag_index = vocab.index, labels.index
    ids = [np.array([index.get(w, vocab.unk_id) for w in s.words], dtype=np.int64) for s in sentences]
    tags = [np.array([tag_index.get(t, IGNORE) for t in labels_of(s)], dtype=np.int64) for s in sentences]
    return EncodedCorpus(ids, tags, np.array([s.label for s in sentences], dtype=np.int64), lang)


def collate(corpus: EncodedCorpus, rows: Sequence[int], pad_id: int) -> Batch:
    length = max(len(corpus.ids[r]) for r in rows)
    ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    tags = np.full((len(rows), length), IGNORE, dtype=np.int64)
    heads = None if corpus.heads is None else np.full((len(rows), length), IGNORE, dtype=np.int64)
    for i, r in enumerate(rows):
        n = len(corpus.ids[r])
        ids[i, :n] = corpus.ids[r]
        tags[i, :n] = corpus.tags[r]
        if heads is not None:
            heads[i, :n] = corpus.heads[r]
    ids_t = torch.from_numpy(ids)
    labels = torch.from_numpy(corpus.labels[list(rows)])
    heads_t = None if heads is None else torch.from_numpy(heads)
    return Batch(ids_t, ids_t != pad_id, torch.from_numpy(tags), labels, corpus.lang, heads_t, corpus.labelled)


def batches(
    corpus: EncodedCorpus, batch_size: int, pad_id: int, rng: np.random.Generator | None = None,
    bucket_factor: int = 50,
) -> Iterator[Batch]:
    """One epoch. With ``rng``: shuffled, then sorted by length inside buckets of
    ``batch_size * bucket_factor`` sentences so batches carry little padding; without: corpus order."""
    order = np.arange(len(corpus)) if rng is None else rng.permutation(len(corpus))
    groups: list[np.ndarray] = []
    bucket = batch_size * bucket_factor
    for start in range(0, len(order), bucket):
        chunk = order[start : start + bucket]
        if rng is not None:
            chunk = chunk[np.argsort([len(corpus.ids[r]) for r in chunk], kind="stable")]
        groups.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if rng is not None:
        groups = [groups[i] for i in rng.permutation(len(groups))]
    for rows in groups:
        yield collate(corpus, rows.tolist(), pad_id)


def mask_for_mlm(
    batch: Batch, vocab_size: int, mask_id: int, prob: float, generator: torch.Generator, first_regular_id: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking (Devlin et al. 2019): pick ``prob`` of real tokens; of those 80% -> [MASK],
    10% -> random token, 10% unchanged. Returns (inputs, targets with IGNORE where not picked)."""
    ids = batch.ids
    # drawn from ``generator`` (CPU) and moved: the same masks on every device, for the same seed
    draw = lambda t: t.to(ids.device, non_blocking=True)  # noqa: E731
    picked = (draw(torch.rand(ids.shape, generator=generator)) < prob) & batch.mask
    targets = torch.where(picked, ids, torch.full_like(ids, IGNORE))
    roll = draw(torch.rand(ids.shape, generator=generator))
    inputs = torch.where(picked & (roll < 0.8), torch.full_like(ids, mask_id), ids)
    random_ids = draw(torch.randint(first_regular_id, vocab_size, ids.shape, generator=generator))
    inputs = torch.where(picked & (roll >= 0.8) & (roll < 0.9), random_ids, inputs)
    return inputs, targets
