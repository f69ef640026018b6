"""Distances between structure profiles (KL, Jensen–Shannon, Wasserstein) and URIEL distances.

Measures, all on the features of :mod:`petra.metrics.structure`:

* ``kl`` — KL(P‖Q) in nats (Kullback & Leibler 1951) after **Lidstone add-α smoothing of the
  counts with α = 0.5** (the Jeffreys / Krichevsky–Trofimov prior) over the feature's whole
  support, so an order or bigram unseen in Q gives a large but finite value. Not symmetric.
* ``symmetric_kl`` — (KL(P‖Q) + KL(Q‖P)) / 2 (half Jeffreys' divergence), same smoothing.
* ``js`` — Jensen–Shannon *distance* (Lin 1991; Endres & Schindelin 2003): the square root of
  the JS divergence in bits, on the unsmoothed empirical distributions; a metric in [0, 1].
* ``wasserstein`` — earth mover's distance W1 (POT, Flamary et al. 2021) on the unsmoothed
  distributions with these ground costs:
  - ``word_order``: Kendall distance between the two orders (adjacent swaps of S, V, O that
    turn one into the other) / 3, so SVO–SOV = 1/3, SVO–OSV = 2/3, SVO–OVS = 1;
  - ``head_direction``: 1 between "dependent before head" and "after"; per relation this is
    |share_P − share_Q| of head-final dependents;
  - ``dependency_length``: |k − l| words (``ot.wasserstein_1d``; the last bin counts as 20);
  - ``upos_bigram``: number of the two tags that differ / 2 (0, ½ or 1).

``head_direction`` compares one two-way distribution per relation; its value is the mean over
relations attested at least ``MIN_RELATION_COUNT`` times in both corpora. The **combined
distance** is the unweighted mean of the JS distances (each in [0, 1]) of the two features
measured on every word, ``dependency_length`` (every arc) and ``upos_bigram`` (every tag pair).
It was the mean over all four until measured transfer said otherwise: over petra's source × target
matrix (configs/source_matrix.yaml, 8 sources × 18 targets, UPOS), ranking each target's sources
by the four-feature mean scored zero-shot NDCG@3 0.554 and Spearman 0.175 (leave-one-target-out
table in the README, "Which source language?"), below ``upos_bigram`` alone (0.587, 0.386); word
order (counted on the few clauses with both a subject and an object) was the weakest single
measure (Spearman 0.062) and lowered every mean it joined. The two dense features together: 0.569
and 0.382 zero-shot, 0.434 / 0.176 after k = 10 (the four: 0.381 / 0.193). A feature with no
data in a profile gives NaN, and the combined distance averages the features that are defined.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import ot
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from petra.errors import PetraError
from petra.metrics.structure import BIGRAM_TAGS, FEATURES, MAX_DEPENDENCY_LENGTH, ORDERS, RELATIONS, StructureProfile

log = logging.getLogger(__name__)

MEASURES: tuple[str, ...] = ("kl", "symmetric_kl", "js", "wasserstein")
KL_ALPHA = 0.5
MIN_RELATION_COUNT = 10
COMBINED = "combined"
COMBINED_FEATURES = ("dependency_length", "upos_bigram")  # measured on every word (see the module docstring)


def _kendall(a: str, b: str) -> int:
    """Adjacent transpositions between two orders of the same letters (discordant pairs)."""
    return sum(1 for x, y in permutations(a, 2) if a.index(x) < a.index(y) and b.index(x) > b.index(y))


def _ground_costs() -> dict[str, np.ndarray]:
    orders = np.array([[_kendall(a, b) / 3 for b in ORDERS] for a in ORDERS])
    n = len(BIGRAM_TAGS)
    pairs = [(i, j) for i in range(n) for j in range(n)]
    bigrams = np.array([[((i != k) + (j != m)) / 2 for k, m in pairs] for i, j in pairs])
    lengths = np.arange(1, MAX_DEPENDENCY_LENGTH + 1, dtype=float)
    return {
        "word_order": orders,
        "head_direction": 1.0 - np.eye(2),
        "dependency_length": np.abs(lengths[:, None] - lengths[None, :]),
        "upos_bigram": bigrams,
    }


GROUND_COSTS = _ground_costs()


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray, alpha: float = KL_ALPHA) -> float:
    """KL(P‖Q) in nats with add-``alpha`` smoothing of both count vectors."""
    p = np.asarray(p_counts, dtype=float).ravel() + alpha
    q = np.asarray(q_counts, dtype=float).ravel() + alpha
    return float(entropy(p / p.sum(), q / q.sum()))


def symmetric_kl(p_counts: np.ndarray, q_counts: np.ndarray, alpha: float = KL_ALPHA) -> float:
    return 0.5 * (kl_divergence(p_counts, q_counts, alpha) + kl_divergence(q_counts, p_counts, alpha))


def js_distance(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """sqrt(JS divergence) in bits, unsmoothed; 0 for equal distributions, 1 for disjoint ones."""
    p = np.asarray(p_counts, dtype=float).ravel()
    q = np.asarray(q_counts, dtype=float).ravel()
    return float(jensenshannon(p / p.sum(), q / q.sum(), base=2))


def wasserstein(p_counts: np.ndarray, q_counts: np.ndarray, cost: np.ndarray) -> float:
    """W1 between the two empirical distributions under ``cost`` (exact OT, ``ot.emd2``)."""
    p = np.asarray(p_counts, dtype=float).ravel()
    q = np.asarray(q_counts, dtype=float).ravel()
    return float(ot.emd2(p / p.sum(), q / q.sum(), cost))


def _length_wasserstein(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    support = np.arange(1, len(p_counts) + 1, dtype=float)
    return float(ot.wasserstein_1d(support, support, p_counts / p_counts.sum(), q_counts / q_counts.sum(), p=1))


def _count_pairs(a: StructureProfile, b: StructureProfile, feature: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (P, Q) count vectors a feature compares: one pair, or one per shared relation."""
    if feature == "head_direction":
        return [
            (a.head_direction[r], b.head_direction[r]) for r in range(len(RELATIONS))
            if min(a.head_direction[r].sum(), b.head_direction[r].sum()) >= MIN_RELATION_COUNT
        ]
    if feature not in FEATURES:
        raise PetraError(f"unknown structure feature {feature!r}; expected one of {', '.join(FEATURES)}")
    p, q = getattr(a, feature), getattr(b, feature)
    return [(p, q)] if p.sum() > 0 and q.sum() > 0 else []


