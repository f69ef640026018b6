"""Which sentences a split, a cap or a k-shot draw may use, and where k-shot sentences come from.

The *pool* of a target is what its k training sentences are drawn from: its train split, its dev
split, both, or - for a treebank with too few non-test sentences (every PUD, Tagalog-TRG) - its
test split cut into F seeded folds. Under test folds each fine-tuning trains on sentences of the
other folds and is scored on the held-out one, so no sentence is both trained on and scored, and
every test sentence is scored exactly once per seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from petra.data.sentence import Sentence

T = TypeVar("T")

POOLS = ("auto", "train", "dev", "train+dev", "test-folds")
TEST_FOLDS = "test-folds"


def capped(items: Sequence[T], cap: int | None, seed: int) -> list[T]:
    """At most ``cap`` items, a seeded sample kept in file order; all of them when they fit (so a
    generated language, made exactly as large as asked, is used as generated). Samples of one seed
    are nested: a smaller cap takes a subset of a larger one."""
    if cap is None or len(items) <= cap:
        return list(items)
    rows = np.sort(np.random.default_rng(seed).permutation(len(items))[:cap])
    return [items[i] for i in rows]


@dataclass(frozen=True)
class Pool:
    """A target's k-shot pool. ``folds`` (test folds only): the test rows each fold holds out."""

    split: str  # train | dev | train+dev | test-folds | '' (nothing to fine-tune on)
    sentences: list[Sentence]
    folds: tuple[np.ndarray, ...] = ()

    @property
    def size(self) -> int:
        """The largest k every fine-tuning can draw (under test folds: from the other folds)."""
        if self.folds:
            return len(self.sentences) - max(len(f) for f in self.folds)
        return len(self.sentences)

    def candidates(self, fold: int | None) -> np.ndarray:
        """Rows of ``sentences`` a draw may take: all, or those outside the held-out ``fold``."""
        rows = np.arange(len(self.sentences))
        return rows if fold is None else np.setdiff1d(rows, self.folds[fold])

    def draw(self, k: int, rng: np.random.Generator, fold: int | None = None) -> list[Sentence]:
        """k sentences of the pool (the candidates, in order, when k is all of them)."""
        rows = self.candidates(fold)
        if k < len(rows):
            rows = rng.choice(rows, size=k, replace=False)
        return [self.sentences[i] for i in rows]


def cut_folds(n: int, folds: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` rows in ``folds`` seeded, near-equal, disjoint parts (each sorted)."""
    parts = np.array_split(np.random.default_rng(seed).permutation(n), min(folds, n))
    return tuple(np.sort(p) for p in parts)


def choose_pool(rule: str, splits: dict[str, list[Sentence]], test: list[Sentence], largest_k: int,
                folds: int, seed: int) -> Pool:
    """The pool ``rule`` names. ``auto``: train, else dev, else train+dev - the first that holds
    ``largest_k`` sentences - else test folds when they hold it; when none does, the largest
    (non-test first on ties), so the smaller k still run."""
    train, dev = splits.get("train", []), splits.get("dev", [])
    options = {
        "train": lambda: Pool("train", train) if train else None,
        "dev": lambda: Pool("dev", dev) if dev else None,
        "train+dev": lambda: Pool("train+dev", train + dev) if train or dev else None,
        TEST_FOLDS: lambda: Pool(TEST_FOLDS, test, cut_folds(len(test), folds, seed)) if len(test) >= 2 else None,
    }
    if rule != "auto":
        return options[rule]() or Pool("", [])
    pools = [p for p in (options["train"](), None if train else options["dev"](), options["train+dev"](),
                         options[TEST_FOLDS]()) if p is not None]
    if not pools:
        return Pool("", [])
    return next((p for p in pools if p.size >= max(largest_k, 1)), max(pools, key=lambda p: p.size))
