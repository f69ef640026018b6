"""The one abstract grammar every synthetic language shares: lexicon classes, trees, lengths.

Nothing here knows about word order or surface forms; :mod:`petra.data.synthetic` linearises
these trees and spells their lexemes per language. Keeping the abstract part separate is what
makes the languages differ *only* in typology and vocabulary.

Grammar (UD relations in brackets)::

    clause  -> NP[nsubj] VERB NP[obj] (PP[obl])?
    NP      -> NOUN ADJ[amod]{0,2} (PP[nmod])? (RELCL[acl:relcl])?
    PP      -> ADP[case] NP            (the noun heads the PP, as in UD)
    RELCL   -> PRON[nsubj] VERB NP[obj] (the relativizer is the relative clause's subject)

Optional parts are only expanded below ``MAX_DEPTH`` so every tree is finite.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

NUM_AGENT_CLASSES = 4
MIN_VOCAB_SIZE = 20
MIN_CLAUSE_WORDS = 3  # subject, verb, object
MAX_DEPTH = 2
MAX_ADJECTIVES = 2
# Rejection sampling against max_length gives up after this many tries and emits a bare clause.
MAX_TRIES = 100

# Fixed lexicon proportions; adpositions take what is left (5% at the defaults).
NOUN_SHARE, VERB_SHARE, ADJ_SHARE = 0.50, 0.25, 0.20


@dataclass(frozen=True)
class LexiconSizes:
    """How many lexemes each part of speech has (the relativizer PRON is one extra lexeme)."""

    noun: int
    verb: int
    adj: int
    adp: int

    @classmethod
    def from_vocab(cls, vocab_size: int) -> LexiconSizes:
        noun = round(NOUN_SHARE * vocab_size)
        verb = round(VERB_SHARE * vocab_size)
        adj = round(ADJ_SHARE * vocab_size)
        # Rounding can leave no adposition for small vocabularies (23 -> 12+6+5+0): keep at least
        # one of each part of speech, taking it from the nouns (found by the fuzz tests).
        adp = max(1, vocab_size - noun - verb - adj)
        return cls(noun=vocab_size - verb - adj - adp, verb=verb, adj=adj, adp=adp)

    def count(self, pos: str) -> int:
        return {"NOUN": self.noun, "VERB": self.verb, "ADJ": self.adj, "ADP": self.adp, "PRON": 1}[pos]


def agent_class(noun_index: int) -> int:
    """The semantic class of a noun lexeme: its index modulo ``NUM_AGENT_CLASSES``."""
    return noun_index % NUM_AGENT_CLASSES


@dataclass(slots=True, eq=False)
class Node:
    """One word of an abstract tree: a lexeme (part of speech + index within it) and its relation."""

    pos: str
    index: int
    deprel: str
    dependents: list[Node] = field(default_factory=list)

    def dependent(self, deprel: str) -> Node | None:
        for child in self.dependents:
            if child.deprel == deprel:
                return child
        return None


@dataclass(frozen=True)
class GrammarParams:
    """What the abstract sampler needs; ``expansion`` is the one knob that steers length."""

    sizes: LexiconSizes
    zipf_exponent: float
    expansion: float
    relative_clause_prob: float


def expected_length(expansion: float, relative_clause_prob: float) -> float:
    """Expected words per sentence before the max_length cap (the grammar's recursion, solved).

    With ``p = expansion`` and ``r = relative_clause_prob``: a noun takes a first adjective with
    probability p and a second with p again, an nmod PP with p/2, a relative clause with r, and
    the main clause takes an obl PP with p.
    """
    p, r = expansion, relative_clause_prob

    def noun_phrase(depth: int) -> float:
        words = 1.0 + p + p * p
        if depth < MAX_DEPTH:
            inner = noun_phrase(depth + 1)
            words += p / 2 * (1 + inner) + r * (2 + inner)
        return words

    return 1.0 + 2 * noun_phrase(0) + p * (1 + noun_phrase(1))


def length_range(relative_clause_prob: float) -> tuple[float, float]:
    """The mean lengths the grammar can reach for this relative-clause probability."""
    return expected_length(0.0, relative_clause_prob), expected_length(1.0, relative_clause_prob)


@lru_cache(maxsize=256)
def expansion_for(mean_length: float, relative_clause_prob: float) -> float:
    """Solve ``expected_length(p, r) == mean_length`` for p by bisection (it is increasing in p)."""
    low, high = 0.0, 1.0
    for _ in range(50):
        mid = (low + high) / 2
        if expected_length(mid, relative_clause_prob) < mean_length:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _zipf_cumulative(count: int, exponent: float) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(count)))


class TreeSampler:
    """Draws abstract trees; every random choice goes through one ``random.Random``."""

    def __init__(self, params: GrammarParams, rng: random.Random) -> None:
        self.params = params
        self.rng = rng
        sizes = params.sizes
        self._cumulative = {
            pos: _zipf_cumulative(sizes.count(pos), params.zipf_exponent) for pos in ("VERB", "ADJ", "ADP")
        }
        # Nouns: class first (uniform), then Zipf within the class, so that labels are uniform
        # whatever the exponent, and subject and object come from the same distribution.
        self._noun_classes = [range(c, sizes.noun, NUM_AGENT_CLASSES) for c in range(NUM_AGENT_CLASSES)]
        self._noun_cumulative = [
            _zipf_cumulative(len(ids), params.zipf_exponent) for ids in self._noun_classes
        ]
        self._words = 0
        self._expansion = params.expansion
        self._relcl = params.relative_clause_prob

    def sentence(self, max_length: int) -> Node:
        """A main clause of at most ``max_length`` words (rejection sampling, then a bare clause)."""
        for _ in range(MAX_TRIES):
            root = self._clause(self.params.expansion, self.params.relative_clause_prob)
            if self._words <= max_length:
                return root
        return self._clause(0.0, 0.0)

    def _clause(self, expansion: float, relcl: float) -> Node:
        self._words = 0
        self._expansion, self._relcl = expansion, relcl
        verb = self._word("VERB", self._draw("VERB"), "root")
        verb.dependents.append(self._noun_phrase("nsubj", 0))
        verb.dependents.append(self._noun_phrase("obj", 0))
        if self.rng.random() < expansion:
            verb.dependents.append(self._noun_phrase("obl", 1, adposition=True))
        return verb

    def _noun_phrase(self, deprel: str, depth: int, adposition: bool = False) -> Node:
        noun = self._word("NOUN", self._draw_noun(), deprel)
        if adposition:
            noun.dependents.append(self._word("ADP", self._draw("ADP"), "case"))
        p, rng = self._expansion, self.rng
        for _ in range(MAX_ADJECTIVES):
            if rng.random() >= p:
                break
            noun.dependents.append(self._word("ADJ", self._draw("ADJ"), "amod"))
        if depth < MAX_DEPTH:
            if rng.random() < p / 2:
                noun.dependents.append(self._noun_phrase("nmod", depth + 1, adposition=True))
            if rng.random() < self._relcl:
                noun.dependents.append(self._relative_clause(depth + 1))
        return noun

    def _relative_clause(self, depth: int) -> Node:
        verb = self._word("VERB", self._draw("VERB"), "acl:relcl")
        verb.dependents.append(self._word("PRON", 0, "nsubj"))
        verb.dependents.append(self._noun_phrase("obj", depth))
        return verb

    def _word(self, pos: str, index: int, deprel: str) -> Node:
        self._words += 1
        return Node(pos, index, deprel)

    def _draw(self, pos: str) -> int:
        cumulative = self._cumulative[pos]
        return bisect(cumulative, self.rng.random() * cumulative[-1])

    def _draw_noun(self) -> int:
        agent = int(self.rng.random() * NUM_AGENT_CLASSES)
        cumulative = self._noun_cumulative[agent]
        return self._noun_classes[agent][bisect(cumulative, self.rng.random() * cumulative[-1])]
