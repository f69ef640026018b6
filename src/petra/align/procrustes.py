"""Supervised orthogonal Procrustes alignment with iterative dictionary refinement.

Given paired rows X (source) and Y (target) of a seed dictionary, the orthogonal map that best
carries one onto the other,

    W* = argmin_{W orthogonal} ||X W - Y||_F = U Vᵀ,   U Σ Vᵀ = SVD(Xᵀ Y)

(Schönemann 1966, "A generalized solution of the orthogonal Procrustes problem"; used for word
translation by Xing et al. 2015, "Normalized word embedding and orthogonal transform for
bilingual word translation"). Rows are vectors throughout: a source word x maps to x W.

Refinement (Conneau et al. 2018, "Word Translation Without Parallel Data", sec. 2.3): map every
source word, re-induce a dictionary from *mutual* nearest neighbours under CSLS among the most
frequent words, and solve Procrustes again; a few rounds enlarge a small or noisy dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from petra.align.retrieval import Retrieval, mean_cosine_criterion, mutual_nearest_pairs
from petra.errors import PetraError


def procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The orthogonal (d, d) matrix W minimising ||x W - y||_F over paired rows."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise PetraError(f"Procrustes needs two (n, d) arrays of the same shape, got {x.shape} and {y.shape}")
    if len(x) == 0:
        raise PetraError("Procrustes needs at least one dictionary pair")
    u, _, vt = np.linalg.svd(x.T @ y)
    return u @ vt


def is_orthogonal(w: np.ndarray, atol: float = 1e-6) -> bool:
    return bool(np.allclose(w.T @ w, np.eye(w.shape[1]), atol=atol))


@dataclass(frozen=True)
class RefineConfig:
    """``iterations`` re-induction rounds (0 = the seed solution only); ``max_rank`` limits the
    induced dictionary to the most frequent rows of each side (MUSE: 15,000 of 200,000 words);
    ``keep_seed`` adds the seed pairs to every induced dictionary."""

    iterations: int = 5
    retrieval: Retrieval = "csls"
    max_rank: int | None = None
    keep_seed: bool = True


@dataclass
class Alignment:
    """The map W and, per refinement round, the dictionary size and the unsupervised criterion."""

    w: np.ndarray
    dictionary_sizes: list[int] = field(default_factory=list)
    criteria: list[float] = field(default_factory=list)

    def map(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.w


def refine(
    src: np.ndarray, tgt: np.ndarray, w: np.ndarray, cfg: RefineConfig = RefineConfig(),
    seed_pairs: np.ndarray | None = None,
) -> Alignment:
    """Iterative Procrustes refinement from the map ``w``; rows of ``src``/``tgt`` ordered by
    frequency. Keeps the round with the best unsupervised criterion (it needs no gold pairs)."""
    seed = np.empty((0, 2), dtype=np.int64) if seed_pairs is None else np.asarray(seed_pairs, dtype=np.int64)
    best = Alignment(w)
    best.criteria.append(mean_cosine_criterion(src @ w, tgt))
    current = best
    for _ in range(cfg.iterations):
        induced = mutual_nearest_pairs(current.map(src), tgt, cfg.retrieval, cfg.max_rank)
        pairs = np.unique(np.concatenate([induced, seed]), axis=0) if cfg.keep_seed and len(seed) else induced
        if len(pairs) == 0:
            break  # nothing is anyone's mutual neighbour: the map carries no signal to refine
        w_next = procrustes(src[pairs[:, 0]], tgt[pairs[:, 1]])
        criterion = mean_cosine_criterion(src @ w_next, tgt)
        current = Alignment(w_next, current.dictionary_sizes + [len(pairs)], current.criteria + [criterion])
        if criterion >= max(best.criteria):
            best = Alignment(w_next, current.dictionary_sizes, current.criteria)
    return Alignment(best.w, current.dictionary_sizes, current.criteria)


def supervised_align(
    src: np.ndarray, tgt: np.ndarray, seed_pairs: np.ndarray, cfg: RefineConfig = RefineConfig(),
) -> Alignment:
    """Procrustes on the seed dictionary ((n, 2) source/target rows), then refinement."""
    seed_pairs = np.asarray(seed_pairs, dtype=np.int64).reshape(-1, 2)
    w = procrustes(src[seed_pairs[:, 0]], tgt[seed_pairs[:, 1]])
    return refine(src, tgt, w, cfg, seed_pairs)
