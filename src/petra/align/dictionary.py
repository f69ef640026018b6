"""Exact bilingual dictionaries between synthetic languages, and seed/test splits of them.

Every synthetic language spells the same abstract lexemes (part of speech + index, see
:mod:`petra.data.synthetic`), so the form of lexeme (pos, i) in one language translates exactly
to the form of (pos, i) in the other: the gold dictionary needs no annotation. With case
suffixes each case form of a noun pairs with the same case form in the other language.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petra.data.lexicon import POS_ORDER, build_lexicon
from petra.data.synthetic import LanguageSpec
from petra.errors import PetraError


@dataclass(frozen=True)
class Entry:
    source: str
    target: str
    pos: str


def gold_dictionary(source: LanguageSpec, target: LanguageSpec) -> list[Entry]:
    """Every (source form, target form) pair of the same lexeme, by part of speech and index."""
    if source.vocab_size != target.vocab_size:
        raise PetraError(f"languages {source.name!r} and {target.name!r} need the same vocab_size to share lexemes "
                         f"({source.vocab_size} vs {target.vocab_size})")
    a, b = build_lexicon(source), build_lexicon(target)
    entries = [Entry(x, y, pos) for pos in POS_ORDER if pos != "NOUN" for x, y in zip(a.stems[pos], b.stems[pos])]
    forms = zip(a.noun_forms, b.noun_forms) if a.case_suffixes and b.case_suffixes else [(a.stems["NOUN"], b.stems["NOUN"])]
    seen: set[tuple[str, str]] = set()
    for xs, ys in forms:
        for x, y in zip(xs, ys):
            if (x, y) not in seen:  # without suffixes on one side, case forms repeat
                seen.add((x, y))
                entries.append(Entry(x, y, "NOUN"))
    return entries


def pos_of(entries: list[Entry]) -> tuple[dict[str, str], dict[str, str]]:
    """Part of speech of every source and every target form."""
    return {e.source: e.pos for e in entries}, {e.target: e.pos for e in entries}


def index_pairs(
    entries: list[Entry], source_index: dict[str, int], target_index: dict[str, int],
) -> tuple[np.ndarray, list[str]]:
    """(n, 2) row pairs of the entries whose two forms both have vectors, and their parts of speech."""
    kept = [e for e in entries if e.source in source_index and e.target in target_index]
    pairs = np.array([(source_index[e.source], target_index[e.target]) for e in kept], dtype=np.int64).reshape(-1, 2)
    return pairs, [e.pos for e in kept]


def split_pairs(pairs: np.ndarray, n_seed: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random seed dictionary of ``n_seed`` pairs and the held-out rest (no source word in both)."""
    sources = np.unique(pairs[:, 0])
    if n_seed >= len(sources):
        raise PetraError(f"seed_pairs ({n_seed}) must leave held-out pairs: only {len(sources)} source words "
                         "have vectors in both languages (lower seed_pairs, or raise vocab_size / sentences)")
    chosen = set(rng.choice(sources, size=n_seed, replace=False).tolist())
    in_seed = np.array([s in chosen for s in pairs[:, 0]], dtype=bool)
    return pairs[in_seed], pairs[~in_seed]
