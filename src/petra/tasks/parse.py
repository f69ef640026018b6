"""Dependency parsing as a task: the biaffine head's loss, tree decoding, and UAS / LAS.

A word is its first sub-word (as for tagging); its head is another word or the root. Training
minimises the cross-entropy of the gold head among the root and the sentence's words, plus that of
the gold relation on the gold arc. Prediction decodes each sentence's highest-scoring tree with one
root child (petra.tasks.mst), then labels each predicted arc.

Scores follow CoNLL 2018: UAS (right head) and LAS (right head and relation) over every word, and
without punctuation (relation ``punct``). They are also broken down by the gold arc's direction and
length in words (:data:`BUCKETS`): where positional encodings should differ, and where an SVO source
should hurt an SOV target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, Batch, EncodedCorpus, batches
from petra.data.sentence import Sentence
from petra.data.vocab import LabelSet
from petra.models import PetraModel
from petra.models.language import set_language
from petra.tasks.base import CELL, Scored, Task, with_scratch
from petra.tasks.mst import decode_tree
from petra.tasks.registry import register

BUCKETS = ("root", "left 1", "left 2", "left 3-5", "left 6+", "right 1", "right 2", "right 3-5", "right 6+")
PUNCT = "punct"


def bucket(dependent: int, head: int) -> int:
    """The :data:`BUCKETS` index of a gold arc (word indices from 1, head 0 = root). 'left': the
    head comes before its dependent."""
    if head == 0:
        return 0
    distance = abs(dependent - head)
    size = 0 if distance == 1 else 1 if distance == 2 else 2 if distance <= 5 else 3
    return (1 if head < dependent else 5) + size


def _candidates(batch: Batch) -> torch.Tensor:
    """(B, 1 + T): the root and every word start (a head is a word, never a later sub-word)."""
    words = batch.heads != IGNORE
    return torch.cat([torch.ones_like(words[:, :1]), words], dim=1)


def parse_logits(model: PetraModel, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(arc scores (B, T, 1 + T) over the candidates, encoder states)."""
    states = model.encoder(batch.ids, batch.mask)
    arcs = model.heads["task"](states, batch.mask)
    return arcs.masked_fill(~_candidates(batch)[:, None, :], torch.finfo(arcs.dtype).min), states


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the positions with a target (0 when there are none)."""
    total = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction="sum")
    return total / (targets != IGNORE).sum().clamp(min=1)


def loss(model: PetraModel, batch: Batch) -> torch.Tensor:
    """Arc cross-entropy over the candidate heads plus relation cross-entropy on the gold arcs."""
    if batch.heads is None:
        raise ValueError("task 'parse' needs batches with heads (sentences encoded with their trees)")
    arcs, states = parse_logits(model, batch)
    gold = batch.heads.masked_fill(batch.heads < 0, IGNORE)  # NO_HEAD: a word whose head was cut off
    relations = model.heads["task"].relations(states, gold)
    return _cross_entropy(arcs, gold) + _cross_entropy(relations, batch.tags.masked_fill(gold < 0, IGNORE))


@dataclass
class ParseScores:
    """Per sentence (corpus order): words scored and LAS-right words (the paired comparisons resample
    these), plus corpus-level counts of UAS / LAS with and without punctuation and the arc buckets."""

    las: np.ndarray
    words: np.ndarray
    counts: dict[str, list[int]] = field(default_factory=dict)  # name -> [right, scored]
    arcs: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in BUCKETS])  # UAS per bucket
    predicted: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per sentence: heads, relations


@torch.no_grad()
def predict(model: PetraModel, batch: Batch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sentence of ``batch``: predicted head (word index, 0 = root) and relation id of each word."""
    arcs, states = parse_logits(model, batch)
    scores = arcs.float().log_softmax(-1).cpu().numpy()
    starts = (batch.heads != IGNORE).cpu().numpy()
    chosen = torch.zeros_like(batch.ids)
    trees = []
    for b in range(len(scores)):
        positions = np.flatnonzero(starts[b])
        columns = np.concatenate([[0], positions + 1])
        words = np.full((len(positions) + 1, len(positions) + 1), -np.inf)
        words[1:] = scores[b][positions][:, columns]
        heads = decode_tree(words)[1:]  # word indices, 0 = root
        trees.append(heads)
        chosen[b, positions] = torch.as_tensor(columns[heads], device=chosen.device)
    relations = model.heads["task"].relations(states, chosen).argmax(-1).cpu().numpy()
    return [(heads, relations[b][np.flatnonzero(starts[b])]) for b, heads in enumerate(trees)]


