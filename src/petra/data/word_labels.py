"""Sentences -> sub-word ids with word labels aligned as XTREME does (Hu et al. 2020, following
Devlin et al. 2019 for NER): the FIRST sub-word of a word carries the word's label, the rest get
``IGNORE`` so the loss and the accuracy count each word exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from petra.data.batches import IGNORE, NO_HEAD, EncodedCorpus
from petra.data.sentence import Sentence
from petra.data.tokenize import AnyTokenizer
from petra.data.vocab import LabelSet


@dataclass(frozen=True)
class Truncation:
    """How much ``max_len`` cut off: words past the limit carry no label and are not scored."""

    sentences: int = 0
    words: int = 0


def encode_sentences(
    sentences: Sequence[Sentence], tokenizer: AnyTokenizer, labels: LabelSet,
    labels_of: Callable[[Sentence], Sequence[str]] = attrgetter("upos"), max_len: int | None = None, lang: int = 0,
) -> tuple[EncodedCorpus, Truncation]:
    """Sentences -> sub-word ids with first-sub-word labels (the rest ``IGNORE``); ``labels_of``
    gives a sentence's word labels (a task's ``word_labels``).

    A sentence longer than ``max_len`` sub-words is cut there; the returned :class:`Truncation`
    says how many words lost their label, so a caller can report it rather than hide it.
    """
    tag_index = labels.index
    ids, tags, heads, cut_sentences, cut_words = [], [], [], 0, 0
    for sentence, pieces in zip(sentences, tokenizer.word_pieces([s.words for s in sentences])):
        row_ids: list[int] = []
        row_tags: list[int] = []
        starts: list[int] = []  # each word's first sub-word position
        # a sentence without these labels (FEATS of a language that has none): its words unlabelled
        for word_pieces, tag in zip(pieces, labels_of(sentence) or (None,) * len(sentence)):
            starts.append(len(row_ids))
            row_ids += word_pieces
            row_tags += [tag_index.get(tag, IGNORE)] + [IGNORE] * (len(word_pieces) - 1)
        row_heads = np.full(len(row_ids), IGNORE, dtype=np.int64)
        for start, head in zip(starts, sentence.heads):
            row_heads[start] = 0 if head == 0 else 1 + starts[head - 1]
        if max_len is not None and len(row_ids) > max_len:
            cut_sentences += 1
            cut_words += sum(1 for t in row_tags[max_len:] if t != IGNORE)
            row_ids, row_tags, row_heads = row_ids[:max_len], row_tags[:max_len], row_heads[:max_len]
            row_heads[row_heads > max_len] = NO_HEAD  # the head word was cut off: not scored
        ids.append(np.array(row_ids, dtype=np.int64))
        tags.append(np.array(row_tags, dtype=np.int64))
        heads.append(row_heads)
    labels_array = np.array([s.label for s in sentences], dtype=np.int64)
    return EncodedCorpus(ids, tags, labels_array, lang, heads), Truncation(cut_sentences, cut_words)


def raw_corpus(sentences: Sequence[Sentence], tokenizer: AnyTokenizer, max_len: int | None = None, lang: int = 0) -> EncodedCorpus:
    """Sub-word ids only (no labels): the raw text masked-LM pretraining reads."""
    ids = []
    for pieces in tokenizer.word_pieces([s.words for s in sentences]):
        row = [p for word in pieces for p in word]
        ids.append(np.array(row[:max_len] if max_len else row, dtype=np.int64))
    tags = [np.full(len(r), IGNORE, dtype=np.int64) for r in ids]
    return EncodedCorpus(ids, tags, np.full(len(ids), -1, dtype=np.int64), lang, labelled=False)

