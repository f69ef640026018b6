"""Data augmentation for a low-resource target by words: synonym replacement and back-translation
(tree re-ordering is :mod:`petra.data.reorder`).

* :class:`SynonymLexicon` swaps words for synonyms from a TSV lexicon or for nearest neighbours in
  an embedding table (Wei & Zou 2019, "EDA"); the swapped word keeps its labels.
* :func:`back_translate` sends words through a :class:`Translator` and back (Sennrich et al. 2016):
  :class:`HFTranslator` wraps any local Hugging Face seq2seq model, :class:`DictionaryTranslator` a
  bilingual word list. Word-level round trips keep the tree; sentence-level ones give raw text
  (for masked-LM data), since a free translation has no word alignment to carry labels across.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from petra.data.sentence import Sentence
from petra.errors import PetraError

# --- synonym replacement ------------------------------------------------------------------------


@dataclass(frozen=True)
class SynonymLexicon:
    """word -> candidate replacements."""

    table: dict[str, tuple[str, ...]]

    @classmethod
    def from_tsv(cls, path: str | Path) -> SynonymLexicon:
        """One word per line: ``word<TAB>synonym[<TAB>synonym ...]``; ``#`` starts a comment."""
        path = Path(path)
        if not path.is_file():
            raise PetraError(f"synonym lexicon not found: {path}")
        table: dict[str, list[str]] = defaultdict(list)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = [f.strip() for f in line.split("\t")]
            if len(fields) < 2 or not all(fields):
                raise PetraError(f"{path}:{number}: expected 'word<TAB>synonym[<TAB>...]', got {line!r}")
            table[fields[0]] += [f for f in fields[1:] if f != fields[0]]
        return cls({w: tuple(dict.fromkeys(s)) for w, s in table.items() if s})

    @classmethod
    def from_embeddings(
        cls, words: Sequence[str], vectors: np.ndarray, k: int = 5, min_similarity: float = 0.5
    ) -> SynonymLexicon:
        """The ``k`` nearest neighbours by cosine similarity (above ``min_similarity``) of each word."""
        if len(words) != len(vectors):
            raise PetraError(f"embedding table has {len(vectors)} rows for {len(words)} words")
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        table = {}
        for start in range(0, len(words), 1024):  # blocks keep the similarity matrix small
            sims = unit[start : start + 1024] @ unit.T
            for row, i in enumerate(range(start, min(start + 1024, len(words)))):
                sims[row, i] = -np.inf
                best = np.argsort(-sims[row])[:k]
                near = tuple(words[j] for j in best if sims[row, j] >= min_similarity)
                if near:
                    table[words[i]] = near
        return cls(table)

    @classmethod
    def from_vectors_file(cls, path: str | Path, k: int = 5, min_similarity: float = 0.5) -> SynonymLexicon:
        """A word2vec/fastText text file: ``word v1 v2 ...`` per line (an optional ``count dim`` header)."""
        path = Path(path)
        if not path.is_file():
            raise PetraError(f"embedding file not found: {path}")
        words, rows = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            fields = line.rstrip().split(" ")
            if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                continue
            try:
                values = [float(v) for v in fields[1:]]
            except ValueError:
                raise PetraError(f"{path}:{number}: expected 'word v1 v2 ...' with numbers") from None
            if not values or (rows and len(values) != len(rows[0])):
                raise PetraError(f"{path}:{number}: {len(values)} values where {len(rows[0]) if rows else 'some'} were expected")
            words.append(fields[0])
            rows.append(values)
        return cls.from_embeddings(words, np.array(rows), k, min_similarity)


CONTENT_POS = ("NOUN", "VERB", "ADJ", "ADV")


def replace_synonyms(
    sentence: Sentence, lexicon: SynonymLexicon, prob: float, rng: np.random.Generator,
    pos: Sequence[str] = CONTENT_POS,
) -> Sentence:
    """Each word with a lexicon entry and a UPOS in ``pos`` is swapped with probability ``prob``."""
    words = list(sentence.words)
    for i, (word, tag) in enumerate(zip(sentence.words, sentence.upos)):
        options = lexicon.table.get(word)
        if options and tag in pos and rng.random() < prob:
            words[i] = options[int(rng.integers(len(options)))]
    return replace(sentence, words=tuple(words))


# --- back-translation ---------------------------------------------------------------------------


class Translator(Protocol):
    def translate(self, texts: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class DictionaryTranslator:
    """Word-by-word translation with a bilingual list; unknown words pass through unchanged."""

    table: dict[str, str]

    @classmethod
    def from_tsv(cls, path: str | Path, reverse: bool = False) -> DictionaryTranslator:
        """``source<TAB>target`` per line (the first pair wins); ``reverse`` reads it target -> source."""
        lexicon = SynonymLexicon.from_tsv(path)  # same format and errors
        pairs = [(w, s[0]) for w, s in lexicon.table.items()]
        table: dict[str, str] = {}
        for a, b in pairs:
            key, value = (b, a) if reverse else (a, b)
            table.setdefault(key, value)
        return cls(table)

    def translate(self, texts: Sequence[str]) -> list[str]:
        return [" ".join(self.table.get(w, w) for w in text.split(" ")) for text in texts]


class HFTranslator:
    """A local Hugging Face seq2seq model (Marian, T5, BART ...), loaded with ``from_pretrained``
    from a folder only: nothing is downloaded."""

    def __init__(self, path: str | Path, max_new_tokens: int = 64, num_beams: int = 1, batch_size: int = 32) -> None:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer  # heavy: import on use

        path = Path(path)
        if not (path / "config.json").is_file():
            raise PetraError(f"no Hugging Face model folder at {path} (config.json missing)")
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=True).eval()
        self.max_new_tokens, self.num_beams, self.batch_size = max_new_tokens, num_beams, batch_size

    def translate(self, texts: Sequence[str]) -> list[str]:
        import torch

        out: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            inputs = self.tokenizer(chunk, return_tensors="pt", padding=True, truncation=True)
            with torch.no_grad():
                generated = self.model.generate(
                    **inputs, max_new_tokens=self.max_new_tokens, num_beams=self.num_beams, do_sample=False
                )
            out += self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return out


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def back_translate(sentences: Sequence[Sentence], forward: Translator, backward: Translator) -> list[Sentence]:
    """Word-level round trip: each distinct word goes out and back; the tree and labels stay, the
    forms change. A word whose round trip comes back empty keeps its form."""
    vocabulary = sorted({w for s in sentences for w in s.words})
    returned = backward.translate(forward.translate(vocabulary))
    mapping = {w: (_clean(r) or w) for w, r in zip(vocabulary, returned)}
    return [replace(s, words=tuple(mapping[w] for w in s.words)) for s in sentences]


def back_translate_text(texts: Sequence[str], forward: Translator, backward: Translator) -> list[str]:
    """Sentence-level round trip: paraphrased raw text (for masked-LM pretraining)."""
    return [_clean(t) for t in backward.translate(forward.translate(list(texts)))]
