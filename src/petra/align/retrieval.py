"""Word retrieval across two embedding spaces and bilingual lexicon induction (BLI) scores.

Nearest neighbour (NN) ranks target words by cosine similarity. In high dimensions a few
*hubs* are the nearest neighbour of many queries, which NN retrieval turns into many wrong
translations. Cross-domain similarity local scaling (CSLS; Conneau et al. 2018, "Word
Translation Without Parallel Data", eq. 6) discounts hubs::

    CSLS(Wx, y) = 2 cos(Wx, y) - r_T(Wx) - r_S(y)

where r_T(Wx) is the mean cosine of the mapped source word Wx to its k nearest target words and
r_S(y) the mean cosine of target word y to its k nearest mapped source words (k = 10).

BLI precision@k (Mikolov et al. 2013; MUSE's ``evaluate.py``): a held-out source word counts as
translated when one of its gold translations is among its k best-ranked target words, retrieval
running over the *whole* target vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Retrieval = Literal["nn", "csls"]
RETRIEVALS: tuple[Retrieval, ...] = ("nn", "csls")
CSLS_K = 10


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), so dot products are cosines."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def normalize_embeddings(x: np.ndarray) -> np.ndarray:
    """Unit length, mean-centre, unit length again (Artetxe et al. 2018, "A robust self-learning
    method for fully unsupervised cross-lingual mappings", sec. 3.1): centring removes the common
    direction every MLM embedding table shares, which otherwise looks like a perfect alignment."""
    x = unit_rows(np.asarray(x, dtype=np.float64))
    return unit_rows(x - x.mean(axis=0, keepdims=True))


def mean_knn_similarity(queries: np.ndarray, keys: np.ndarray, k: int = CSLS_K) -> np.ndarray:
    """r(q): mean cosine of each (unit-length) query to its ``k`` nearest keys."""
    sims = queries @ keys.T
    k = min(k, keys.shape[0])
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return top.mean(axis=1)


def scores(mapped_src: np.ndarray, tgt: np.ndarray, method: Retrieval = "csls", k: int = CSLS_K) -> np.ndarray:
    """(n_src, n_tgt) retrieval scores of every target word for every mapped source word."""
    s, t = unit_rows(mapped_src), unit_rows(tgt)
    cos = s @ t.T
    if method == "nn":
        return cos
    if method == "csls":
        r_t = mean_knn_similarity(s, t, k)  # hubness of each query in the target space
        r_s = mean_knn_similarity(t, s, k)  # hubness of each target among the queries
        return 2 * cos - r_t[:, None] - r_s[None, :]
    raise ValueError(f"unknown retrieval {method!r}; expected one of {', '.join(RETRIEVALS)}")


def translate(
    mapped_src: np.ndarray, tgt: np.ndarray, queries: Sequence[int], method: Retrieval = "csls",
    top: int = 1, k: int = CSLS_K,
) -> np.ndarray:
    """(len(queries), top) target indices, best first, for the given source rows.

    CSLS's r_S(y) is measured against *all* mapped source words, not only the queries."""
    full = scores(mapped_src, tgt, method, k)[np.asarray(queries, dtype=np.int64)]
    top = min(top, full.shape[1])
    best = np.argpartition(-full, top - 1, axis=1)[:, :top]
    order = np.argsort(-np.take_along_axis(full, best, axis=1), axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1)


def precision_at_k(
    mapped_src: np.ndarray, tgt: np.ndarray, pairs: np.ndarray, method: Retrieval = "csls",
    ks: Sequence[int] = (1, 5), k: int = CSLS_K,
) -> dict[int, float]:
    """BLI precision@k over the distinct source words of ``pairs`` ((n, 2) source/target rows)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    gold: dict[int, set[int]] = {}
    for s, t in pairs:
        gold.setdefault(int(s), set()).add(int(t))
    queries = sorted(gold)
    if not queries:
        return {n: float("nan") for n in ks}
    ranked = translate(mapped_src, tgt, queries, method, top=max(ks), k=k)
    return {n: float(np.mean([bool(gold[q] & set(row[:n].tolist())) for q, row in zip(queries, ranked)])) for n in ks}


def mutual_nearest_pairs(
    mapped_src: np.ndarray, tgt: np.ndarray, method: Retrieval = "csls", max_rank: int | None = None,
    k: int = CSLS_K,
) -> np.ndarray:
    """(n, 2) pairs (i, j) where j is i's best target and i is j's best source (MUSE's
    ``S2T&T2S`` dictionary build). ``max_rank`` keeps only the first rows of each side, which
    callers order by frequency: frequent words have the most reliable vectors."""
    if max_rank is not None:
        mapped_src, tgt = mapped_src[:max_rank], tgt[:max_rank]
    full = scores(mapped_src, tgt, method, k)
    forward, backward = full.argmax(axis=1), full.argmax(axis=0)
    rows = np.arange(len(forward))
    mutual = backward[forward] == rows
    return np.stack([rows[mutual], forward[mutual]], axis=1)


def mean_cosine_criterion(mapped_src: np.ndarray, tgt: np.ndarray, max_rank: int = 1000, k: int = CSLS_K) -> float:
    """MUSE's unsupervised model-selection criterion: the mean cosine between the ``max_rank``
    most frequent mapped source words and their CSLS translations. It needs no dictionary and
    tracks translation accuracy (Conneau et al. 2018, sec. 3.5)."""
    s, t = unit_rows(mapped_src), unit_rows(tgt)
    best = scores(s, t, "csls", k)[:max_rank].argmax(axis=1)  # r_S(y) still over every source word
    return float(np.mean(np.sum(s[:max_rank] * t[best], axis=1)))
