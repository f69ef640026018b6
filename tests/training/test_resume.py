"""A training interrupted at any step and resumed from its checkpoint ends exactly where an
uninterrupted one does (same losses, same weights) on CPU."""

import numpy as np
import pytest
import torch

from petra.config import OptimConfig, parse_config
from petra.data.batches import batches, encode
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.experiments.phases import fit
from petra.models import HeadSpec, build_model
from petra.training.checkpoint import Checkpointer
from petra.training.loop import train
from petra.training.objectives import JointObjective, MLMObjective


class Crash(Exception):
    pass


def epochs(corpus, vocab, seed):
    """The batch order `fit` uses: epoch e depends on (seed, e) only."""
    return lambda e: batches(corpus, 16, vocab.pad_id, np.random.default_rng([seed, e]))


def setup(encoding):
    sentences = generate(LanguageSpec(name="svo"), 120, seed=3)
    vocab = Vocab.build(w for s in sentences for w in s.words)
    labels = LabelSet.build(t for s in sentences for t in s.upos)
    corpus = encode(sentences, vocab, labels)
    torch.manual_seed(0)
    model = build_model(parse_config({}).model, encoding, len(vocab), {"task": HeadSpec("sequence", 4), "mlm": HeadSpec("token", len(vocab))})
    mlm = MLMObjective(len(vocab), vocab.mask_id, 0.15, torch.Generator().manual_seed(1))
    return model, corpus, JointObjective("sequence", 1.0, mlm, 1.0), vocab


@pytest.mark.parametrize("encoding", ["learned", "random_gaussian"])
def test_resume_after_crash_matches_uninterrupted(tmp_path, encoding):
    cfg = OptimConfig(epochs=3, batch_size=16, warmup_steps=3)
    model, corpus, objective, vocab = setup(encoding)
    torch.manual_seed(5)
    reference = fit(model, corpus, objective, cfg, vocab.pad_id, seed=7)
    reference_weights = {k: v.clone() for k, v in model.state_dict().items()}

    model, corpus, objective, vocab = setup(encoding)
    torch.manual_seed(5)
    ckpt = Checkpointer(tmp_path / "phase.ckpt", every=4)

    def crash_at_step_10(step, loss):
        if step == 10:
            raise Crash

    with pytest.raises(Crash):
        train(model, epochs(corpus, vocab, seed=7), objective, cfg, -(-len(corpus) // 16),
              on_step=crash_at_step_10, checkpointer=ckpt)
    assert ckpt.load()["losses"] and len(ckpt.load()["losses"]) == 8  # last checkpoint: step 8

    model, corpus, objective, vocab = setup(encoding)  # a fresh process would rebuild everything
    torch.manual_seed(999)  # whatever the RNG is now, the checkpoint restores it
    resumed = fit(model, corpus, objective, cfg, vocab.pad_id, seed=7, checkpointer=ckpt)
    assert resumed.losses == reference.losses
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference_weights[key]), key


def test_keyboard_interrupt_saves_a_checkpoint(tmp_path):
    cfg = OptimConfig(epochs=2, batch_size=16)
    model, corpus, objective, vocab = setup("sinusoidal")
    ckpt = Checkpointer(tmp_path / "phase.ckpt", every=0)

    def interrupt(step, loss):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model, epochs(corpus, vocab, seed=0), objective, cfg, -(-len(corpus) // 16),
              on_step=interrupt, checkpointer=ckpt)
    assert len(ckpt.load()["losses"]) == 5
