"""Structure profiles of a corpus: the word-order statistics two languages are compared on.

A :class:`StructureProfile` holds *counts* (not probabilities) of four features, measured from
dependency trees alone, so a UD treebank and a synthetic language are profiled the same way:

* ``word_order`` — basic order of every clause whose predicate has both an ``nsubj`` and an ``obj``
  dependent (the first of each), over the six orders (Dryer 2013, WALS feature 81A, measured
  from the tree as in Östling 2015, "Word order typology through multilingual word alignment").
* ``head_direction`` — per dependency relation, how often the dependent precedes its head
  (head-final) or follows it (head-initial) (Liu 2010, "Dependency direction as a means of
  word-order typology").
* ``dependency_length`` — |position(dependent) − position(head)| over non-root words, binned
  1 .. ``MAX_DEPENDENCY_LENGTH`` with the last bin holding every longer arc (Futrell et al.
  2015, "Large-scale evidence of dependency length minimization in 37 languages").
* ``upos_bigram`` — adjacent UPOS pairs, with a sentence-boundary tag on both ends.

Counts are kept so that smoothing is applied where a divergence needs it
(:mod:`petra.metrics.similarity`) and profiles of several corpora can be pooled by adding.
Relation labels are reduced to their universal part (``nsubj:pass`` -> ``nsubj``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

from petra.data.sentence import Sentence
from petra.errors import PetraError

ORDERS: tuple[str, ...] = tuple("".join(p) for p in permutations("SVO"))  # SVO, SOV, VSO, VOS, OSV, OVS
# The relations whose direction is a typological parameter (UD v2 universal relations).
RELATIONS: tuple[str, ...] = (
    "nsubj", "obj", "iobj", "obl", "amod", "nmod", "det", "case", "advmod", "aux", "mark",
    "cop", "nummod", "acl", "advcl", "xcomp", "ccomp", "compound", "conj", "cc",
)
UPOS_TAGS: tuple[str, ...] = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
)
BOUNDARY = "<s>"  # sentence start and end in UPOS bigrams
BIGRAM_TAGS: tuple[str, ...] = (BOUNDARY, *UPOS_TAGS)
MAX_DEPENDENCY_LENGTH = 20  # the last bin holds arcs of this length and longer
FEATURES: tuple[str, ...] = ("word_order", "head_direction", "dependency_length", "upos_bigram")


@dataclass(frozen=True)
class StructureProfile:
    """Counts of each structural feature of one corpus.

    ``head_direction[r] = (head-final, head-initial)`` counts for ``RELATIONS[r]``;
    ``dependency_length[k]`` counts arcs of length ``k + 1``; ``upos_bigram[i, j]`` counts
    ``BIGRAM_TAGS[i]`` followed by ``BIGRAM_TAGS[j]``.
    """

    name: str
    sentences: int
    tokens: int
    word_order: np.ndarray = field(repr=False)  # (6,)
    head_direction: np.ndarray = field(repr=False)  # (len(RELATIONS), 2)
    dependency_length: np.ndarray = field(repr=False)  # (MAX_DEPENDENCY_LENGTH,)
    upos_bigram: np.ndarray = field(repr=False)  # (len(BIGRAM_TAGS), len(BIGRAM_TAGS))

    @property
    def clauses(self) -> int:
        """Clauses with subject, verb and object: the sample size of ``word_order``."""
        return int(self.word_order.sum())

    def order_shares(self) -> dict[str, float]:
        """Share of each basic order among the S-V-O clauses (empty when there are none)."""
        total = self.word_order.sum()
        return {o: float(c / total) for o, c in zip(ORDERS, self.word_order)} if total else {}

    def dominant_order(self) -> str | None:
        return ORDERS[int(np.argmax(self.word_order))] if self.clauses else None

    def head_final_share(self, relation: str) -> float | None:
        """Share of ``relation`` dependents that precede their head (None when unattested)."""
        final, initial = self.head_direction[RELATIONS.index(relation)]
        return float(final / (final + initial)) if final + initial else None

    def mean_dependency_length(self) -> float:
        lengths = np.arange(1, MAX_DEPENDENCY_LENGTH + 1)
        return float((lengths * self.dependency_length).sum() / max(1, self.dependency_length.sum()))

    def __add__(self, other: StructureProfile) -> StructureProfile:
        """Pool two corpora (counts add)."""
        return StructureProfile(
            f"{self.name}+{other.name}", self.sentences + other.sentences, self.tokens + other.tokens,
            self.word_order + other.word_order, self.head_direction + other.head_direction,
            self.dependency_length + other.dependency_length, self.upos_bigram + other.upos_bigram,
        )


def _children(sentence: Sentence) -> dict[int, list[tuple[int, str]]]:
    """Head position -> [(dependent position, universal relation)], positions 1-based."""
    children: dict[int, list[tuple[int, str]]] = {}
    for position, (head, deprel) in enumerate(zip(sentence.heads, sentence.deprels), start=1):
        children.setdefault(head, []).append((position, deprel.split(":")[0]))
    return children


def clause_orders(sentence: Sentence) -> list[str]:
    """The basic order of every clause of ``sentence`` whose verb has an nsubj and an obj.

    Unlike :func:`petra.data.synthetic.word_order_of` (the root clause only), relative and
    subordinate clauses count too, and the predicate may have any UPOS: a word with both an
    ``nsubj`` and an ``obj`` dependent is a transitive predicate (Turkish and Arabic tag some as
    NOUN or ADP). This is the definition of the word-order column of the shared ``MANIFEST.tsv``.
    """
    orders = []
    for head, deps in _children(sentence).items():
        if head == 0:
            continue
        subject = next((p for p, rel in deps if rel == "nsubj"), None)
        obj = next((p for p, rel in deps if rel == "obj"), None)
        if subject is not None and obj is not None:
            positions = {"S": subject, "V": head, "O": obj}
            orders.append("".join(sorted(positions, key=positions.__getitem__)))
    return orders


def profile(sentences: Iterable[Sentence], name: str) -> StructureProfile:
    """Count every feature over ``sentences`` (one pass)."""
    order_index = {o: i for i, o in enumerate(ORDERS)}
    relation_index = {r: i for i, r in enumerate(RELATIONS)}
    tag_index = {t: i for i, t in enumerate(BIGRAM_TAGS)}
    word_order = np.zeros(len(ORDERS), dtype=np.int64)
    direction = np.zeros((len(RELATIONS), 2), dtype=np.int64)
    lengths = np.zeros(MAX_DEPENDENCY_LENGTH, dtype=np.int64)
    bigrams = np.zeros((len(BIGRAM_TAGS), len(BIGRAM_TAGS)), dtype=np.int64)
    count = tokens = 0
    for sentence in sentences:
        count += 1
        tokens += len(sentence)
        for order in clause_orders(sentence):
            word_order[order_index[order]] += 1
        for position, (head, deprel) in enumerate(zip(sentence.heads, sentence.deprels), start=1):
            if head == 0:
                continue
            lengths[min(abs(position - head), MAX_DEPENDENCY_LENGTH) - 1] += 1
            relation = relation_index.get(deprel.split(":")[0])
            if relation is not None:
                direction[relation, 0 if position < head else 1] += 1
        # An unknown tag (not UD v2) is counted as X rather than dropped, so bigrams stay adjacent.
        tags = [BOUNDARY, *sentence.upos, BOUNDARY]
        for left, right in zip(tags, tags[1:]):
            bigrams[tag_index.get(left, tag_index["X"]), tag_index.get(right, tag_index["X"])] += 1
    if count == 0:
        raise PetraError(f"cannot profile {name!r}: no sentences")
    return StructureProfile(name, count, tokens, word_order, direction, lengths, bigrams)


def treebank_profile(
    name: str, data_dir: str | None = None, splits: Sequence[str] | None = None, max_sentences: int | None = None,
) -> StructureProfile:
    """Profile of a UD treebank (all its splits unless ``splits`` names some)."""
    from petra.data.ud import find_treebank

    treebank = find_treebank(name, data_dir)
    chosen = list(splits) if splits else list(treebank.splits)
    sentences = [s for split in chosen for s in treebank.read(split)]
    label = treebank.name.removeprefix("UD_")
    return profile(sentences[:max_sentences] if max_sentences else sentences, label)


SYNTHETIC_PREFIX = "synthetic:"
SYNTHETIC_SENTENCES = 2000


def parse_synthetic(lang: str):  # -> LanguageSpec (imported lazily: the data module is heavier)
    """``synthetic:SOV`` or ``synthetic:SOV,adposition=post,adjective_order=NA`` -> LanguageSpec
    (fields of :class:`petra.data.synthetic.LanguageSpec`; the name is the whole string)."""
    from pydantic import TypeAdapter, ValidationError

    from petra.data.synthetic import LanguageSpec

    order, *options = lang.removeprefix(SYNTHETIC_PREFIX).split(",")
    fields: dict[str, str] = {"name": lang, "word_order": order.strip().upper()}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise PetraError(f"{lang!r}: expected key=value after the word order, got {option!r}")
        fields[key.strip()] = value.strip()
    known = {f.name for f in dataclasses.fields(LanguageSpec)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise PetraError(f"{lang!r}: unknown field(s) {unknown}; known: {', '.join(sorted(known - {'name'}))}")
    try:
        return TypeAdapter(LanguageSpec).validate_python(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise PetraError(f"{lang!r}: invalid field {where!r}: {first['msg']}") from None


def language_profile(
    lang: str, data_dir: str | None = None, max_sentences: int | None = None,
    synthetic_sentences: int = SYNTHETIC_SENTENCES, seed: int = 0,
) -> StructureProfile:
    """Profile of ``lang``: a UD treebank name (``English-EWT``) or ``synthetic:ORDER[,key=value...]``."""
    if lang.startswith(SYNTHETIC_PREFIX):
        from petra.data.synthetic import generate

        return profile(generate(parse_synthetic(lang), synthetic_sentences, seed=seed), lang)
    return treebank_profile(lang, data_dir, max_sentences=max_sentences)
