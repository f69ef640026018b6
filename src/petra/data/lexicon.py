"""A synthetic language's spelling of the shared lexemes (:mod:`petra.data.synthetic`).

``vocab_size`` lexemes split 50% NOUN, 25% VERB, 20% ADJ and the rest (5%) ADP, plus
one relativizer PRON. Frequencies are Zipfian (``zipf_exponent``) within each part of speech.
Forms are random CV syllables (2-3 per word), unique within a language. A fixed, rank-chosen
``shared_vocab`` fraction of each part of speech (the same lexemes in every language, by a hash of
the lexeme) takes its form from a pool generated with a fixed global seed; the rest are the
language's own forms, drawn from ``(name, seed)`` and never equal to a pool form of its lexicon.
With ``case_suffixes`` a noun is spelled ``stem-suffix``, the suffix marking nominative (nsubj),
accusative (obj) or oblique (obl, nmod); suffix forms are per language.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from petra.data.grammar import LexiconSizes, Node

if TYPE_CHECKING:
    from petra.data.synthetic import LanguageSpec

POS_ORDER = ("NOUN", "VERB", "ADJ", "ADP", "PRON")
CONSONANTS = "ptkbdgmnslrvz"
VOWELS = "aeiou"
POOL_SEED = "petra-common-pool-v1"
CASE_OF_DEPREL = {"nsubj": 0, "obj": 1, "obl": 2, "nmod": 2}  # nominative, accusative, oblique


@dataclass(frozen=True)
class Lexicon:
    """A language's spelling of the shared lexemes: ``stems[pos][index]`` and case-marked nouns."""

    stems: Mapping[str, tuple[str, ...]]
    case_suffixes: tuple[str, ...]  # nominative, accusative, oblique; empty when off
    noun_forms: tuple[tuple[str, ...], ...]  # indexed [case][noun index]

    def word(self, node: Node) -> str:
        if node.pos == "NOUN":
            return self.noun_forms[CASE_OF_DEPREL[node.deprel]][node.index]
        return self.stems[node.pos][node.index]


def _random_form(rng: random.Random, syllables: int | None = None) -> str:
    count = syllables or (2 if rng.random() < 0.4 else 3)
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(count))


class _CommonPool:
    """The forms every language may share: one stream from a fixed seed, grown on demand.

    Slots interleave parts of speech (slot = index * 5 + pos), so a lexeme's pool form does not
    depend on vocab_size or on which language asked first.
    """

    def __init__(self) -> None:
        self._rng = random.Random(POOL_SEED)
        self._forms: list[str] = []
        self._seen: set[str] = set()

    def form(self, pos: str, index: int) -> str:
        slot = index * len(POS_ORDER) + POS_ORDER.index(pos)
        while len(self._forms) <= slot:
            form = _random_form(self._rng)
            if form not in self._seen:
                self._seen.add(form)
                self._forms.append(form)
        return self._forms[slot]


_POOL = _CommonPool()


def _shared_indices(pos: str, count: int, fraction: float) -> set[int]:
    """The same lexemes in every language: the lowest-hash ``fraction`` of this part of speech."""

    def key(index: int) -> bytes:
        return hashlib.blake2b(f"{POOL_SEED}:{pos}:{index}".encode(), digest_size=8).digest()

    ranked = sorted(range(count), key=key)
    return set(ranked[: int(fraction * count + 0.5)])


def _draw_unique(rng: random.Random, taken: set[str], syllables: int | None = None) -> str:
    while True:
        form = _random_form(rng, syllables)
        if form not in taken:
            taken.add(form)
            return form


@lru_cache(maxsize=64)
def build_lexicon(spec: LanguageSpec) -> Lexicon:
    """Spell every lexeme of ``spec``: pool forms for the shared fraction, own forms for the rest."""
    rng = random.Random(f"{spec.name}\x00{spec.seed}")
    sizes = LexiconSizes.from_vocab(spec.vocab_size)
    taken: set[str] = set()
    suffixes = tuple(_draw_unique(rng, taken, syllables=1) for _ in range(3)) if spec.case_suffixes else ()
    # Own forms avoid every pool form of this lexicon, so a lexeme not shared never looks shared.
    taken = {_POOL.form(pos, i) for pos in POS_ORDER for i in range(sizes.count(pos))}
    stems = {}
    for pos in POS_ORDER:
        shared = _shared_indices(pos, sizes.count(pos), spec.shared_vocab)
        stems[pos] = tuple(
            _POOL.form(pos, i) if i in shared else _draw_unique(rng, taken) for i in range(sizes.count(pos))
        )
    nouns = stems["NOUN"]
    noun_forms = tuple(tuple(f"{stem}-{suffix}" for stem in nouns) for suffix in suffixes) or (nouns,) * 3
    return Lexicon(stems=MappingProxyType(stems), case_suffixes=suffixes, noun_forms=noun_forms)