def _measure(feature: str, measure: str) -> Callable[[np.ndarray, np.ndarray], float]:
    if measure == "kl":
        return kl_divergence
    if measure == "symmetric_kl":
        return symmetric_kl
    if measure == "js":
        return js_distance
    if measure == "wasserstein":
        if feature == "dependency_length":
            return _length_wasserstein
        cost = GROUND_COSTS[feature]
        return lambda p, q: wasserstein(p, q, cost)
    raise PetraError(f"unknown distance measure {measure!r}; expected one of {', '.join(MEASURES)}")


def feature_distance(a: StructureProfile, b: StructureProfile, feature: str, measure: str) -> float:
    """``measure`` between the ``feature`` distributions of ``a`` and ``b`` (NaN if undefined)."""
    pairs = _count_pairs(a, b, feature)
    function = _measure(feature, measure)
    return float(np.mean([function(p, q) for p, q in pairs])) if pairs else float("nan")


def combined_distance(a: StructureProfile, b: StructureProfile) -> float:
    """Unweighted mean of the JS distances of :data:`COMBINED_FEATURES` (the defined ones)."""
    values = [feature_distance(a, b, f, "js") for f in COMBINED_FEATURES]
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else float("nan")


def _matrix(names: Sequence[str], value: Callable[[int, int], float]) -> pd.DataFrame:
    n = len(names)
    return pd.DataFrame([[value(i, j) for j in range(n)] for i in range(n)], index=list(names), columns=list(names))


def distance_matrix(profiles: Sequence[StructureProfile], feature: str, measure: str) -> pd.DataFrame:
    """Row ``i``, column ``j``: distance from profile i (P) to profile j (Q); ``combined`` too."""
    names = [p.name for p in profiles]
    if feature == COMBINED:
        return _matrix(names, lambda i, j: combined_distance(profiles[i], profiles[j]))
    return _matrix(names, lambda i, j: feature_distance(profiles[i], profiles[j], feature, measure))


def distance_matrices(profiles: Sequence[StructureProfile]) -> dict[str, pd.DataFrame]:
    """Every ``feature.measure`` matrix plus ``combined``."""
    out = {f"{f}.{m}": distance_matrix(profiles, f, m) for f in FEATURES for m in MEASURES}
    out[COMBINED] = distance_matrix(profiles, COMBINED, "js")
    return out


# --- URIEL (Littell et al. 2017, "URIEL and lang2vec"), through URIEL+ (Khan et al. 2025) ---------
# lang2vec's PyPI release has feature look-ups but no distance function; URIEL+ ships the same
# URIEL data (offline) and computes the angular distances lang2vec's paper defines.

