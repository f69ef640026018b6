"""`petra predict`: a kept parser's trees for a target's test sentences, as CoNLL-U beside the gold
file written from the same sentences, so the official CoNLL 2018 script scores them:
``python conll18_ud_eval.py -v gold.conllu predicted.conllu``.

Under test folds the kept model is the first fold's: only that fold's held-out sentences are
written (the others were its training data). Words past ``model.max_len`` got no prediction: they
are attached to the predicted root word with relation ``dep`` (scored, and wrong unless that is
their gold arc), so every written sentence is a valid tree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petra.data.sentence import Sentence
from petra.data.word_labels import encode_sentences
from petra.data.ud import write_conllu
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.results.kept_models import Choice, find_kept, load_model
from petra.tasks import parse


def _full_tree(heads: np.ndarray, n: int) -> list[int]:
    """1-based heads for all ``n`` words: the predicted ones, then words past max_len under the root word."""
    root_word = int(np.flatnonzero(heads == 0)[0]) + 1
    return [int(h) for h in heads] + [root_word] * (n - len(heads))


def predict(results: Path, choice: Choice, out: Path, data_dir: str | Path | None = None) -> dict:
    """Write ``out/predicted.conllu`` and ``out/gold.conllu``; returns the cell, the file paths and UAS / LAS."""
    from petra.experiments.transfer_data import read_languages

    config, kept = find_kept(Path(results), choice)
    m = kept.meta
    if m["task"] != "parse":
        raise PetraError(f"petra predict writes dependency trees; this run's task is {m['task']!r} "
                         "(a tagger exports to transformers with `petra export`)")
    read = read_languages(config, data_dir)
    sentences: list[Sentence] = read.targets[choice.target]["test"]
    pool = read.pools[choice.target]
    if pool.folds and m["shots"]:
        sentences = [sentences[i] for i in pool.folds[0]]
    labels = LabelSet(tuple(m["labels"]))
    tokenizer = kept.tokenizer(results)
    corpus, _ = encode_sentences(sentences, tokenizer, labels, config.task.labels, config.model.max_len,
                                 m["languages"][choice.target])
    scored = parse.scores(load_model(kept, choice.target), corpus, tokenizer.pad_id, labels.index.get(parse.PUNCT),
                          keep_predictions=True)
    heads = [_full_tree(h, len(s)) for (h, _), s in zip(scored.predicted, sentences)]
    relations = [[labels.tags[r] for r in rel] + ["dep"] * (len(s) - len(rel)) for (_, rel), s in zip(scored.predicted, sentences)]
    out.mkdir(parents=True, exist_ok=True)
    gold = write_conllu(sentences, out / "gold.conllu")
    predicted = write_conllu(sentences, out / "predicted.conllu", heads=heads, deprels=relations)
    rates = {name: right / max(total, 1) for name, (right, total) in scored.counts.items()}
    return {"gold": gold, "predicted": predicted, "sentences": len(sentences), "seed": m["seed"], "shots": m["shots"],
            "source": m["source"], **rates}
