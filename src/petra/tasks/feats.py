"""Morphological features (UD FEATS): the feature bundle of each word, ``Case=Nom|Number=Sing``, as
one label per word.

Why whole bundles rather than a head per feature: a bundle is a word label like UPOS, so the head,
the loss, every recipe, the kept model and its export are the token task's unchanged, and the
prediction is always a bundle the treebanks attest (UDPipe 1 tags FEATS the same way). What it cannot
do is predict a bundle never seen in the label set; the per-feature F1 says how much of a bundle a
model gets right when the whole is wrong. Scores: exact-bundle accuracy (the headline, ``_`` = no
features counts as a bundle), micro F1 over Feature=Value pairs (``feats_f1``), and F1 per feature
(``features.csv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from petra.data.batches import EncodedCorpus
from petra.data.sentence import NO_FEATURES, Sentence
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.models import PetraModel
from petra.tasks.base import CELL, Scored, with_scratch, word_scores
from petra.tasks.registry import register
from petra.tasks.token import TokenTask



@lru_cache(maxsize=4096)
def features(bundle: str) -> dict[str, str]:
    """``Case=Nom|Number=Sing`` -> {'Case': 'Nom', 'Number': 'Sing'}; ``_`` -> {}."""
    if bundle == NO_FEATURES:
        return {}
    return dict(pair.split("=", 1) for pair in bundle.split("|"))


def feature_counts(pairs: list[tuple[np.ndarray, np.ndarray]], labels: LabelSet) -> tuple[list[str], np.ndarray]:
    """(feature names, (F, 3) true positives, false positives, false negatives) over (gold, predicted)
    bundle ids: a Feature=Value pair is right when the predicted bundle has it too."""
    parsed = [features(tag) for tag in labels.tags]
    names = sorted({name for bundle in parsed for name in bundle})
    column = {name: i for i, name in enumerate(names)}
    counts = np.zeros((len(names), 3), dtype=np.int64)
    for gold_ids, predicted_ids in pairs:
        for g, p in zip(gold_ids, predicted_ids):
            if g == p:  # the whole bundle right: every gold pair is a true positive
                for name in parsed[g]:
                    counts[column[name], 0] += 1
                continue
            gold, predicted = parsed[g], parsed[p]
            for name in gold.keys() | predicted.keys():
                if gold.get(name) == predicted.get(name):
                    counts[column[name], 0] += 1
                    continue
                if name in predicted:
                    counts[column[name], 1] += 1
                if name in gold:
                    counts[column[name], 2] += 1
    return names, counts


@register
class FeatsTask(TokenTask):
    """A token task whose word label is the FEATS bundle (head, loss and export are the token task's)."""

    name = "feats"
    description = "morphological features: the FEATS bundle of each word (exact-bundle accuracy, per-feature F1)"
    label_kinds = ()
    metrics = ("feats_f1",)
    headline = "exact-bundle accuracy"

    @property
    def predicts(self) -> str:
        return self.name  # the bundle, whatever task.labels says

    def word_labels(self, sentence: Sentence) -> tuple[str, ...]:
        return sentence.feats

    def check(self, name: str, sentences: Sequence[Sentence]) -> None:
        if not any(bundle != NO_FEATURES for s in sentences for bundle in s.feats):
            raise PetraError(f"{name}: task 'feats' needs morphological features (CoNLL-U column 6, FEATS); "
                             "this language's sentences have none")

    def scores(self, model: PetraModel, corpus: EncodedCorpus, pad_id: int, labels: LabelSet) -> Scored:
        correct, total, pairs = word_scores(model, corpus, pad_id)
        names, counts = feature_counts(pairs, labels)
        tp, fp, fn = (int(x) for x in counts.sum(0))
        # micro F1 = 2TP / (2TP + FP + FN): a [right, scored] pair that adds up over test folds
        return Scored(correct, total, {"feats_f1": [2 * tp, 2 * tp + fp + fn]},
                      {"features": names, **{f"features_{kind}": counts[:, i].tolist()
                                             for i, kind in enumerate(("tp", "fp", "fn"))}})

    def tables(self, scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
        table = feature_breakdown(scores)
        return {} if table is None else {"features.csv": table}


def feature_breakdown(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per (source, target, PE, recipe, k, feature): F1 mean and std over seeds and the gold
    occurrences per seed; recipe ``scratch``: the model trained from scratch on the same k sentences.
    None: no FEATS scores."""
    if scores is None or "features" not in scores:
        return None
    return with_scratch(scores, _long, "feature").groupby(CELL + ["feature"], sort=False).agg(
        f1_mean=("f1", "mean"), f1_std=("f1", "std"), seeds=("seed", "nunique"), support=("support", "mean")).reset_index()


def _long(scores: pd.DataFrame, prefix: str, recipe: str | None) -> pd.DataFrame:
    """One row per (record, feature) with gold occurrences: its F1 and support (``scratch_``: the
    scratch model beside the record; zero-shot records have none)."""
    rows = []
    for r in scores.to_dict("records"):
        names, tp = r.get(f"{prefix}features"), r.get(f"{prefix}features_tp")
        if not isinstance(names, (list, np.ndarray)):
            continue
        for name, t, p, n in zip(names, tp, r[f"{prefix}features_fp"], r[f"{prefix}features_fn"]):
            if t + n == 0:  # not in this target's gold: no F1 to speak of
                continue
            rows.append({**{c: r[c] for c in CELL}, "recipe": recipe or r["recipe"], "seed": r["seed"],
                         "feature": name, "f1": 2 * t / (2 * t + p + n), "support": int(t + n)})
    return pd.DataFrame(rows, columns=[*CELL, "seed", "feature", "f1", "support"])
