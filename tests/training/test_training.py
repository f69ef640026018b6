"""A trained encoder must clearly beat chance, and the loop's schedule must do what it says."""

import numpy as np
import pytest
import torch

from petra.config import ModelConfig, OptimConfig, parse_config
from petra.data.batches import batches, encode, mask_for_mlm
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.models import HeadSpec, build_model
from petra.tasks import get_task
from petra.tasks.base import word_labels
from petra.training.loop import train, warmup_linear_decay
from petra.training.objectives import JointObjective
from petra.training.recipes import apply_recipe


def corpus(spec: LanguageSpec, n: int, seed: int, vocab=None, labels=None, field="deprel"):
    sentences = generate(spec, n, seed=seed)
    vocab = vocab or Vocab.build(w for s in sentences for w in s.words)
    labels = labels or LabelSet.build(t for s in sentences for t in word_labels(s, field))
    return encode(sentences, vocab, labels, lambda s: word_labels(s, field)), vocab, labels


def accuracy(model, corpus, task, pad_id):
    return get_task(task).scores(model, corpus, pad_id, labels=None).accuracy


def fit(model, train_set, task_type, epochs, vocab, seed=0):
    cfg = OptimConfig(epochs=epochs, batch_size=32, lr=2e-3, warmup_steps=20)
    rng = np.random.default_rng(seed)
    steps = -(-len(train_set) // cfg.batch_size)
    return train(model, lambda _: batches(train_set, 32, vocab.pad_id, rng), JointObjective(task_type), cfg, steps)


@pytest.mark.parametrize("encoding", ["sinusoidal", "rope"])
def test_agent_task_beats_chance_and_bag_of_words(encoding):
    torch.manual_seed(0)
    spec = LanguageSpec(name="svo")
    train_set, vocab, labels = corpus(spec, 1500, seed=1)
    test_set, _, _ = corpus(spec, 300, seed=2, vocab=vocab, labels=labels)
    model = build_model(parse_config({}).model, encoding, len(vocab), {"task": HeadSpec("sequence", 4)})
    result = fit(model, train_set, "sequence", epochs=8, vocab=vocab)
    assert result.losses[-1] < result.losses[0]
    # Chance is 0.25; without word order a model cannot beat ~0.63 (it can't tell agent from patient).
    assert accuracy(model, test_set, "sequence", vocab.pad_id) > 0.8


def test_token_task_beats_majority_tag():
    torch.manual_seed(0)
    spec = LanguageSpec(name="sov", word_order="SOV")
    train_set, vocab, labels = corpus(spec, 1500, seed=1)
    test_set, _, _ = corpus(spec, 200, seed=2, vocab=vocab, labels=labels)
    model = build_model(parse_config({}).model, "learned", len(vocab), {"task": HeadSpec("token", len(labels))})
    fit(model, train_set, "token", epochs=8, vocab=vocab)
    majority = max(np.bincount(np.concatenate(test_set.tags), minlength=len(labels))) / sum(map(len, test_set.tags))
    assert accuracy(model, test_set, "token", vocab.pad_id) > majority + 0.45  # measured ~0.81 vs 0.25


def test_lstm_baseline_learns_the_agent_task():
    torch.manual_seed(0)
    spec = LanguageSpec(name="svo")
    train_set, vocab, labels = corpus(spec, 1500, seed=1)
    test_set, _, _ = corpus(spec, 300, seed=2, vocab=vocab, labels=labels)
    model = build_model(ModelConfig(architecture="lstm"), "sinusoidal", len(vocab), {"task": HeadSpec("sequence", 4)})
    fit(model, train_set, "sequence", epochs=6, vocab=vocab)
    assert accuracy(model, test_set, "sequence", vocab.pad_id) > 0.7


def test_warmup_then_linear_decay():
    f = warmup_linear_decay(warmup=10, total=110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == 0.0


def test_frozen_pe_leaves_the_encoding_untouched():
    torch.manual_seed(0)
    spec = LanguageSpec(name="svo")
    train_set, vocab, _ = corpus(spec, 200, seed=1)
    model = build_model(parse_config({}).model, "learned", len(vocab), {"task": HeadSpec("sequence", 4)})
    pe_before = [p.detach().clone() for p in model.encoding.parameters()]
    other_before = model.encoder.embed.weight.detach().clone()
    apply_recipe(model, "frozen_pe")
    fit(model, train_set, "sequence", epochs=1, vocab=vocab)
    for p, q in zip(model.encoding.parameters(), pe_before):
        assert torch.equal(p, q)
    assert not torch.equal(model.encoder.embed.weight, other_before)
    assert pe_before  # the learned PE has parameters, so the check above was not vacuous


def test_mlm_masking_rates():
    spec = LanguageSpec(name="svo")
    data, vocab, _ = corpus(spec, 2000, seed=1)
    batch = next(batches(data, 2000, vocab.pad_id))
    inputs, targets = mask_for_mlm(batch, len(vocab), vocab.mask_id, 0.15, torch.Generator().manual_seed(0))
    picked = targets != -100
    assert not picked[~batch.mask].any()  # padding is never a target
    rate = picked.sum() / batch.mask.sum()
    assert 0.13 < rate < 0.17
    masked_share = (inputs[picked] == vocab.mask_id).float().mean()
    assert 0.75 < masked_share < 0.85


def test_token_dropout_hides_real_tokens_only():
    from petra.data.batches import Batch
    from petra.training.objectives import TokenDropout

    ids = torch.tensor([[5, 6, 7], [8, 0, 0]])
    batch = Batch(ids, ids != 0, torch.zeros_like(ids), torch.zeros(2, dtype=torch.long))
    hidden = TokenDropout(1.0, 2, torch.Generator().manual_seed(0))(batch)
    assert hidden.ids.tolist() == [[2, 2, 2], [2, 0, 0]]  # every real token masked, padding kept
    assert torch.equal(TokenDropout(0.0, 2, torch.Generator())(batch).ids, ids)
