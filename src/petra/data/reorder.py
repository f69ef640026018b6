"""Tree re-ordering: re-linearise a dependency tree in another basic word order by moving whole
subtrees (subject, object, obliques), as in source-side reordering for cross-lingual transfer
(Rasooli & Collins 2019; Wang & Eisner 2016, "The Galactic Dependencies Treebanks"). Labels, heads
and relations travel with their words; the result is a valid, projective tree. Also the clause-order
measures (:func:`clause_order`, :func:`dominant_order`) that MANIFEST.tsv and the target table use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

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
