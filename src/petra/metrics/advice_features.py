"""What `petra advise` knows about a (source, target) pair before any training: the features its
ranker reads (LangRank, Lin et al. 2019, plus petra's structure measures and script coverage).

Per pair, measured on at most ``TEXT_SENTENCES`` sentences of each side (a source: the text it
trains on, its train split else its dev split; a target: every split but test, else its test split):

* ``word_overlap`` — share of the target's word types (lower-cased) the source has;
* ``subword_overlap`` — share of the target's character 3-gram types (inside words, with boundary
  marks) the source has: what a sub-word vocabulary fitted on the source could reuse;
* ``char_coverage`` — share of the target's letters (running text) that occur at least
  ``MIN_CHAR_COUNT`` times in the source: what a tokenizer fitted on the source would know;
* ``script_overlap`` — share of the target's letters written in a script that makes up at least
  ``MAIN_SCRIPT`` of the source's letters (a script from the Unicode character name: LATIN,
  CYRILLIC, CJK, ...): 0 for a script the source lacks, whose words reach it as unknowns;
* ``source_ttr``, ``target_ttr`` — moving-average type-token ratio (window ``TTR_WINDOW`` tokens,
  Covington & McFall 2010: independent of corpus size), and ``ttr_distance`` = (1 − TTR_s / TTR_t)²
  as LangRank defines it;
* ``source_size`` — log10 of the sentences the source trains on;
* every structure distance of :mod:`petra.metrics.similarity` (feature × measure, and ``combined``)
  between treebank profiles, NaN where a side has no trees;
* every URIEL distance (``uriel.<kind>``), NaN where URIEL lacks the language or the features.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from petra.data.sentence import Sentence
from petra.data.sources.pools import capped
from petra.errors import PetraError
from petra.metrics.similarity import (
    COMBINED, MEASURES, URIEL_KINDS, combined_distance, feature_distance, uriel_distance,
)
from petra.metrics.structure import FEATURES, StructureProfile, profile

TEXT_SENTENCES = 2000
TTR_WINDOW = 500
MIN_CHAR_COUNT = 5
MAIN_SCRIPT = 0.05
# Features where more means a better source (every other one is a distance: less is better).
HIGHER_IS_CLOSER = ("word_overlap", "subword_overlap", "char_coverage", "script_overlap", "source_size")
TEXT_FEATURES = ("word_overlap", "subword_overlap", "char_coverage", "script_overlap", "source_ttr", "target_ttr", "ttr_distance",
                 "source_size")
STRUCTURE_FEATURES = (*(f"{f}.{m}" for f in FEATURES for m in MEASURES), COMBINED)
URIEL_FEATURES = tuple(f"uriel.{kind}" for kind in URIEL_KINDS)
ALL_FEATURES = (*TEXT_FEATURES, *STRUCTURE_FEATURES, *URIEL_FEATURES)


@dataclass(frozen=True)
class AdviceLanguage:
    """One side of a pair, measured once: its text statistics and its structure profile."""

    name: str
    uriel_name: str | None  # the name URIEL is asked for (a UD treebank or language name); None: no URIEL
    size: int  # sentences a source trains on; a target's sentences
    words: frozenset[str]
    trigrams: frozenset[str]
    letters: Counter  # letter -> running count
    scripts: Counter  # script -> letters written in it
    ttr: float
    profile: StructureProfile | None  # None: no dependency trees to profile


def script(letter: str) -> str:
    """The script of a letter as its Unicode name starts (LATIN, CYRILLIC, ARABIC, CJK, HANGUL, ...)."""
    return unicodedata.name(letter, "UNKNOWN").split()[0]


def _has_trees(sentences: Sequence[Sentence]) -> bool:
    return any(any(h > 0 for h in s.heads) for s in sentences[:50])


def moving_ttr(tokens: Sequence[str], window: int = TTR_WINDOW) -> float:
    """Mean type-token ratio over every ``window``-token window (the plain ratio for fewer tokens)."""
    if not tokens:
        return float("nan")
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts, ratios = Counter(tokens[:window]), []
    ratios.append(len(counts) / window)
    for leaving, entering in zip(tokens, tokens[window:]):
        counts[entering] += 1
        counts[leaving] -= 1
        if not counts[leaving]:
            del counts[leaving]
        ratios.append(len(counts) / window)
    return float(np.mean(ratios))


def describe(name: str, sentences: Sequence[Sentence], size: int, uriel_name: str | None,
             trees: Sequence[Sentence] = ()) -> AdviceLanguage:
    """``sentences``: the text measured (capped here); ``trees``: the sentences profiled (default the same)."""
    text = capped(list(sentences), TEXT_SENTENCES, 0)
    if not text:
        raise PetraError(f"{name}: no sentences to measure")
    tokens = [w.lower() for s in text for w in s.words]
    trigrams = {f"<{w}>"[i:i + 3] for w in set(tokens) for i in range(max(1, len(w)))}
    profiled = capped(list(trees or sentences), TEXT_SENTENCES, 0)
    letters = Counter(c for s in text for w in s.words for c in w if c.isalpha())
    scripts = Counter()
    for letter, n in letters.items():
        scripts[script(letter)] += n
    return AdviceLanguage(name, uriel_name, size, frozenset(tokens), frozenset(trigrams), letters, scripts,
                          moving_ttr(tokens), profile(profiled, name) if _has_trees(profiled) else None)


def _share(target: frozenset[str], source: frozenset[str]) -> float:
    return len(target & source) / len(target) if target else float("nan")


def pair_features(source: AdviceLanguage, target: AdviceLanguage, data_dir: str | None = None) -> dict[str, float]:
    """Every feature of :data:`ALL_FEATURES` for transfer from ``source`` to ``target``."""
    letters = max(1, sum(target.letters.values()))
    known = sum(n for c, n in target.letters.items() if source.letters[c] >= MIN_CHAR_COUNT)
    main = {name for name, n in source.scripts.items() if n >= MAIN_SCRIPT * sum(source.scripts.values())}
    shared = sum(n for name, n in target.scripts.items() if name in main)
    row = {
        "word_overlap": _share(target.words, source.words),
        "subword_overlap": _share(target.trigrams, source.trigrams),
        "char_coverage": known / letters,
        "script_overlap": shared / letters,
        "source_ttr": source.ttr,
        "target_ttr": target.ttr,
        "ttr_distance": (1 - source.ttr / target.ttr) ** 2,
        "source_size": math.log10(max(1, source.size)),
    }
    for feature in FEATURES:
        for measure in MEASURES:
            row[f"{feature}.{measure}"] = (feature_distance(source.profile, target.profile, feature, measure)
                                           if source.profile and target.profile else float("nan"))
    row[COMBINED] = combined_distance(source.profile, target.profile) if source.profile and target.profile else float("nan")
    for kind in URIEL_KINDS:
        row[f"uriel.{kind}"] = _uriel(source, target, kind, data_dir)
    return row


def _uriel(source: AdviceLanguage, target: AdviceLanguage, kind: str, data_dir: str | None) -> float:
    if source.uriel_name is None or target.uriel_name is None:
        return float("nan")
    quiet = logging.getLogger("petra.metrics.similarity")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # URIEL's gaps are expected here: NaN, not a warning per pair
    try:
        return uriel_distance(source.uriel_name, target.uriel_name, kind, data_dir)
    except PetraError:  # no ISO code, or a language URIEL lacks: no value for this pair
        return float("nan")
    finally:
        quiet.setLevel(level)
