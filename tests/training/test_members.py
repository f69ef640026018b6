"""Seeds trained as one batched model (petra.training.members) end where each seed trained alone
ends: the same loss curve, scores, generator state and checkpoints; a kill -9 resumes to them."""

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from petra.config import ModelConfig, OptimConfig
from petra.data.batches import batches, encode, subset
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.errors import PetraError
from petra.models import HeadSpec, build_model
from petra.tasks import get_task
from petra.training.checkpoint import Checkpointer
from petra.training.loop import train
from petra.training.members import Member, train_members
from petra.training.objectives import JointObjective, MLMObjective, TokenDropout
from petra.training.recipes import Setup, apply_recipe

OPTIM = OptimConfig(epochs=3, batch_size=16, lr=3e-3, warmup_steps=2)
STEPS_PER_EPOCH = 7  # 100 training sentences in batches of 16: a short batch, at another step per seed
# fp32 on the CPU: batched and single matrix products round differently, nothing else differs
LOSS_RTOL = 1e-5


def language(task: str):
    sentences = generate(LanguageSpec(name="sov", word_order="SOV"), 136, seed=3)
    vocab = Vocab.build(w for s in sentences for w in s.words)
    labels = LabelSet.build(t for s in sentences for t in s.upos)
    corpus = encode(sentences, vocab, labels)
    return vocab, labels, subset(corpus, range(100)), subset(corpus, range(100, 136))


def build_members(seeds, encoding="random_ordered", task="token", architecture="transformer", checkpoints=None):
    """One member per seed, built exactly as a lone run builds it (seed, model, objective)."""
    vocab, labels, train_set, _ = language(task)
    config = ModelConfig(architecture=architecture, dim=32, layers=2, heads=4, ffn_dim=64, dropout=0.1, max_len=64)
    classes = len(labels) if task == "token" else 4  # UPOS, or which noun is the agent
    heads = {"task": HeadSpec(get_task(task).head, classes), "mlm": HeadSpec("token", len(vocab))}
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(config, encoding, len(vocab), heads)
        masked = MLMObjective(len(vocab), vocab.mask_id, 0.2, torch.Generator().manual_seed(seed + 10))
        word_dropout = TokenDropout(0.1, vocab.mask_id, torch.Generator().manual_seed(seed + 20))
        objective = JointObjective(task, 1.0, masked, 0.5, word_dropout)
        checkpointer = None if checkpoints is None else Checkpointer(Path(checkpoints) / f"seed{seed}.ckpt", every=2)
        members.append(Member(model, lambda e, s=seed: batches(train_set, 16, vocab.pad_id, np.random.default_rng([s, e])),
                              objective, torch.get_rng_state(), checkpointer, evaluate=scorer(task)))
    return members


def scorer(task: str):
    vocab, labels, _, held_out = language(task)
    return lambda model: get_task(task).scores(model, held_out, vocab.pad_id, labels).accuracy


def alone(member: Member):
    torch.set_rng_state(member.rng_state)
    result = train(member.model, member.epoch_batches, member.objective, OPTIM, STEPS_PER_EPOCH,
                   checkpointer=member.checkpointer, evaluate=member.evaluate, eval_every=7)
    return result, torch.get_rng_state()


@pytest.mark.parametrize("encoding,task", [("random_ordered", "token"), ("learned", "sequence"), ("random_gaussian", "token")])
def test_a_batched_member_trains_as_it_does_alone(encoding, task):
    seeds = [0, 1, 2]
    lone = [alone(m) for m in build_members(seeds, encoding, task)]
    members = build_members(seeds, encoding, task)
    results = train_members(members, OPTIM, STEPS_PER_EPOCH, eval_every=7)
    for (expected, rng_state), result, member in zip(lone, results, members):
        assert result.steps == expected.steps == 21
        np.testing.assert_allclose(result.losses, expected.losses, rtol=LOSS_RTOL)
        # the curve of held-out scores, measured on the member's own model with its own draws
        assert [s for s, _ in result.evals] == [s for s, _ in expected.evals] == [7, 14, 21]
        np.testing.assert_allclose([v for _, v in result.evals], [v for _, v in expected.evals], atol=1e-9)
        assert torch.equal(member.rng_state, rng_state)  # its dropout stream ends where it ends alone
        assert not member.model.training
    assert len({tuple(r.losses) for r in results}) == 3  # three seeds, three different runs


def test_members_checkpoint_as_alone_and_resume_either_way(tmp_path):
    """A batched member's checkpoint is its lone run's: a lone run resumes from it to the same end."""
    full = train_members(build_members([0, 1]), OPTIM, STEPS_PER_EPOCH)
    stopped = build_members([0, 1], checkpoints=tmp_path)
    train_members(stopped, OPTIM, STEPS_PER_EPOCH, until=8)  # checkpointed at step 8
    # member 1 alone finishes from the batched checkpoint; member 0 batched, alone in its batch
    resumed_alone, _ = alone(build_members([1], checkpoints=tmp_path)[0])
    resumed_batched = train_members(build_members([0], checkpoints=tmp_path), OPTIM, STEPS_PER_EPOCH)[0]
    np.testing.assert_allclose(resumed_alone.losses, full[1].losses, rtol=LOSS_RTOL)
    np.testing.assert_allclose(resumed_batched.losses, full[0].losses, rtol=LOSS_RTOL)


