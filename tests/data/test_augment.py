"""Augmentation: tree re-ordering (on a real EWT sentence and on random trees), synonyms, back-translation."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petra.data.augment import (
    DictionaryTranslator, HFTranslator, SynonymLexicon, back_translate, back_translate_text, replace_synonyms,
)
from petra.data.reorder import ORDERS, clause_order, is_valid_tree, reorder
from petra.data.sentence import Sentence
from petra.data.synthetic import LanguageSpec, generate
from petra.data.ud import find_treebank
from petra.errors import PetraError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


def _signature(s: Sentence) -> Counter:
    """What must travel with each word: its labels and its head's word."""
    return Counter(
        (w, u, r, s.words[h - 1] if h else "ROOT") for w, u, r, h in zip(s.words, s.upos, s.deprels, s.heads)
    )


def _subtree(s: Sentence, word: int) -> set[int]:
    nodes, grew = {word}, True
    while grew:
        more = {d for d, h in enumerate(s.heads, start=1) if h in nodes} - nodes
        nodes |= more
        grew = bool(more)
    return nodes


# "He ate the apple in the park ." built by hand: SVO with a preposition and an object.
HAND = Sentence(
    words=("He", "ate", "the", "red", "apple", "in", "the", "park", "."),
    upos=("PRON", "VERB", "DET", "ADJ", "NOUN", "ADP", "DET", "NOUN", "PUNCT"),
    heads=(2, 0, 5, 5, 2, 8, 8, 2, 2),
    deprels=("nsubj", "root", "det", "amod", "obj", "case", "det", "obl", "punct"),
    lang="en",
)


@needs_ud
def test_real_ewt_sentence_reordered_to_sov():
    dev = find_treebank("English-EWT", SHARED).read("dev")
    sentence = next(s for s in dev if " ".join(s.words) == "One of the Wesley boys wrote the hymn .")
    assert clause_order(sentence) == ["SVO"]
    sov = reorder(sentence, "SOV")
    assert is_valid_tree(sov)
    assert _signature(sov) == _signature(sentence)
    verb = sov.words.index("wrote") + 1
    obj = next(i for i, r in enumerate(sov.deprels, start=1) if r == "obj" and sov.heads[i - 1] == verb)
    subj = next(i for i, r in enumerate(sov.deprels, start=1) if r == "nsubj" and sov.heads[i - 1] == verb)
    # the verb now follows its whole object (and the object its whole subject): S O V
    assert verb > max(_subtree(sov, obj)) and min(_subtree(sov, obj)) > max(_subtree(sov, subj))
    assert sov.words == ("One", "of", "the", "Wesley", "boys", "the", "hymn", "wrote", ".")
    assert clause_order(sov) == ["SOV"]


def test_hand_sentence_every_order_and_flips():
    assert reorder(HAND, "SVO") == HAND  # already SVO: nothing moves
    assert " ".join(reorder(HAND, "SOV").words) == "He in the park the red apple ate ."
    assert " ".join(reorder(HAND, "VSO").words) == "ate He the red apple in the park ."
    flipped = reorder(HAND, "SOV", flip_adpositions=True, flip_adjectives=True)
    assert " ".join(flipped.words) == "He the park in the apple red ate ."
    for order in ORDERS:
        out = reorder(HAND, order, flip_adpositions=True)
        assert is_valid_tree(out) and _signature(out) == _signature(HAND)
        assert clause_order(out) == [order]


def test_synthetic_svo_corpus_becomes_sov():
    sentences = generate(LanguageSpec(name="svo", word_order="SVO"), 200, seed=3)
    orders = Counter(o for s in sentences for o in clause_order(reorder(s, "SOV")))
    assert set(orders) == {"SOV"} and orders["SOV"] >= 200  # every clause, relative clauses included


def test_unknown_order_and_invalid_tree_are_errors():
    with pytest.raises(PetraError, match="unknown word order 'SXV'"):
        reorder(HAND, "SXV")
    cyclic = Sentence(("a", "b"), ("X", "X"), (2, 1), ("dep", "dep"), "x")
    with pytest.raises(PetraError, match="invalid tree"):
        reorder(cyclic, "SOV")


@st.composite
def trees(draw):
    n = draw(st.integers(1, 12))
    root = draw(st.integers(1, n))
    heads = [0] * n
    attached = [root]
    for word in draw(st.permutations([w for w in range(1, n + 1) if w != root])):
        heads[word - 1] = draw(st.sampled_from(attached))  # attach to a placed word: always a tree
        attached.append(word)
    rels = [draw(st.sampled_from(["nsubj", "obj", "iobj", "obl", "case", "amod", "det", "advmod", "punct"]))
            for _ in range(n)]
    rels[root - 1] = "root"
    upos = [draw(st.sampled_from(["VERB", "NOUN", "ADP", "ADJ"])) for _ in range(n)]
    return Sentence(tuple(f"w{i}" for i in range(1, n + 1)), tuple(upos), tuple(heads), tuple(rels), "x")


