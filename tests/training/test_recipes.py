"""Every registered recipe trains exactly the parameters it says it does: after a few optimizer steps,
the elements that moved are the ones it counted, and everything else is bit-identical."""

import copy

import pytest
import torch

from petra.config import ModelConfig, parse_config
from petra.errors import PetraError
from petra.experiments.transfer_config import FinetuneConfig
from petra.models import HeadSpec, build_model
from petra.training.loop import make_optimizer
from petra.models.language import InvertibleAdapter
from petra.training.recipes import Setup, SourceStage, apply_recipe, available, get_recipe

CONFIG = ModelConfig(dim=32, heads=4, ffn_dim=64, layers=2, dropout=0.0)
VOCAB, CLASSES = 60, 5


def _trained_steps(recipe: str, embeddings: str = "target", steps: int = 3):
    torch.manual_seed(0)
    model = build_model(CONFIG, "learned", VOCAB, {"task": HeadSpec("token", CLASSES)})
    ids = torch.randint(3, 30, (4, 9))  # the target's k sentences use pieces 3..29 only
    labels = torch.randint(0, CLASSES, ids.shape)
    mask = torch.ones_like(ids, dtype=torch.bool)
    finetune = FinetuneConfig(embeddings=embeddings, lr=0.01, warmup_steps=1)
    trained = apply_recipe(model, recipe, Setup(1, finetune, frozenset(ids.unique().tolist())))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer, schedule = make_optimizer(model, finetune, steps)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(ids, mask, "task").flatten(0, 1), labels.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    moved = {n: int((p.detach() != before[n]).sum()) for n, p in model.named_parameters()}
    return model, trained, moved, ids


@pytest.mark.parametrize("recipe", [r.name for r in available()])
def test_a_recipe_moves_exactly_what_it_counts(recipe):
    model, trained, moved, _ = _trained_steps(recipe)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert all(moved[n] == 0 for n in frozen), f"{recipe} moved frozen parameters"
    # every element it trains moves (the learned PE's rows past the sentences' length move by weight decay)
    assert sum(moved.values()) == trained.parameters
    if get_recipe(recipe).frozen_encoder:
        assert trained.parameters < sum(p.numel() for p in model.parameters())


def test_frozen_encoder_recipes_train_the_target_rows_all_rows_or_none():
    _, _, moved, ids = _trained_steps("adapters", "target")
    pieces = len(ids.unique())
    assert moved["encoder.embed.weight"] == pieces * CONFIG.dim  # only the rows of the k sentences' pieces
    _, trained, moved, _ = _trained_steps("adapters", "all")
    assert moved["encoder.embed.weight"] == VOCAB * CONFIG.dim and "embeddings" in trained.groups
    _, trained, moved, _ = _trained_steps("adapters", "frozen")
    assert moved["encoder.embed.weight"] == 0 and set(trained.groups) == {"adapters", "task head"}


def test_frozen_pe_freezes_only_the_pe_and_lora_merges_into_a_plain_model():
    _, _, moved, _ = _trained_steps("frozen_pe")
    pe = [n for n in moved if n.startswith("encoder.encoding.")]
    assert pe and all(moved[n] == 0 for n in pe) and moved["encoder.embed.weight"] > 0
    model, _, _, ids = _trained_steps("lora")
    mask = torch.ones_like(ids, dtype=torch.bool)
    with torch.no_grad():
        before = model(ids, mask, "task")
        get_recipe("lora").finish(model)
        torch.testing.assert_close(model(ids, mask, "task"), before, atol=1e-5, rtol=1e-5)
    assert not any("lora" in n for n, _ in model.named_parameters())
    fresh = build_model(CONFIG, "learned", VOCAB, {"task": HeadSpec("token", CLASSES)})
    fresh.load_state_dict(copy.deepcopy(model.state_dict()))  # nothing to rebuild: a plain petra model


def test_unknown_and_renamed_recipes_are_named():
    with pytest.raises(PetraError, match="unknown recipe 'mad_x'; available: adapters, adversarial"):
        get_recipe("mad_x")
    with pytest.raises(PetraError, match="'adaptive_pe' was renamed: use frozen_adaptive_pe"):
        parse_config({"finetune": {"recipes": ["full", "adaptive_pe"]}})


def test_the_invertible_adapter_inverts_exactly():
    torch.manual_seed(0)
    adapter = InvertibleAdapter(32, 8, 2)
    for module in adapter.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.normal_(module.weight, std=0.5)  # far from the identity it starts as
    adapter.language = 1
    x = torch.randn(3, 7, 32)
    assert not torch.allclose(adapter(x), x)
    torch.testing.assert_close(adapter.inverse(adapter(x)), x, atol=1e-5, rtol=1e-5)


def test_madx_trains_each_language_adapter_alone_then_the_task_adapter():
    """Each stage of MAD-X leaves trainable exactly one language's adapters (or the task adapter and
    head), so training one language never moves another's."""
    torch.manual_seed(0)
    model = build_model(CONFIG, "learned", VOCAB, {"task": HeadSpec("token", CLASSES), "mlm": HeadSpec("token", VOCAB)})
    stages = []

    def train(m, corpora, masked_lm, name):
        stages.append((name, masked_lm, corpora, {n for n, p in m.named_parameters() if p.requires_grad}))

    recipe = get_recipe("madx")
    texts = {0: ["source text"], 2: ["target text"]}
    recipe.per_source(model, SourceStage(0, texts, "source task", train, Setup(3, FinetuneConfig())))
    assert [(name, mlm, corpora) for name, mlm, corpora, _ in stages] == [
        ("language-0", True, ["source text"]), ("language-2", True, ["target text"]), ("task", False, ["source task"])]
    source, target, task = (trainable for *_, trainable in stages)
    assert source and target and not source & target
    assert all(".down.0." in n or ".up.0." in n or ".f.0." in n or ".g.0." in n for n in source)
    assert any("embed.invertible.f.2" in n for n in target) and any("blocks.1.adapter.up.2" in n for n in target)
    assert {n.split(".")[0] for n in task} == {"encoder", "heads"} and all("task_adapter" in n or "heads.task" in n
                                                                             for n in task)
    # the invertible adapter at both ends: its inverse undoes it before the masked-LM head
    assert model.heads["mlm"].inverse_of is model.encoder.embed.invertible