def scores(model: PetraModel, corpus: EncodedCorpus, pad_id: int, punct: int | None, batch_size: int = 64,
           keep_predictions: bool = False) -> ParseScores:
    """UAS / LAS of ``model`` on ``corpus`` (relation id ``punct`` excluded in the ``*_nopunct`` counts)."""
    model.eval()
    out = ParseScores(np.zeros(len(corpus), dtype=np.int64), np.zeros(len(corpus), dtype=np.int64),
                      {name: [0, 0] for name in ("uas", "las", "uas_nopunct", "las_nopunct")})
    device, row = next(model.parameters()).device, 0
    for batch in batches(corpus, batch_size, pad_id):
        set_language(model, batch.lang)
        for b, (heads, relations) in enumerate(predict(model, batch.to(device))):
            gold_positions = np.flatnonzero(batch.heads[b].numpy() != IGNORE)
            start_of = {int(p) + 1: i + 1 for i, p in enumerate(gold_positions)}  # 1 + position -> word index
            gold = batch.heads[b].numpy()[gold_positions]
            tags = batch.tags[b].numpy()[gold_positions]
            for i, (g, h, t, r) in enumerate(zip(gold, heads, tags, relations), start=1):
                if g < 0:  # NO_HEAD: not scored
                    continue
                gold_word = 0 if g == 0 else start_of[int(g)]
                right_head, right_label = h == gold_word, h == gold_word and r == t
                out.words[row] += 1
                out.las[row] += right_label
                _count(out, right_head, right_label, t != punct)
                out.arcs[bucket(i, gold_word)][0] += int(right_head)
                out.arcs[bucket(i, gold_word)][1] += 1
            if keep_predictions:
                out.predicted.append((heads, relations))
            row += 1
    return out


def _count(out: ParseScores, right_head: bool, right_label: bool, not_punct: bool) -> None:
    for name, right, scored in (("uas", right_head, True), ("las", right_label, True),
                                ("uas_nopunct", right_head, not_punct), ("las_nopunct", right_label, not_punct)):
        out.counts[name][0] += int(right and scored)
        out.counts[name][1] += int(scored)


@register
class ParseTask(Task):
    name = "parse"
    description = "dependency trees: a head and a relation per word (UAS / LAS; task.labels: deprel or udeprel)"
    head = "parse"
    label_kinds = ("deprel", "udeprel")
    metrics = ("uas", "las", "uas_nopunct", "las_nopunct")
    accuracy_is = "las"
    headline = "LAS"
    example_losses = False  # the bound is over per-example label losses; a tree is not one label
    conllu = ("heads", "deprels")

    def loss(self, model: PetraModel, batch: Batch) -> torch.Tensor:
        return loss(model, batch)

    def scores(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet) -> Scored:
        scored = scores(model, corpus, pad_id, labels.index.get(PUNCT))
        right, total = (list(column) for column in zip(*scored.arcs))
        return Scored(scored.las, scored.words, scored.counts, {"arcs_right": right, "arcs_total": total})

    def conllu_columns(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet,
                       sentences: Sequence[Sentence]) -> tuple[dict[str, list], dict[str, float]]:
        """Heads and relations. Words past ``model.max_len`` got no prediction: they are attached to
        the predicted root word with relation ``dep`` (scored, and wrong unless that is their gold
        arc), so every written sentence is a valid tree."""
        scored = scores(model, corpus, pad_id, labels.index.get(PUNCT), keep_predictions=True)
        heads = [_full_tree(h, len(s)) for (h, _), s in zip(scored.predicted, sentences)]
        relations = [[labels.tags[r] for r in rel] + ["dep"] * (len(s) - len(rel))
                     for (_, rel), s in zip(scored.predicted, sentences)]
        return {"heads": heads, "deprels": relations}, {name: right / max(total, 1) for name, (right, total) in scored.counts.items()}

    def tables(self, scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
        arcs = arc_breakdown(scores)
        return {} if arcs is None else {"arcs.csv": arcs}


def _full_tree(heads: np.ndarray, n: int) -> list[int]:
    """1-based heads for all ``n`` words: the predicted ones, then words past max_len under the root word."""
    root_word = int(np.flatnonzero(heads == 0)[0]) + 1
    return [int(h) for h in heads] + [root_word] * (n - len(heads))




def _long_arcs(scores: pd.DataFrame, prefix: str, recipe: str | None) -> pd.DataFrame:
    rows = []
    for r in scores.itertuples(index=False):
        right, total = getattr(r, f"{prefix}arcs_right"), getattr(r, f"{prefix}arcs_total")
        if right is None or (isinstance(right, float) and right != right):  # zero-shot rows have no scratch
            continue
        for b, (c, t) in enumerate(zip(right, total)):
            rows.append({"source": r.source, "target": r.target, "encoding": r.encoding, "recipe": recipe or r.recipe,
                         "shots": r.shots, "seed": r.seed, "bucket": BUCKETS[b], "uas": c / t if t else float("nan"),
                         "arcs": int(t)})
    return pd.DataFrame(rows)


def arc_breakdown(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    """Attachment by arc direction and length: where positional encodings should differ, and where a
    source with the opposite head direction should hurt. Per (source, target, PE, recipe, k, bucket):
    UAS mean and std over seeds and the gold arcs per seed; recipe ``scratch``: the model trained from
    scratch on the same k sentences. None: no parse scores."""
    if scores is None or "arcs_right" not in scores:
        return None
    table = with_scratch(scores, _long_arcs, "bucket").groupby(CELL + ["bucket"], sort=False).agg(
        uas_mean=("uas", "mean"), uas_std=("uas", "std"), seeds=("seed", "nunique"), arcs=("arcs", "mean")).reset_index()
    table["bucket"] = pd.Categorical(table["bucket"], BUCKETS, ordered=True)
    return table  # in the scores' order (the config's), buckets in BUCKETS order within each cell
