"""Properties of the synthetic languages that experiments rely on, measured from generated trees."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from petra.data.sentence import Sentence
from petra.data.lexicon import build_lexicon
from petra.data.synthetic import NUM_AGENT_CLASSES, LanguageSpec, generate, word_order_of
from petra.errors import PetraError

WORD_ORDERS = ["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"]


def _is_tree(sentence: Sentence) -> bool:
    n = len(sentence)
    if sum(h == 0 for h in sentence.heads) != 1 or not all(0 <= h <= n for h in sentence.heads):
        return False
    for start in range(1, n + 1):  # follow heads from every word: must reach 0 within n steps
        node, steps = start, 0
        while node != 0 and steps <= n:
            node, steps = sentence.heads[node - 1], steps + 1
        if node != 0:
            return False
    return True


def _is_projective(sentence: Sentence) -> bool:
    arcs = [(min(i, h), max(i, h)) for i, h in enumerate(sentence.heads, start=1) if h != 0]
    return not any(a < c < b < d for a, b in arcs for c, d in arcs)


def _clause_orders(sentence: Sentence) -> list[str]:
    """S/V/O order of every clause (main and relative), from the verbs' nsubj and obj."""
    orders = []
    for verb, upos in enumerate(sentence.upos, start=1):
        if upos != "VERB":
            continue
        found = {"V": verb}
        for i, (head, rel) in enumerate(zip(sentence.heads, sentence.deprels), start=1):
            if head == verb and rel in ("nsubj", "obj"):
                found["S" if rel == "nsubj" else "O"] = i
        orders.append("".join(sorted(found, key=found.__getitem__)))
    return orders


def _dependents(sentence: Sentence, deprel: str) -> list[tuple[int, int]]:
    return [(i, h) for i, (h, r) in enumerate(zip(sentence.heads, sentence.deprels), 1) if r == deprel]


def _main_argument(sentence: Sentence, deprel: str) -> int:
    root = sentence.heads.index(0) + 1
    return next(i for i, h in _dependents(sentence, deprel) if h == root)


def test_same_seed_same_corpus_and_different_seed_different() -> None:
    spec = LanguageSpec("l1", relative_clause_prob=0.3)
    assert generate(spec, 200, seed=3) == generate(spec, 200, seed=3)
    assert generate(spec, 200, seed=3) != generate(spec, 200, seed=4)
    assert generate(spec, 0, seed=3) == []


def test_language_seed_changes_own_forms_only() -> None:
    a = build_lexicon(LanguageSpec("l1", shared_vocab=0.0, seed=1))
    b = build_lexicon(LanguageSpec("l1", shared_vocab=0.0, seed=2))
    assert a.stems["NOUN"] != b.stems["NOUN"]
    assert build_lexicon(LanguageSpec("l1", seed=1)) == build_lexicon(LanguageSpec("l1", seed=2))


@pytest.mark.parametrize("order", WORD_ORDERS)
def test_every_clause_has_the_requested_word_order(order: str) -> None:
    spec = LanguageSpec(f"wo-{order}", word_order=order, relative_clause_prob=0.3)
    corpus = generate(spec, 300, seed=0)
    assert all(word_order_of(s) == order for s in corpus)
    relative = [o for s in corpus for o in _clause_orders(s)[1:]]
    assert len(relative) > 30 and all(o == order for o in relative)


@pytest.mark.parametrize("adjective_order", ["AN", "NA"])
@pytest.mark.parametrize("adposition", ["pre", "post"])
def test_adjective_and_adposition_placement(adjective_order: str, adposition: str) -> None:
    spec = LanguageSpec("place", adjective_order=adjective_order, adposition=adposition, mean_length=12)
    corpus = generate(spec, 300, seed=1)
    amod = [(i, h) for s in corpus for i, h in _dependents(s, "amod")]
    case = [(i, h) for s in corpus for i, h in _dependents(s, "case")]
    assert len(amod) > 100 and len(case) > 100
    assert all((i < h) == (adjective_order == "AN") for i, h in amod)
    assert all((i < h) == (adposition == "pre") for i, h in case)
    case_pos = {(s.upos[i - 1], s.upos[h - 1]) for s in corpus for i, h in _dependents(s, "case")}
    assert case_pos == {("ADP", "NOUN")}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("order", WORD_ORDERS)
