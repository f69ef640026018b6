"""Property/fuzz tests (Hypothesis): front doors never crash with anything but the named error.

The default run uses a few dozen examples each; `pytest -m slow tests/fuzz` runs 1,000+ each
(set PETRA_FUZZ_EXAMPLES to change it).
"""

import os
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petra.config import load_config, parse_config
from petra.data.synthetic import LanguageSpec, generate, word_order_of
from petra.data.ud import read_conllu
from petra.errors import PetraError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=int(os.environ.get("PETRA_FUZZ_EXAMPLES", 1000)), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- CoNLL-U reader -------------------------------------------------------------------------
FIELD = st.text(alphabet=string.ascii_letters + string.digits + "_-:.|=", min_size=1, max_size=6)


@st.composite
def conllu_text(draw):
    """Mostly well-formed sentences with random damage: bad heads, missing fields, junk lines."""
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 6))
        lines = [f"# sent_id = {draw(FIELD)}"]
        for i in range(1, n + 1):
            head = draw(st.one_of(st.integers(0, n), st.integers(-2, n + 3), st.just("_"), FIELD))
            cols = [str(i), draw(FIELD), "_", draw(st.sampled_from(["NOUN", "VERB", "ADP"])), "_", "_",
                    str(head), draw(st.sampled_from(["nsubj", "obj", "root"])), "_", "_"]
            if draw(st.integers(0, 12)) == 0:
                cols = cols[: draw(st.integers(1, 9))]
            lines.append("\t".join(cols))
        if draw(st.integers(0, 10)) == 0:
            lines.insert(draw(st.integers(1, len(lines))), draw(st.text(max_size=20)).replace("\n", " "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def check_reader(tmp_path, text):
    path = tmp_path / "fuzz.conllu"
    path.write_text(text, encoding="utf-8")
    try:
        sentences = read_conllu(path)
    except PetraError as exc:
        assert "fuzz.conllu:" in str(exc)  # always names the file and line
        return
    for s in sentences:
        assert all(0 <= h <= len(s) and h != i for i, h in enumerate(s.heads, start=1))


@FAST
@given(text=conllu_text())
def test_conllu_reader_fast(tmp_path, text):
    check_reader(tmp_path, text)


@pytest.mark.slow
@SLOW
@given(text=conllu_text())
def test_conllu_reader_slow(tmp_path, text):
    check_reader(tmp_path, text)


# --- config loader --------------------------------------------------------------------------
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=False, width=32),
                 st.text(max_size=8), st.lists(st.integers(0, 3), max_size=3))
KEYS = st.sampled_from(["name", "encodings", "seeds", "model", "data", "task", "pretrain", "finetune", "run",
                        "dim", "heads", "lr", "epochs", "targets", "word_order", "bogus", "architecture"])
DOCS = st.recursive(LEAF, lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)


def check_config(tmp_path, doc):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        load_config(path)
    except PetraError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)  # one line, names the file


@FAST
@given(doc=DOCS)
def test_config_loader_fast(tmp_path, doc):
    check_config(tmp_path, doc)


@pytest.mark.slow
@SLOW
@given(doc=DOCS)
def test_config_loader_slow(tmp_path, doc):
    check_config(tmp_path, doc)


# --- synthetic generator --------------------------------------------------------------------
SPECS = st.fixed_dictionaries(dict(
    name=st.just("fuzz"), word_order=st.sampled_from(["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"]),
    adjective_order=st.sampled_from(["AN", "NA"]), adposition=st.sampled_from(["pre", "post"]),
    case_suffixes=st.booleans(), shared_vocab=st.floats(0, 1), vocab_size=st.integers(20, 300),
    mean_length=st.floats(4, 20), max_length=st.integers(6, 40), relative_clause_prob=st.floats(0, 0.6),
    zipf_exponent=st.floats(0, 2), seed=st.integers(0, 10**6),
))


def check_generator(fields, seed):
    try:
        spec = LanguageSpec(**fields)
    except PetraError as exc:
        assert str(exc).startswith("language 'fuzz': ")  # names the language and the field
        return
    sentences = generate(spec, 20, seed=seed)
    for s in sentences:
        assert len(s) <= spec.max_length
        assert s.heads.count(0) == 1
        order = word_order_of(s)
        assert order is None or order == spec.word_order


@FAST
@given(spec=SPECS, seed=st.integers(0, 10**6))
def test_synthetic_generator_fast(spec, seed):
    check_generator(spec, seed)


@pytest.mark.slow
@SLOW
@given(spec=SPECS, seed=st.integers(0, 10**6))
def test_synthetic_generator_slow(spec, seed):
    check_generator(spec, seed)


def test_config_parse_rejects_non_mapping_sections():
    with pytest.raises(PetraError, match="'model'"):
        parse_config({"model": [1, 2]})


# --- dependency-tree re-ordering ------------------------------------------------------------
RELS = ["nsubj", "obj", "obl", "amod", "case", "det", "advmod", "aux", "mark", "punct", "nmod", "iobj", "conj"]


@st.composite
def trees(draw):
    """Random (often odd) dependency trees: each word attaches to an earlier-built node."""
    n = draw(st.integers(1, 12))
    order = draw(st.permutations(list(range(1, n + 1))))
    heads = [0] * n
    for k, word in enumerate(order):
        heads[word - 1] = 0 if k == 0 else draw(st.sampled_from(order[:k]))
    deprels = tuple("root" if h == 0 else draw(st.sampled_from(RELS)) for h in heads)
    upos = tuple(draw(st.sampled_from(["NOUN", "VERB", "ADP", "ADJ", "PRON", "PUNCT"])) for _ in heads)
    from petra.data.sentence import Sentence

    return Sentence(tuple(f"w{i}" for i in range(1, n + 1)), upos, tuple(heads), deprels, "fuzz")


def check_reorder(sentence, order, flip_adp, flip_adj):
    from petra.data.reorder import is_valid_tree, reorder

    assert is_valid_tree(sentence)  # the strategy builds valid trees: re-ordering must never refuse one
    out = reorder(sentence, order, flip_adpositions=flip_adp, flip_adjectives=flip_adj)
    assert is_valid_tree(out)
    assert sorted(out.words) == sorted(sentence.words)

    def edges(s):  # labelled edges by word identity: the tree itself, whatever the order
        return {(w, s.words[h - 1] if h else None, r, u) for w, h, r, u in zip(s.words, s.heads, s.deprels, s.upos)}

    assert edges(out) == edges(sentence)


@FAST
@given(sentence=trees(), order=st.sampled_from(["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"]),
       flip_adp=st.booleans(), flip_adj=st.booleans())
def test_tree_reordering_fast(sentence, order, flip_adp, flip_adj):
    check_reorder(sentence, order, flip_adp, flip_adj)


@pytest.mark.slow
@SLOW
@given(sentence=trees(), order=st.sampled_from(["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"]),
       flip_adp=st.booleans(), flip_adj=st.booleans())
def test_tree_reordering_slow(sentence, order, flip_adp, flip_adj):
    check_reorder(sentence, order, flip_adp, flip_adj)
