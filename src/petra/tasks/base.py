"""What a task is: the labels it reads from a sentence, its head, its loss, how it scores a model,
and what else its results say. Code outside ``petra.tasks`` asks the task; it never names one.

A new task is one module with a ``@register``ed :class:`Task` subclass and an import line in
``petra.tasks.registry`` (as a new PE is one module in ``petra.encodings``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from petra.data.batches import IGNORE, Batch, EncodedCorpus, collate
from petra.data.sentence import Sentence
from petra.data.vocab import LabelSet
from petra.models import PetraModel
from petra.models.language import set_language

WORD_LABELS = ("upos", "deprel", "udeprel")  # what `task.labels` may name
CELL = ["source", "target", "encoding", "recipe", "shots"]  # what a run's results are grouped by


def word_labels(sentence: Sentence, kind: str) -> tuple[str, ...]:
    """The word labels ``kind`` of ``sentence``: ``upos``, ``deprel`` or ``udeprel`` (the universal
    relation without its subtype, ``nmod:poss`` -> ``nmod``: what CoNLL 2018's LAS compares)."""
    if kind == "upos":
        return sentence.upos
    if kind == "deprel":
        return sentence.deprels
    if kind == "udeprel":
        return tuple(d.split(":", 1)[0] for d in sentence.deprels)
    raise ValueError(f"unknown word label kind {kind!r}; expected one of {WORD_LABELS}")


@dataclass
class Scored:
    """A model's scores on a corpus. Per sentence (corpus order): labels right and labels scored, which
    give the headline accuracy and which paired comparisons resample (petra.metrics.compare).
    ``counts``: the task's other metrics as [right, scored] over the corpus (they add up over test
    folds); ``breakdown``: per-record lists kept with the sentence scores, numbers that add up over
    folds (names: the same in every fold), read by the task's own tables."""

    correct: np.ndarray
    total: np.ndarray
    counts: dict[str, list[int]] = field(default_factory=dict)
    breakdown: dict[str, list] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return int(self.correct.sum()) / max(int(self.total.sum()), 1)


class Task:
    """A task, bound to the word labels a config chose (``task.labels``, where the task reads them)."""

    name: ClassVar[str]
    description: ClassVar[str]
    head: ClassVar[str]  # the head kind the model carries (petra.models.model.HEADS)
    label_kinds: ClassVar[tuple[str, ...]] = ()  # the `task.labels` it accepts; () reads none
    metrics: ClassVar[tuple[str, ...]] = ()  # run columns beside accuracy (Scored.counts, as rates)
    accuracy_is: ClassVar[str | None] = None  # the metric that `accuracy` is, where it is one (parse: las)
    headline: ClassVar[str] = "accuracy"  # what a reader calls `accuracy`
    sentence_labels: ClassVar[bool] = False  # reads Sentence.label (only synthetic languages carry one)
    example_losses: ClassVar[bool] = True  # a loss per labelled example (the bound experiment needs one)
    hf_head: ClassVar[str | None] = None  # what `petra export` writes: 'token', 'sequence', None (refused)
    conllu: ClassVar[tuple[str, ...]] = ()  # the CoNLL-U columns `petra predict` writes; () refused

    def __init__(self, labels: str = "deprel") -> None:
        self.labels = labels

    @property
    def predicts(self) -> str:
        """What it predicts, in one word (``petra advise --task``): its name; a word-label task, its labels."""
        return self.name

    def word_labels(self, sentence: Sentence) -> tuple[str, ...]:
        """The label of each word this task predicts (its label set is built from these)."""
        return word_labels(sentence, self.labels)

    def check(self, name: str, sentences: Sequence[Sentence]) -> None:
        """Raise a PetraError naming language ``name`` when its sentences cannot serve this task."""

    def num_classes(self, labels: LabelSet, sentences: Sequence[Sentence]) -> int:
        return len(labels)

    def loss(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def targets(self, batch: Batch) -> torch.Tensor:
        """Each example's label, IGNORE where there is none (the bound's per-example losses)."""
        return batch.tags

    def scored_per_sentence(self, corpus: EncodedCorpus) -> np.ndarray:
        """Labelled examples per sentence (each one's share of a split's mean loss)."""
        return np.array([(t != IGNORE).sum() for t in corpus.tags], dtype=float)

    def scores(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet) -> Scored:
        raise NotImplementedError

    def conllu_columns(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet,
                       sentences: Sequence[Sentence]) -> tuple[dict[str, list], dict[str, float]]:
        """`petra predict`: the CoNLL-U columns this task predicts (:attr:`conllu`) for ``sentences``
        (``corpus`` encodes them), as :func:`petra.data.ud.write_conllu` takes them, and the scores."""
        raise NotImplementedError

    def tables(self, scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Tables of the results folder beyond the common ones, from the per-record sentence scores."""
        return {}


def with_scratch(scores: pd.DataFrame, rows: Callable[[pd.DataFrame, str, str | None], pd.DataFrame],
                 part: str) -> pd.DataFrame:
    """A breakdown's long rows (``rows(scores, prefix, recipe)``, one per record and ``part``) of the tuned
    models, then of the scratch model beside them (``scratch_`` columns, once per cell and seed)."""
    tuned = rows(scores, "", None)
    scratch = rows(scores[scores["shots"] > 0], "scratch_", "scratch").drop_duplicates(CELL + ["seed", part])
    return pd.concat([tuned, scratch], ignore_index=True)


@torch.no_grad()
def predict_probs(model: PetraModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Class probabilities; averaged over K forward passes when the PE asks for it
    (random_gaussian with eval_mode='average' draws fresh positions each pass)."""
    draws = getattr(model.encoding, "eval_draws", 1)
    probs = sum(model(ids, mask, head="task").softmax(-1) for _ in range(draws))
    return probs / draws


@torch.no_grad()
def predictions(model: PetraModel, corpus: EncodedCorpus, pad_id: int,
                batch_size: int = 64) -> Iterator[tuple[np.ndarray, Batch, torch.Tensor]]:
    """The task head's predicted class per batch of ``corpus``: (its corpus rows, batch, argmax). Batches
    hold sentences of similar length, shortest first: a batch is as long as its longest sentence, and
    corpus order padded every batch to nearly the longest of all."""
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort([len(ids) for ids in corpus.ids], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = collate(corpus, rows.tolist(), pad_id)
        set_language(model, batch.lang)
        predicted = predict_probs(model, batch.ids.to(device), batch.mask.to(device)).argmax(-1).cpu()
        yield rows, batch, predicted


def word_scores(model: PetraModel, corpus: EncodedCorpus, pad_id: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Per sentence: words labelled right and words labelled, and per sentence the (gold, predicted)
    label ids of its labelled words, for tasks that read more from them."""
    correct, total = np.zeros(len(corpus), dtype=np.int64), np.zeros(len(corpus), dtype=np.int64)
    pairs: list[tuple[np.ndarray, np.ndarray]] = [None] * len(corpus)  # type: ignore[list-item]
    for rows, batch, predicted in predictions(model, corpus, pad_id):
        labelled = batch.tags != IGNORE
        correct[rows] = ((predicted == batch.tags) & labelled).sum(-1).numpy()
        total[rows] = labelled.sum(-1).numpy()
        for b, row in enumerate(rows):
            pairs[row] = (batch.tags[b][labelled[b]].numpy(), predicted[b][labelled[b]].numpy())
    return correct, total, pairs