def test_trees_are_valid_and_projective(seed: int, order: str) -> None:
    spec = LanguageSpec(f"t{seed}", word_order=order, adposition="post" if seed % 2 else "pre",
                        adjective_order="NA" if seed % 3 else "AN", relative_clause_prob=0.5,
                        mean_length=14, case_suffixes=seed == 4)
    for sentence in generate(spec, 100, seed=seed):
        assert _is_tree(sentence), sentence
        assert _is_projective(sentence), sentence
        root = sentence.heads.index(0)
        assert sentence.upos[root] == "VERB" and sentence.deprels[root] == "root"
        assert set(sentence.deprels) <= {"root", "nsubj", "obj", "amod", "case", "obl", "nmod", "acl:relcl"}


def test_tree_checks_reject_broken_trees() -> None:
    words, upos, rels = ("a", "b", "c"), ("VERB", "NOUN", "NOUN"), ("x",) * 3
    assert _is_tree(Sentence(words, upos, (0, 1, 2), rels, "t"))
    assert not _is_tree(Sentence(words, upos, (0, 3, 2), rels, "t"))  # one root, but 2 <-> 3 cycle
    assert not _is_projective(Sentence(words + ("d",), upos + ("ADJ",), (0, 4, 1, 1), rels + ("x",), "t"))
    assert not _is_tree(Sentence(("a", "b"), ("NOUN", "VERB"), (0, 0), ("x",) * 2, "t"))
    assert not _is_tree(Sentence(("a", "b"), ("NOUN", "VERB"), (3, 0), ("x",) * 2, "t"))


def _shared_fraction(a: LanguageSpec, b: LanguageSpec) -> float:
    stems_a, stems_b = build_lexicon(a).stems, build_lexicon(b).stems
    pairs = [(x, y) for pos in stems_a for x, y in zip(stems_a[pos], stems_b[pos])]
    return sum(x == y for x, y in pairs) / len(pairs)


@pytest.mark.parametrize(("shared", "low", "high"), [(1.0, 1.0, 1.0), (0.5, 0.45, 0.55), (0.0, 0.0, 0.01)])
def test_shared_vocab_fraction(shared: float, low: float, high: float) -> None:
    a = LanguageSpec("alpha", shared_vocab=shared, seed=1)
    b = LanguageSpec("beta", shared_vocab=shared, seed=2, word_order="SOV")
    assert low <= _shared_fraction(a, b) <= high
    # Across the whole forms sets too, not just lexeme by lexeme.
    forms_a = {f for forms in build_lexicon(a).stems.values() for f in forms}
    forms_b = {f for forms in build_lexicon(b).stems.values() for f in forms}
    assert low - 0.01 <= len(forms_a & forms_b) / len(forms_a) <= high + 0.01


@pytest.mark.parametrize("spec", [LanguageSpec("u", shared_vocab=0.3), LanguageSpec("v", vocab_size=20)])
def test_surface_forms_never_collide(spec: LanguageSpec) -> None:
    forms = [f for stems in build_lexicon(spec).stems.values() for f in stems]
    assert len(forms) == len(set(forms)) == spec.vocab_size + 1  # + the relativizer


