"""Which sentences a split, a cap or a k-shot draw may use. Test splits are only ever scored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from petra.data.sentence import Sentence

T = TypeVar("T")


def capped(items: Sequence[T], cap: int | None, seed: int) -> list[T]:
    """At most ``cap`` items, a seeded sample kept in file order; all of them when they fit (so a
    generated language, made exactly as large as asked, is used as generated). Samples of one seed
    are nested: a smaller cap takes a subset of a larger one."""
    if cap is None or len(items) <= cap:
        return list(items)
    rows = np.sort(np.random.default_rng(seed).permutation(len(items))[:cap])
    return [items[i] for i in rows]


def fine_tuning_pool(splits: dict[str, list[Sentence]]) -> tuple[list[Sentence], str]:
    """The sentences k-shot draws come from: train, else dev; none for a test-only language."""
    for name in ("train", "dev"):
        if splits.get(name):
            return splits[name], name
    return [], ""


def draw_shots(pool: Sequence[Sentence], k: int, rng: np.random.Generator) -> list[Sentence]:
    """k sentences of ``pool`` (the whole pool, in order, when k equals its size)."""
    if k == len(pool):
        return list(pool)
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]
