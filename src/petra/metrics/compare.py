"""Is one configuration really ahead of another? A paired comparison on the same test sentences
under the same seeds.

Two configurations (say rope + full vs sinusoidal + full, both fine-tuned on a target) are scored
on the same test sentences at each seed, and at each seed they trained on the same k sentences,
so their accuracies are paired twice. The difference of mean accuracy gets a two-level
(hierarchical) percentile bootstrap CI: resample seeds, and within each resampled seed resample
test sentences - the same sentences for both sides (Efron & Tibshirani 1993; the sentence level is
the paired bootstrap of Koehn 2004, the seed level the variation that Dodge et al. 2020 and
Reimers & Gurevych 2017 show a single run hides). With one seed only sentences are resampled.

When the 95% CI contains zero the honest statement is "tie", however the means are ordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000


@dataclass(frozen=True)
class SeedScores:
    """One seed's per-sentence scores of two configurations on the same sentences."""

    correct_a: np.ndarray  # labels right, per sentence
    correct_b: np.ndarray
    total: np.ndarray  # labels scored, per sentence (the same for both: same sentences)


@dataclass(frozen=True)
class PairedDifference:
    difference: float  # mean over seeds of accuracy(a) - accuracy(b)
    ci_low: float
    ci_high: float
    seeds: int
    sentences: int  # per seed

    @property
    def tie(self) -> bool:
        return self.ci_low <= 0.0 <= self.ci_high


def paired_difference(seeds: Sequence[SeedScores], level: float = 0.95, resamples: int = RESAMPLES,
                      seed: int = 0) -> PairedDifference:
    """Difference of accuracy (pooled over each seed's sentences) with a two-level bootstrap CI."""
    if not seeds:
        raise ValueError("paired_difference needs at least one seed")
    rng = np.random.default_rng(seed)
    observed, per_seed = [], np.empty((len(seeds), resamples))
    for i, s in enumerate(seeds):
        a, b, t = (np.asarray(x, dtype=np.float64) for x in (s.correct_a, s.correct_b, s.total))
        observed.append((a.sum() - b.sum()) / max(t.sum(), 1.0))
        rows = rng.integers(0, len(t), size=(resamples, len(t)))
        per_seed[i] = (a[rows].sum(1) - b[rows].sum(1)) / np.maximum(t[rows].sum(1), 1.0)
    picks = rng.integers(0, len(seeds), size=(resamples, len(seeds)))
    diffs = per_seed[picks, np.arange(resamples)[:, None]].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return PairedDifference(float(np.mean(observed)), float(low), float(high), len(seeds), len(seeds[0].total))


def seed_paired_difference(a: Sequence[float], b: Sequence[float], level: float = 0.95, seed: int = 0) -> PairedDifference:
    """The seed level alone, for results without per-sentence scores: bootstrap of the seed-paired
    differences (one seed: no interval, the CI is the point)."""
    from petra.metrics.stability import bootstrap_ci

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    low, high = bootstrap_ci(d, level, seed)
    return PairedDifference(float(d.mean()), low, high, len(d), 0)
