"""Training stops with a named error on non-finite losses or gradients, keeping the last good checkpoint."""

import numpy as np
import pytest
import torch

from petra.config import OptimConfig, parse_config
from petra.data.batches import batches, encode
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.errors import PetraError
from petra.models import HeadSpec, build_model
from petra.training.checkpoint import Checkpointer
from petra.training.loop import train
from petra.training.objectives import JointObjective


def setup():
    sentences = generate(LanguageSpec(name="svo"), 64, seed=0)
    vocab = Vocab.build(w for s in sentences for w in s.words)
    corpus = encode(sentences, vocab, LabelSet.build(["NOUN"]))
    torch.manual_seed(0)
    model = build_model(parse_config({}).model, "learned", len(vocab), {"task": HeadSpec("sequence", 4)})
    epoch = lambda e: batches(corpus, 16, vocab.pad_id, np.random.default_rng([0, e]))  # noqa: E731
    return model, epoch


def test_nan_loss_names_the_step_and_keeps_the_checkpoint(tmp_path):
    model, epoch = setup()
    objective = JointObjective("sequence")
    ckpt = Checkpointer(tmp_path / "c.ckpt", every=2)

    def poisoned(m, batch):
        loss = objective(m, batch)
        return loss * float("nan") if poisoned.calls == 5 else loss

    poisoned.calls = 0

    def count(step, loss):
        poisoned.calls = step

    with pytest.raises(PetraError, match=r"loss is nan at step 5 \(epoch 1\)"):
        train(model, epoch, poisoned, OptimConfig(epochs=3, batch_size=16), 4, on_step=count, checkpointer=ckpt)
    saved = ckpt.load()
    assert len(saved["losses"]) == 4 and all(np.isfinite(saved["losses"]))


def test_infinite_gradient_names_the_parameter_group():
    model, epoch = setup()
    objective = JointObjective("sequence")
    # A hook that corrupts one module's gradient: the error must point at that module.
    model.encoder.blocks[1].ffn[0].weight.register_hook(lambda g: g * float("inf"))
    with pytest.raises(PetraError, match=r"non-finite gradients at step 0 .* encoder\.blocks\.1\.ffn\.0"):
        train(model, epoch, objective, OptimConfig(epochs=1, batch_size=16), 4)
