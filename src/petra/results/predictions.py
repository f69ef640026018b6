"""`petra predict`: a kept model's predictions for a target's test sentences, as CoNLL-U beside the
gold file written from the same sentences, so the official CoNLL 2018 script scores them:
``python conll18_ud_eval.py -v gold.conllu predicted.conllu``. What is predicted, and how words past
``model.max_len`` are written, is the task's (petra.tasks.Task.conllu_columns).

Under test folds the kept model is the first fold's: only that fold's held-out sentences are
written (the others were its training data).
"""

from __future__ import annotations

from pathlib import Path

from petra.data.sentence import Sentence
from petra.data.ud import write_conllu
from petra.data.vocab import LabelSet
from petra.data.word_labels import encode_sentences
from petra.errors import PetraError
from petra.results.kept_models import Choice, find_kept, load_model
from petra.tasks import get_task


def predict(results: Path, choice: Choice, out: Path, data_dir: str | Path | None = None) -> dict:
    """Write ``out/predicted.conllu`` and ``out/gold.conllu``; returns the cell, the file paths and the
    task's scores (``metrics`` names them: parsing's UAS / LAS with and without punctuation)."""
    from petra.data.languages import read_languages

    config, kept = find_kept(Path(results), choice)
    m, task = kept.meta, get_task(config.task)
    if not task.conllu:
        raise PetraError(f"petra predict writes CoNLL-U columns; a {task.name!r} run predicts none "
                         "(a tagger exports to transformers with `petra export`)")
    read = read_languages(config, data_dir)
    sentences: list[Sentence] = read.targets[choice.target]["test"]
    pool = read.pools[choice.target]
    if pool.folds and m["shots"]:
        sentences = [sentences[i] for i in pool.folds[0]]
    labels = LabelSet(tuple(m["labels"]))
    tokenizer = kept.tokenizer(results)
    corpus, _ = encode_sentences(sentences, tokenizer, labels, task.word_labels, config.model.max_len,
                                 m["languages"][choice.target])
    columns, rates = task.conllu_columns(load_model(kept, choice.target), corpus, tokenizer.pad_id, labels, sentences)
    out.mkdir(parents=True, exist_ok=True)
    gold = write_conllu(sentences, out / "gold.conllu")
    predicted = write_conllu(sentences, out / "predicted.conllu", **columns)
    return {"gold": gold, "predicted": predicted, "sentences": len(sentences), "seed": m["seed"], "shots": m["shots"],
            "source": m["source"], "metrics": list(rates), **rates}