def test_members_killed_between_two_checkpoints_catch_up(tmp_path):
    """Checkpoints are written one member after another: a kill between them leaves members at
    different steps; the ones behind train up to the others first."""
    full = train_members(build_members([0, 1, 2]), OPTIM, STEPS_PER_EPOCH)
    train_members(build_members([0, 1, 2], checkpoints=tmp_path), OPTIM, STEPS_PER_EPOCH, until=4)
    behind = torch.load(tmp_path / "seed1.ckpt", weights_only=False)
    train_members(build_members([0, 1, 2], checkpoints=tmp_path), OPTIM, STEPS_PER_EPOCH, until=10)
    torch.save(behind, tmp_path / "seed1.ckpt")  # as if killed after seeds 0 and 2 wrote step 10
    members = build_members([0, 1, 2], checkpoints=tmp_path)
    results = train_members(members, OPTIM, STEPS_PER_EPOCH)
    assert [m.checkpointer.loaded[0] for m in members] == [("seed0", 10), ("seed1", 4), ("seed2", 10)]
    for result, expected in zip(results, full):
        np.testing.assert_allclose(result.losses, expected.losses, rtol=LOSS_RTOL)


KILLED = """
import os, signal, sys
sys.path.insert(0, {here!r})
from test_members import OPTIM, STEPS_PER_EPOCH, build_members
from petra.training.members import train_members
def kill(step, losses):
    if step == 9:  # mid-run, one step after a checkpoint: that step is lost and redone
        os.kill(os.getpid(), signal.SIGKILL)
train_members(build_members([0, 1, 2], checkpoints={folder!r}), OPTIM, STEPS_PER_EPOCH, on_step=kill)
"""


def test_kill_9_during_a_batched_run_resumes_to_the_same_numbers(tmp_path):
    script = KILLED.format(here=str(Path(__file__).parent), folder=str(tmp_path))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert all(len(torch.load(tmp_path / f"seed{s}.ckpt", weights_only=False)["losses"]) == 8 for s in range(3))
    resumed = train_members(build_members([0, 1, 2], checkpoints=tmp_path), OPTIM, STEPS_PER_EPOCH)
    full = train_members(build_members([0, 1, 2]), OPTIM, STEPS_PER_EPOCH)
    for result, expected in zip(resumed, full):
        assert result.steps == 21
        np.testing.assert_allclose(result.losses, expected.losses, rtol=LOSS_RTOL)


def test_each_member_trains_its_own_embedding_rows():
    """A frozen-encoder recipe trains the embedding rows of its own k sentences' pieces; word dropout
    gives [MASK]'s row a gradient that only the mask keeps out. Each member keeps its own mask."""
    vocab = language("token")[0]

    def with_adapters(members):
        for seed, member in zip([0, 1], members):
            pieces = frozenset(range(5, 25) if seed == 0 else range(15, 40))
            apply_recipe(member.model, "adapters", Setup(1, None, pieces))
        return members

    lone = [alone(m) for m in with_adapters(build_members([0, 1]))]
    members = with_adapters(build_members([0, 1]))
    starts = [m.model.encoder.embed.weight.detach().clone() for m in members]
    results = train_members(members, OPTIM, STEPS_PER_EPOCH)
    for (expected, _), result, member, start, kept in zip(lone, results, members, starts, [range(5, 25), range(15, 40)]):
        np.testing.assert_allclose(result.losses, expected.losses, rtol=LOSS_RTOL)
        moved = (member.model.encoder.embed.weight - start).abs().sum(dim=1) > 0
        assert set(moved.nonzero().flatten().tolist()) <= set(kept) and moved.any()
        assert not moved[vocab.mask_id]


def test_what_cannot_be_batched_is_said_before_training():
    with pytest.raises(PetraError, match="Transformer encoder"):
        train_members(build_members([0, 1], architecture="lstm"), OPTIM, STEPS_PER_EPOCH)
    mixed = build_members([0], encoding="learned") + build_members([1], encoding="sinusoidal")
    with pytest.raises(PetraError, match="same parameters"):
        train_members(mixed, OPTIM, STEPS_PER_EPOCH)
    short = build_members([0, 1])
    short[1].epoch_batches = lambda e: list(short[0].epoch_batches(e))[:-1]
    with pytest.raises(PetraError, match="differ in number"):
        train_members(short, OPTIM, STEPS_PER_EPOCH)
