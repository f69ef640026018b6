"""Structure profiles: counts on hand-made trees, synthetic languages, and real UD treebanks."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from petra.data.sentence import Sentence
from petra.data.synthetic import LanguageSpec, generate, word_order_of
from petra.errors import PetraError
from petra.metrics.structure import (
    BIGRAM_TAGS, MAX_DEPENDENCY_LENGTH, ORDERS, RELATIONS, clause_orders, language_profile, parse_synthetic, profile,
    treebank_profile,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")

# "the dog that I saw chased a cat": the relative clause is OSV (that=obj, I=nsubj, saw), the main SVO.
RELATIVE = Sentence(
    words=("the", "dog", "that", "I", "saw", "chased", "a", "cat"),
    upos=("DET", "NOUN", "PRON", "PRON", "VERB", "VERB", "DET", "NOUN"),
    heads=(2, 6, 5, 5, 2, 0, 8, 6),
    deprels=("det", "nsubj", "obj", "nsubj", "acl:relcl", "root", "det", "obj"),
    lang="toy",
)


@lru_cache(maxsize=None)
def real(name: str, split: str | None = None):
    return treebank_profile(name, SHARED, [split] if split else None)


def test_every_clause_with_subject_and_object_counts_in_the_order_it_has():
    assert sorted(clause_orders(RELATIVE)) == ["OSV", "SVO"]
    assert word_order_of(RELATIVE) == "SVO"  # the synthetic helper sees the root clause only


def test_counts_of_a_hand_made_tree():
    p = profile([RELATIVE], "toy")
    assert p.sentences == 1 and p.tokens == 8 and p.clauses == 2
    assert p.order_shares()["SVO"] == 0.5 and p.order_shares()["OSV"] == 0.5
    # det precedes its head twice (head-final); obj: "that" before saw, "cat" after chased.
    assert tuple(p.head_direction[RELATIONS.index("det")]) == (2, 0)
    assert tuple(p.head_direction[RELATIONS.index("obj")]) == (1, 1)
    assert p.head_final_share("nsubj") == 1.0 and p.head_final_share("case") is None
    # Arc lengths: 1,4,2,1,3,(root),1,2 -> seven arcs.
    assert p.dependency_length.sum() == 7 and tuple(p.dependency_length[:4]) == (3, 2, 1, 1)
    assert p.upos_bigram.sum() == 9  # 8 words + 2 boundaries -> 9 adjacent pairs
    assert p.upos_bigram[BIGRAM_TAGS.index("<s>"), BIGRAM_TAGS.index("DET")] == 1


def test_long_arcs_share_the_last_length_bin():
    n = MAX_DEPENDENCY_LENGTH + 10
    heads = (n,) + (n,) * (n - 2) + (0,)
    sentence = Sentence(("w",) * n, ("NOUN",) * (n - 1) + ("VERB",), heads, ("obl",) * (n - 1) + ("root",), "x")
    lengths = profile([sentence], "x").dependency_length
    assert lengths[-1] == 10  # positions 1..10 -> head at 30: arcs of length 29..20
    assert lengths.sum() == n - 1


@pytest.mark.parametrize("order", ORDERS)
def test_a_synthetic_language_has_its_one_order_in_every_clause(order):
    spec = LanguageSpec(name=order.lower(), word_order=order, relative_clause_prob=0.5)
    sentences = generate(spec, 150, seed=3)
    p = profile(sentences, spec.name)
    assert p.order_shares()[order] == 1.0
    assert p.clauses > len(sentences)  # relative clauses are clauses too


def test_adposition_and_adjective_order_show_in_head_direction():
    post = profile(generate(LanguageSpec(name="a", adposition="post", adjective_order="NA"), 300, seed=0), "a")
    pre = profile(generate(LanguageSpec(name="b", adposition="pre", adjective_order="AN"), 300, seed=0), "b")
    # UD makes the noun the head of its adposition: a postposition follows its head.
    assert post.head_final_share("case") == 0.0 and pre.head_final_share("case") == 1.0
    assert post.head_final_share("amod") == 0.0 and pre.head_final_share("amod") == 1.0


def test_profiles_pool_by_adding_counts():
    a = profile(generate(LanguageSpec(name="a"), 50, seed=0), "a")
    b = profile([RELATIVE], "toy")
    both = a + b
    assert both.tokens == a.tokens + 8 and np.array_equal(both.word_order, a.word_order + b.word_order)


def test_bad_input_is_a_one_line_petra_error():
    with pytest.raises(PetraError, match="no sentences"):
        profile([], "empty")
    with pytest.raises(PetraError, match="word_order"):
        parse_synthetic("synthetic:XYZ")
    with pytest.raises(PetraError, match=r"unknown field\(s\) \['colour'\]"):
        parse_synthetic("synthetic:SOV,colour=red")
    spec = parse_synthetic("synthetic:sov,adposition=post,shared_vocab=0.5")
    assert (spec.word_order, spec.adposition, spec.shared_vocab) == ("SOV", "post", 0.5)
    assert language_profile("synthetic:VOS", synthetic_sentences=40).dominant_order() == "VOS"


@needs_ud
def test_english_is_svo():
    assert real("English-EWT", "test").order_shares()["SVO"] >= 0.8


@needs_ud
def test_japanese_is_sov():
    p = real("Japanese-GSD")
    assert p.order_shares()["SOV"] >= 0.8
    assert p.head_final_share("case") < 0.05  # postpositions follow their head noun


@needs_ud
def test_irish_is_vso_dominant():
    p = real("Irish-IDT")
    shares = p.order_shares()
    assert p.dominant_order() == "VSO" and shares["VSO"] > 0.5
    assert p.head_final_share("amod") < 0.2  # noun-adjective


@needs_ud
def test_counts_match_the_shared_manifest():
    # MANIFEST.tsv: Irish-IDT "VSO 0.65, SVO 0.20, OVS 0.13 (n=275)", measured the same way.
    p = real("Irish-IDT")
    assert p.clauses == 275 and round(p.order_shares()["VSO"], 2) == 0.65
