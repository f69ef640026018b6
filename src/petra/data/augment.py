"""Data augmentation for a low-resource target: tree re-ordering, synonym replacement, back-translation.

* :func:`reorder` re-linearises a dependency tree in another basic word order by moving whole
  subtrees (subject, object, obliques), as in source-side reordering for cross-lingual transfer
  (Rasooli & Collins 2019; Wang & Eisner 2016, "The Galactic Dependencies Treebanks"). Labels,
  heads and relations travel with their words; the result is a valid, projective tree.
* :class:`SynonymLexicon` swaps words for synonyms from a TSV lexicon or for nearest neighbours in
  an embedding table (Wei & Zou 2019, "EDA"); the swapped word keeps its labels.
* :func:`back_translate` sends words through a :class:`Translator` and back (Sennrich et al. 2016):
  :class:`HFTranslator` wraps any local Hugging Face seq2seq model, :class:`DictionaryTranslator` a
  bilingual word list. Word-level round trips keep the tree; sentence-level ones give raw text
  (for masked-LM data), since a free translation has no word alignment to carry labels across.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from petra.data.sentence import Sentence
from petra.errors import PetraError

ORDERS = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")
SUBJECT = {"nsubj", "csubj", "expl"}  # base relations (the part before ':')
OBJECT = {"obj", "iobj"}
OBLIQUE = {"obl"}


def _base(deprel: str) -> str:
    return deprel.split(":", 1)[0]


def is_valid_tree(sentence: Sentence) -> bool:
    """Exactly one root (head 0), every head in range, no word its own ancestor."""
    heads, n = sentence.heads, len(sentence)
    if sum(h == 0 for h in heads) != 1 or any(not 0 <= h <= n for h in heads):
        return False
    for start in range(1, n + 1):
        seen, node = set(), start
        while node != 0:
            if node in seen:
                return False
            seen.add(node)
            node = heads[node - 1]
    return True


# --- structure transformation ------------------------------------------------------------------


def reorder(
    sentence: Sentence, order: str = "SOV", flip_adpositions: bool = False, flip_adjectives: bool = False
) -> Sentence:
    """The same tree linearised with basic word order ``order`` (one of :data:`ORDERS`).

    Every clause head (a word with a subject or object, or a verb with obliques) places its
    subject block, its verb (with the auxiliaries and adverbs that sat between them) and its
    object block in ``order``; obliques on the object's side stay glued to the object, on the side
    away from the verb (English ``ate apples in the park`` -> SOV ``in the park apples ate``).
    Dependents before every moved block (``that``, ``and``) stay in front, those after it (final
    punctuation) at the end. ``flip_adpositions`` moves each ``case`` dependent to the other edge
    of its head's phrase (prepositions <-> postpositions); ``flip_adjectives`` moves each ``amod``
    to the other side of its noun. Each subtree becomes contiguous, so the result is projective.
    """
    order = order.upper()
    if order not in ORDERS:
        raise PetraError(f"unknown word order {order!r}; expected one of {', '.join(ORDERS)}")
    if not is_valid_tree(sentence):
        raise PetraError(f"cannot re-order an invalid tree: {' '.join(sentence.words)!r}")
    children: dict[int, list[int]] = defaultdict(list)
    for word, head in enumerate(sentence.heads, start=1):
        children[head].append(word)

    def linearise(head: int) -> list[int]:
        units = sorted(children[head] + [head])
        if _is_clause_head(sentence, head, children[head]):
            units = _arrange_clause(sentence, head, units, order)
        if flip_adjectives:
            units = _flip(sentence, head, units, {"amod"}, edge=False)
        if flip_adpositions:
            units = _flip(sentence, head, units, {"case"}, edge=True)
        return [w for u in units for w in ([u] if u == head else linearise(u))]

    new_order = [w for root in children[0] for w in linearise(root)]
    return permute(sentence, new_order)


def permute(sentence: Sentence, new_order: Sequence[int]) -> Sentence:
    """``sentence`` with its words in ``new_order`` (1-based old positions); heads renumbered."""
    position = {old: new for new, old in enumerate(new_order, start=1)}
    position[0] = 0
    pick = [i - 1 for i in new_order]
    return replace(
        sentence,
        words=tuple(sentence.words[i] for i in pick),
        upos=tuple(sentence.upos[i] for i in pick),
        heads=tuple(position[sentence.heads[i]] for i in pick),
        deprels=tuple(sentence.deprels[i] for i in pick),
    )


def _is_clause_head(sentence: Sentence, head: int, deps: list[int]) -> bool:
    rels = {_base(sentence.deprels[d - 1]) for d in deps}
    return bool(rels & (SUBJECT | OBJECT)) or (sentence.upos[head - 1] == "VERB" and bool(rels & OBLIQUE))


def _arrange_clause(sentence: Sentence, head: int, units: list[int], order: str) -> list[int]:
    rel = {u: _base(sentence.deprels[u - 1]) for u in units if u != head}
    subj = [u for u in units if rel.get(u) in SUBJECT]
    obj = [u for u in units if rel.get(u) in OBJECT]
    # The object's side of the verb; with no object, the side away from the subject.
    object_right = obj[0] > head if obj else not (subj and subj[0] > head)
    obl = [u for u in units if rel.get(u) in OBLIQUE and (u > head) == object_right]
    moved = set(subj + obj + obl + [head])
    first = min(units.index(u) for u in moved)
    last = max(units.index(u) for u in moved)
    prefix = [u for u in units[:first] if u not in moved]
    suffix = [u for u in units[last + 1 :] if u not in moved]
    middle = [u for u in units[first : last + 1] if u not in moved]
    verb = [u for u in middle if u < head] + [head] + [u for u in middle if u > head]
    object_before_verb = order.index("O") < order.index("V")
    blocks = {"S": subj, "V": verb, "O": (obl + obj) if object_before_verb else (obj + obl)}
    return prefix + [u for letter in order for u in blocks[letter]] + suffix


def _flip(sentence: Sentence, head: int, units: list[int], rels: set[str], edge: bool) -> list[int]:
    """Move dependents with a relation in ``rels`` across ``head``: to the far edge of the phrase
    (``edge``, adpositions) or right next to the head on its other side (adjectives)."""
    flipped = [u for u in units if u != head and _base(sentence.deprels[u - 1]) in rels]
    if not flipped:
        return units
    rest = [u for u in units if u not in flipped]
    left = [u for u in flipped if u < head]
    right = [u for u in flipped if u > head]
    at = rest.index(head)
    if edge:
        return right + rest + left
    return rest[:at] + right + [head] + left + rest[at + 1 :]


def clause_order(sentence: Sentence) -> list[str]:
    """Orders ('SVO', 'SOV', ...) of the clauses that have both a subject and an object."""
    found = []
    for head in range(1, len(sentence) + 1):
        deps = [d for d, h in enumerate(sentence.heads, start=1) if h == head]
        subj = [d for d in deps if _base(sentence.deprels[d - 1]) in {"nsubj"}]
        obj = [d for d in deps if _base(sentence.deprels[d - 1]) == "obj"]
        if subj and obj:
            where = sorted([(subj[0], "S"), (obj[0], "O"), (head, "V")])
            found.append("".join(letter for _, letter in where))
    return found


def dominant_order(sentences: Iterable[Sentence]) -> str | None:
    """The most frequent clause order in a treebank (as MANIFEST.tsv measures it), or None."""
    counts = Counter(o for s in sentences for o in clause_order(s))
    return counts.most_common(1)[0][0] if counts else None


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