URIEL_KINDS: tuple[str, ...] = ("syntactic", "geographic", "genetic", "phonological", "inventory", "featural")

def iso_codes(language: str, data_dir: str | Path | None = None) -> list[str]:
    """ISO 639-3 candidates of a UD language or treebank name (``Kazakh``, ``Kazakh-KTB``,
    ``UD_Kazakh-KTB``), best first: from the treebank's file names when it is found under
    ``data_dir`` / PETRA_DATA (UD names every file by its language code: ``kk_ktb-ud-test.conllu``
    -> kk -> kaz), then from the language name (``langcodes``, with the ``language-data`` names)."""
    import langcodes

    if language.startswith("synthetic:"):
        raise PetraError(f"{language!r} is a synthetic language: URIEL distances exist for real languages only")
    codes = []
    prefix = _file_code(language, data_dir)
    if prefix is not None:
        try:  # the code as UD wrote it (tl -> tgl), then as langcodes normalises it (tl -> fil)
            codes += [langcodes.get(prefix, normalize=False).to_alpha3(), langcodes.get(prefix).to_alpha3()]
        except (LookupError, ValueError):
            pass
    name = language.removeprefix("UD_").split("-")[0].replace("_", " ")
    try:
        codes.append(langcodes.find(name).to_alpha3())
    except LookupError:
        pass
    if not codes:
        raise PetraError(f"no ISO 639-3 code found for language {name!r} (from {language!r}): its treebank's file "
                         "names give no language code and langcodes knows no language of that name")
    return list(dict.fromkeys(codes))


def _file_code(language: str, data_dir: str | Path | None) -> str | None:
    """The language code UD puts before the first '_' of a treebank's file names, when found."""
    from petra.data.ud import find_treebank

    try:
        bank = find_treebank(language, data_dir)
    except PetraError:  # no data folder, or not a treebank of it: the name alone decides
        return None
    files = [path.name for path in bank.splits.values()]
    return files[0].split("_")[0] if files and "_" in files[0] else None


def iso_code(language: str, data_dir: str | Path | None = None) -> str:
    """The best ISO 639-3 candidate (:func:`iso_codes`)."""
    return iso_codes(language, data_dir)[0]


@contextmanager
def _quiet_urielplus() -> Iterator[None]:
    """URIEL+ logs every call at INFO on the root logger and calls ``basicConfig`` on import:
    silence it for the call and undo the handler and level it installs."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@lru_cache(maxsize=1)
def _uriel() -> Any:
    with _quiet_urielplus():
        from urielplus import urielplus

        return urielplus.URIELPlus()


def uriel_code(language: str, data_dir: str | Path | None = None) -> str:
    """The first ISO 639-3 candidate of ``language`` that URIEL knows (a candidate can be a
    macrolanguage or a code URIEL does not list)."""
    candidates, known = iso_codes(language, data_dir), _uriel().langs[0]
    code = next((c for c in candidates if c in known), None)
    if code is None:
        raise PetraError(f"language {language!r} (ISO 639-3 {' / '.join(repr(c) for c in candidates)}) is missing from URIEL")
    return code


def uriel_distance(a: str, b: str, kind: str = "syntactic", data_dir: str | Path | None = None) -> float:
    """URIEL angular distance of ``kind`` between two languages (UD names); NaN when URIEL has
    no feature of that kind known for both (e.g. phonology of Welsh)."""
    if kind not in URIEL_KINDS:
        raise PetraError(f"unknown URIEL distance {kind!r}; expected one of {', '.join(URIEL_KINDS)}")
    codes = [uriel_code(a, data_dir), uriel_code(b, data_dir)]
    if codes[0] == codes[1]:
        return 0.0
    uriel = _uriel()
    with _quiet_urielplus():
        try:
            return float(uriel.new_distance(kind, codes))
        except ValueError as exc:  # URIEL+: no shared features of this kind for the pair
            log.warning("URIEL %s distance %s–%s undefined: %s", kind, a, b, str(exc).splitlines()[0])
            return float("nan")


def uriel_matrix(languages: Sequence[str], kind: str = "syntactic", data_dir: str | Path | None = None) -> pd.DataFrame:
    """Symmetric matrix of URIEL ``kind`` distances between UD languages or treebank names."""
    cache: dict[frozenset[str], float] = {}
    codes = {language: uriel_code(language, data_dir) for language in languages}

    def value(i: int, j: int) -> float:
        key = frozenset((codes[languages[i]], codes[languages[j]]))
        if key not in cache:
            cache[key] = uriel_distance(languages[i], languages[j], kind, data_dir)
        return cache[key]

    return _matrix(languages, value)