@settings(max_examples=150, deadline=None)
@given(trees(), st.sampled_from(ORDERS), st.booleans(), st.booleans())
def test_any_tree_stays_a_valid_projective_tree(sentence, order, adpositions, adjectives):
    out = reorder(sentence, order, adpositions, adjectives)
    assert is_valid_tree(out)
    assert _signature(out) == _signature(sentence)
    for word in range(1, len(out) + 1):  # every subtree is contiguous: projective
        span = _subtree(out, word)
        assert max(span) - min(span) + 1 == len(span)


def test_synonyms_from_tsv_keep_labels(tmp_path):
    path = tmp_path / "syn.tsv"
    path.write_text("# comment\napple\tpomme\tfruit\npark\tgarden\n")
    lexicon = SynonymLexicon.from_tsv(path)
    assert lexicon.table == {"apple": ("pomme", "fruit"), "park": ("garden",)}
    out = replace_synonyms(HAND, lexicon, 1.0, np.random.default_rng(0))
    assert out.words[4] in ("pomme", "fruit") and out.words[7] == "garden"
    assert (out.upos, out.heads, out.deprels) == (HAND.upos, HAND.heads, HAND.deprels)
    assert replace_synonyms(HAND, lexicon, 1.0, np.random.default_rng(0), pos=("VERB",)) == HAND
    path.write_text("apple\tpomme\nbroken line\n")
    with pytest.raises(PetraError, match=r"syn.tsv:2: expected 'word<TAB>synonym"):
        SynonymLexicon.from_tsv(path)


def test_synonyms_from_embedding_neighbours(tmp_path):
    words = ["apple", "pear", "car", "truck"]
    vectors = np.array([[1.0, 0.1], [0.9, 0.2], [-0.1, 1.0], [0.0, 0.9]])
    lexicon = SynonymLexicon.from_embeddings(words, vectors, k=1, min_similarity=0.8)
    assert lexicon.table == {"apple": ("pear",), "pear": ("apple",), "car": ("truck",), "truck": ("car",)}
    path = tmp_path / "vec.txt"
    path.write_text("4 2\n" + "\n".join(f"{w} {a} {b}" for w, (a, b) in zip(words, vectors)) + "\n")
    assert SynonymLexicon.from_vectors_file(path, k=1, min_similarity=0.8) == lexicon
    path.write_text("apple 1 0\npear 1\n")
    with pytest.raises(PetraError, match="vec.txt:2: 1 values where 2"):
        SynonymLexicon.from_vectors_file(path)


def test_dictionary_back_translation_round_trip(tmp_path):
    path = tmp_path / "en-fr.tsv"
    path.write_text("apple\tpomme\npark\tparc\nate\tmangea\n")
    forward, backward = DictionaryTranslator.from_tsv(path), DictionaryTranslator.from_tsv(path, reverse=True)
    assert forward.translate(["He ate the apple"]) == ["He mangea the pomme"]
    assert back_translate([HAND], forward, backward) == [HAND]  # a lossless dictionary is the identity
    lossy = DictionaryTranslator({"pomme": "fruit", "parc": "garden"})
    out = back_translate([HAND], forward, lossy)[0]
    assert out.words[4] == "fruit" and out.words[7] == "garden" and out.upos == HAND.upos


def _tiny_marian(folder: Path) -> Path:
    """A random tiny Marian (seq2seq) model with a word-level tokenizer, saved like a hub model."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>", "He", "ate", "the", "red", "apple", "in", "park", ".", "pomme", "parc"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = MarianConfig(
        vocab_size=len(words), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=32,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1,
    )
    torch.manual_seed(0)
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_hf_seq2seq_translator_from_a_local_folder(tmp_path):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = _tiny_marian(tmp_path / "marian")
    translator = HFTranslator(folder, max_new_tokens=4)
    texts = ["He ate the apple", "park", "the red apple in the park ."]
    out = translator.translate(texts)
    # the same as generating with the model directly: the wrapper adds nothing and drops nothing
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        ids = model.generate(**tokenizer(texts, return_tensors="pt", padding=True), max_new_tokens=4, do_sample=False)
    assert out == tokenizer.batch_decode(ids, skip_special_tokens=True)
    assert len(out) == 3 and all(set(t.split()) <= set(tokenizer.get_vocab()) for t in out)
    # word-level back-translation through it keeps the tree and maps a word the same way everywhere
    back = back_translate([HAND], translator, translator)[0]
    assert (back.upos, back.heads, back.deprels) == (HAND.upos, HAND.heads, HAND.deprels)
    assert back.words[2] == back.words[6]  # both "the"
    assert len(back_translate_text(["He ate the apple"], translator, translator)) == 1


def test_hf_translator_needs_a_model_folder(tmp_path):
    with pytest.raises(PetraError, match="no Hugging Face model folder"):
        HFTranslator(tmp_path)
