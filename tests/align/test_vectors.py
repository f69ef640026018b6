import numpy as np
import pytest
import torch

from petra.align.dictionary import gold_dictionary, index_pairs, split_pairs
from petra.experiments.align import (
    AlignConfig,
    AlignData,
    AlignPretrain,
    AlignSettings,
    align_vectors,
    prepare_language,
    train_language_model,
    word_vectors,
)
from petra.align.procrustes import procrustes
from petra.align.retrieval import normalize_embeddings, precision_at_k
from petra.align.vectors import contextual_vectors, input_embeddings
from petra.config import ModelConfig
from petra.data.synthetic import LanguageSpec
from petra.device import prepare_unit
from petra.errors import PetraError

TINY = AlignConfig(
    model=ModelConfig(dim=16, layers=1, heads=2, ffn_dim=32, dropout=0.0),
    data=AlignData(
        source=LanguageSpec(name="svo", shared_vocab=0.0, vocab_size=40, seed=1),
        target=LanguageSpec(name="sov", word_order="SOV", adposition="post", shared_vocab=0.0, vocab_size=40, seed=2),
        sentences=300,
    ),
    pretrain=AlignPretrain(epochs=2, batch_size=32, warmup_steps=5),
    align=AlignSettings(seed_pairs=15, methods=["procrustes"], min_count=2),
)


@pytest.fixture(scope="module")
def trained():
    device = prepare_unit(TINY.run.threads, "cpu")
    src = prepare_language(TINY.data.source, TINY.data.sentences, TINY.data.seed)
    tgt = prepare_language(TINY.data.target, TINY.data.sentences, TINY.data.seed)
    encoding = TINY.encodings[0]
    return src, tgt, *(train_language_model(TINY, lang, encoding, 0, device)[0] for lang in (src, tgt))


def test_gold_dictionary_pairs_forms_of_the_same_lexeme_and_vocabularies_are_disjoint():
    entries = gold_dictionary(TINY.data.source, TINY.data.target)
    assert len(entries) == 41  # 40 lexemes + the relativizer
    assert {e.source for e in entries}.isdisjoint({e.target for e in entries})
    assert len({e.source for e in entries}) == len({e.target for e in entries}) == 41


def test_input_vectors_are_the_embedding_rows(trained):
    src, _, model, _ = trained
    vectors = input_embeddings(model, src.vocab, src.counts)
    table = model.encoder.embed.weight.detach().numpy()
    word = vectors.words[7]
    np.testing.assert_allclose(vectors.vectors[7], table[src.vocab.index[word]], rtol=1e-6)
    assert vectors.counts[7] == sum(s.tolist().count(src.vocab.index[word]) for s in src.corpus.ids)


def test_contextual_vectors_average_the_hidden_states_of_every_occurrence(trained):
    src, _, model, _ = trained
    vectors = contextual_vectors(model, src.corpus, src.vocab)
    word = vectors.words[3]
    wid = src.vocab.index[word]
    states = []
    with torch.no_grad():
        for ids in src.corpus.ids:
            if wid in ids:
                x = torch.from_numpy(ids)[None]
                hidden = model.encoder(x, torch.ones_like(x, dtype=torch.bool))[0]
                states += [hidden[i] for i in np.flatnonzero(ids == wid)]
    assert len(states) == vectors.counts[3]
    np.testing.assert_allclose(vectors.vectors[3], torch.stack(states).double().mean(0).numpy(), atol=1e-5)


def test_a_model_aligned_to_itself_after_a_rotation_is_recovered(trained):
    # Sanity of the whole model path: one language's contextual vectors, rotated, come back exactly.
    src, _, model, _ = trained
    vectors = word_vectors("contextual", model, src, seed=0)
    x = normalize_embeddings(vectors.vectors)
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((x.shape[1],) * 2))[0]
    pairs = np.stack([np.arange(len(x))] * 2, axis=1)
    seed, test = split_pairs(pairs, 20, np.random.default_rng(0))  # > dim: determined
    w = procrustes(x[seed[:, 0]], (x @ rotation)[seed[:, 1]])
    assert precision_at_k(x @ w, x @ rotation, test, "csls")[1] == 1.0


def test_align_vectors_scores_two_trained_models(trained):
    src, tgt, src_model, tgt_model = trained
    entries = gold_dictionary(TINY.data.source, TINY.data.target)
    records = align_vectors(TINY, input_embeddings(src_model, src.vocab, src.counts),
                            input_embeddings(tgt_model, tgt.vocab, tgt.counts), entries, TINY.encodings[0], 0, "input")
    methods = {(r.method, r.retrieval) for r in records}
    assert methods >= {("procrustes", "nn"), ("procrustes", "csls"), ("procrustes+refine", "csls"), ("frequency-rank", "-")}
    for r in records:
        assert 0.0 <= r.p_at_1 <= r.p_at_5 <= 1.0
        assert r.test_pairs > 0
        expected = {"procrustes": 15, "procrustes+refine": 15, "oracle-procrustes-all-pairs": 41}
        assert r.seed_pairs == expected.get(r.method, 0)


def test_too_many_seed_pairs_is_a_clear_error():
    pairs = np.stack([np.arange(5)] * 2, axis=1)
    with pytest.raises(PetraError, match="seed_pairs"):
        split_pairs(pairs, 5, np.random.default_rng(0))


def test_index_pairs_skips_words_without_vectors():
    entries = gold_dictionary(TINY.data.source, TINY.data.target)
    pairs, pos = index_pairs(entries[:3], {entries[0].source: 0, entries[1].source: 1}, {entries[0].target: 4})
    np.testing.assert_array_equal(pairs, [[0, 4]])
    assert pos == [entries[0].pos]
