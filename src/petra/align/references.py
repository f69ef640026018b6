"""Reference translators that use corpus counts only, to read alignment scores against.

In :mod:`petra.data.synthetic` lexemes of one part of speech differ only in how often they
occur (Zipfian by rank; nouns of the four agent classes share a rank's frequency), so
"translate the k-th most frequent word by the k-th most frequent word" is the signal any
distributional method must find. ``within_pos`` uses the gold parts of speech, which the
aligned spaces separate well (see ``pos_at_1``), making it a rough ceiling, not a method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _ranks(pos: Sequence[str], by_pos: bool) -> np.ndarray:
    """Frequency rank of each row (rows are most-frequent first), overall or within its POS."""
    if not by_pos:
        return np.arange(len(pos))
    seen: dict[str, int] = {}
    ranks = []
    for p in pos:
        ranks.append(seen.get(p, 0))
        seen[p] = ranks[-1] + 1
    return np.array(ranks)


def frequency_rank_precision(
    test: np.ndarray, src_pos: Sequence[str], tgt_pos: Sequence[str], by_pos: bool, ks: Sequence[int] = (1, 5),
) -> dict[int, float]:
    """Precision@k of translating a source word by the target words nearest to its frequency
    rank (among target words of the same part of speech when ``by_pos``)."""
    src_rank, tgt_rank = _ranks(src_pos, by_pos), _ranks(tgt_pos, by_pos)
    tgt_pos_arr = np.asarray(tgt_pos)
    gold: dict[int, set[int]] = {}
    for s, t in np.asarray(test, dtype=np.int64):
        gold.setdefault(int(s), set()).add(int(t))
    hits = {k: [] for k in ks}
    for s, targets in gold.items():
        distance = np.abs(tgt_rank - src_rank[s]).astype(np.float64)
        if by_pos:
            distance[tgt_pos_arr != src_pos[s]] = np.inf
        order = np.argsort(distance, kind="stable")
        for k in ks:
            hits[k].append(bool(targets & set(order[:k].tolist())))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in hits.items()}
