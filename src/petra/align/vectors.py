"""Word vectors from a petra model: input-embedding rows, or averaged contextual states.

Static vectors are the rows of the encoder's input embedding table. Contextual word vectors
are the encoder's final hidden states averaged over every occurrence of the word in a corpus
(the "averaged contextual embeddings" of Schuster et al. 2019, "Cross-Lingual Alignment of
Contextual Word Embeddings", sec. 3, which they align with the same Procrustes/MUSE tools).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from petra.data.batches import EncodedCorpus, batches
from petra.data.vocab import SPECIALS, Vocab
from petra.errors import PetraError
from petra.models import PetraModel


@dataclass(frozen=True)
class WordVectors:
    """``vectors[i]`` belongs to ``words[i]``; ``counts[i]`` is how often the word occurred."""

    words: tuple[str, ...]
    vectors: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.words) == len(self.vectors) == len(self.counts)):
            raise PetraError(f"word vectors: {len(self.words)} words, {len(self.vectors)} vectors, "
                             f"{len(self.counts)} counts")

    @property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def by_frequency(self) -> WordVectors:
        """Most frequent first (ties by word), the order alignment methods expect."""
        order = sorted(range(len(self.words)), key=lambda i: (-int(self.counts[i]), self.words[i]))
        return WordVectors(tuple(self.words[i] for i in order), self.vectors[order], self.counts[order])


def corpus_counts(corpus: EncodedCorpus, vocab_size: int) -> np.ndarray:
    """Occurrences of every vocabulary id in ``corpus``."""
    ids = np.concatenate(corpus.ids) if len(corpus) else np.empty(0, dtype=np.int64)
    return np.bincount(ids, minlength=vocab_size)


def _regular_words(vocab: Vocab, words: Sequence[str] | None) -> list[str]:
    if words is None:
        return [w for w in vocab.symbols if w not in SPECIALS]
    index = vocab.index
    missing = [w for w in words if w not in index]
    if missing:
        more = " ..." if len(missing) > 5 else ""
        raise PetraError(f"words not in the model's vocabulary: {', '.join(missing[:5])}{more}")
    return list(words)


def input_embeddings(model: PetraModel, vocab: Vocab, counts: np.ndarray, words: Sequence[str] | None = None) -> WordVectors:
    """Rows of the encoder's input embedding table for ``words`` (default: every non-special word)."""
    chosen = _regular_words(vocab, words)
    ids = [vocab.index[w] for w in chosen]
    table = model.encoder.embed.weight.detach().cpu().numpy().astype(np.float64)
    return WordVectors(tuple(chosen), table[ids], np.asarray(counts)[ids])


@torch.no_grad()
def contextual_vectors(
    model: PetraModel, corpus: EncodedCorpus, vocab: Vocab, batch_size: int = 128, seed: int = 0,
) -> WordVectors:
    """Mean final hidden state over each word's occurrences in ``corpus``; words that never
    occur are left out. Random PEs draw positions at evaluation: a fixed ``seed`` makes the
    vectors reproducible without touching the caller's RNG."""
    model.eval()
    dim = model.encoder.embed.embedding_dim
    sums = torch.zeros(len(vocab), dim, dtype=torch.float64)
    counts = torch.zeros(len(vocab), dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        device = next(model.parameters()).device
        for batch in batches(corpus, batch_size, vocab.pad_id):
            hidden = model.encoder(batch.ids.to(device), batch.mask.to(device)).cpu()
            real = batch.mask
            sums.index_add_(0, batch.ids[real], hidden[real].double())
            counts += torch.bincount(batch.ids[real], minlength=len(vocab)).double()
    specials = {vocab.index[s] for s in SPECIALS}
    ids = [i for i in range(len(vocab)) if counts[i] > 0 and i not in specials]
    vectors = (sums[ids] / counts[ids, None]).numpy()
    return WordVectors(tuple(vocab.symbols[i] for i in ids), vectors, counts[ids].numpy().astype(np.int64))
