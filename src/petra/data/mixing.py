"""Multilingual batches: temperature sampling over languages (Conneau & Lample 2019, XLM:
q_i ∝ p_i^α with p_i = n_i / Σ n_j; α = 1 samples by size, α = 0 uniformly)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from petra.data.batches import Batch, EncodedCorpus, batches


def temperature_probabilities(sizes: Sequence[int], alpha: float) -> np.ndarray:
    p = np.asarray(sizes, dtype=float) / np.sum(sizes)
    q = p**alpha
    return q / q.sum()


def mixed_epochs(
    corpora: Sequence[EncodedCorpus], probabilities: Sequence[float], batch_size: int, pad_id: int, seed: int,
    steps: int | None = None,
) -> tuple[Callable[[int], Iterator[Batch]], int]:
    """(epoch -> batches, steps per epoch). An epoch has ``steps`` steps, by default as many as
    the corpora hold batches;
    each step's language is drawn from ``probabilities``, and a language that runs out of batches
    starts a new pass over itself. Everything depends on (seed, epoch) only, so runs resume exactly."""
    steps = steps or sum(-(-len(c) // batch_size) for c in corpora)

    def epoch(number: int) -> Iterator[Batch]:
        rng = np.random.default_rng([seed, number])
        choices = rng.choice(len(corpora), size=steps, p=np.asarray(probabilities))
        streams = [_endless(c, batch_size, pad_id, [seed, number, i]) for i, c in enumerate(corpora)]
        for language in choices:
            yield next(streams[language])

    return epoch, steps


def _endless(corpus: EncodedCorpus, batch_size: int, pad_id: int, seed: list[int]) -> Iterator[Batch]:
    for repeat in range(1_000_000):
        yield from batches(corpus, batch_size, pad_id, np.random.default_rng([*seed, repeat]))


class LanguageWeighted:
    """Joint loss Σ λ_i L_i: each single-language batch's loss times its language's weight."""

    def __init__(self, base, weights: dict[int, float]) -> None:
        self.base, self.weights = base, weights

    def __call__(self, model, batch: Batch):
        return self.weights.get(batch.lang, 1.0) * self.base(model, batch)

    def state_dict(self) -> dict:
        inner = getattr(self.base, "state_dict", None)
        return {"base": inner() if inner else None}

    def load_state_dict(self, state: dict) -> None:
        if state["base"] is not None:
            self.base.load_state_dict(state["base"])