def test_label_is_subject_class_uniform_and_independent_of_object() -> None:
    spec = LanguageSpec("lab", relative_clause_prob=0.2)
    nouns = build_lexicon(spec).stems["NOUN"]
    corpus = generate(spec, 4000, seed=7)
    subject_classes, same_class = [], 0
    for s in corpus:
        subject = nouns.index(s.words[_main_argument(s, "nsubj") - 1])
        obj = nouns.index(s.words[_main_argument(s, "obj") - 1])
        assert s.label == subject % NUM_AGENT_CLASSES
        subject_classes.append(s.label)
        same_class += subject % NUM_AGENT_CLASSES == obj % NUM_AGENT_CLASSES
    counts = Counter(subject_classes)
    assert set(counts) == set(range(NUM_AGENT_CLASSES))
    assert all(0.22 <= c / len(corpus) <= 0.28 for c in counts.values())
    # The bag-of-words ceiling 1/4 + 3/4 * 1/2 = 62.5% holds only if the classes are independent.
    bag_of_words_ceiling = same_class / len(corpus) + (1 - same_class / len(corpus)) / 2
    assert 0.60 <= bag_of_words_ceiling <= 0.65


def test_lengths_capped_and_steered_by_mean_length() -> None:
    capped = generate(LanguageSpec("cap", mean_length=12, max_length=13, relative_clause_prob=0.3), 500, 0)
    assert max(map(len, capped)) <= 13 and min(map(len, capped)) >= 3
    corpora = [generate(LanguageSpec("m", mean_length=m), 2000, seed=0) for m in (5, 8, 14)]
    means = [statistics.mean(map(len, corpus)) for corpus in corpora]
    assert means[0] < means[1] < means[2]
    assert means[0] == pytest.approx(5, rel=0.1) and means[1] == pytest.approx(8, rel=0.1)


def test_case_suffixes_mark_subject_and_object() -> None:
    spec = LanguageSpec("agglu", case_suffixes=True, word_order="OSV")
    nominative, accusative, oblique = build_lexicon(spec).case_suffixes
    assert len({nominative, accusative, oblique}) == 3
    for s in generate(spec, 200, seed=2):
        assert s.words[_main_argument(s, "nsubj") - 1].endswith("-" + nominative)
        assert s.words[_main_argument(s, "obj") - 1].endswith("-" + accusative)
        assert all(s.words[i - 1].endswith("-" + oblique) for i, _ in _dependents(s, "obl"))
    plain = generate(LanguageSpec("plain"), 50, seed=2)
    assert not any("-" in w for s in plain for w in s.words)


def test_noun_frequencies_are_zipfian() -> None:
    corpus = generate(LanguageSpec("zipf"), 3000, seed=0)
    counts = sorted(Counter(w for s in corpus for w, u in zip(s.words, s.upos) if u == "NOUN").values())
    assert counts[-1] >= 8 * statistics.median(counts)
    flat = generate(LanguageSpec("zipf", zipf_exponent=0.0), 3000, seed=0)
    flat_counts = sorted(Counter(w for s in flat for w, u in zip(s.words, s.upos) if u == "NOUN").values())
    assert flat_counts[-1] < 3 * statistics.median(flat_counts)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("word_order", {"word_order": "XYZ"}),
        ("adjective_order", {"adjective_order": "AA"}),
        ("adposition", {"adposition": "in"}),
        ("shared_vocab", {"shared_vocab": 1.5}),
        ("vocab_size", {"vocab_size": 5}),
        ("max_length", {"max_length": 2}),
        ("mean_length", {"mean_length": 2.0}),
        ("mean_length", {"mean_length": 50.0, "max_length": 60}),
        ("mean_length", {"mean_length": 12.0, "max_length": 10}),
        ("relative_clause_prob", {"relative_clause_prob": -0.1}),
        ("zipf_exponent", {"zipf_exponent": -1.0}),
        ("case_suffixes", {"case_suffixes": "yes"}),
        ("name", {"name": ""}),
    ],
)
def test_bad_spec_names_the_field(field: str, overrides: dict) -> None:
    with pytest.raises(PetraError, match=field):
        LanguageSpec(**{"name": "bad", **overrides})


def test_bad_generate_arguments() -> None:
    with pytest.raises(PetraError, match="n must"):
        generate(LanguageSpec("x"), -1, seed=0)
