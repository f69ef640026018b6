"""Language-adaptive PE, adapters, language embeddings and gradient reversal do what they claim."""

import copy

import pytest
import torch

from petra.config import ModelConfig
from petra.errors import PetraError
from petra.models import HeadSpec, build_model
from petra.models.language import add_adapters, add_language_embeddings, make_pe_adaptive, set_language
from petra.training.adversarial import dann_schedule, reverse_gradient
from petra.experiments.transfer_config import FinetuneConfig
from petra.training.recipes import Setup, apply_recipe

CONFIG = ModelConfig(dim=32, heads=4, ffn_dim=64, layers=2, dropout=0.0)


def model(encoding="learned"):
    torch.manual_seed(0)
    return build_model(CONFIG, encoding, 40, {"task": HeadSpec("sequence", 4)}).eval()


def batch():
    ids = torch.randint(3, 40, (2, 7))
    return ids, torch.ones_like(ids, dtype=torch.bool)


@pytest.mark.parametrize("encoding", ["learned", "sinusoidal", "rope", "alibi", "t5_bias"])
def test_adaptive_pe_starts_as_the_identity_and_learns_per_language(encoding):
    m = model(encoding)
    ids, mask = batch()
    before = m(ids, mask, "task")
    adaptive = make_pe_adaptive(m, num_languages=2)
    torch.testing.assert_close(m(ids, mask, "task"), before)  # zero-initialised residual / scale
    with torch.no_grad():
        for p in adaptive.parameters():
            if p is not None and all(p is not q for q in adaptive.base.parameters()):
                p.add_(0.5 * torch.randn_like(p))  # not a constant: LayerNorm would cancel it
    set_language(m, 1)
    changed = m(ids, mask, "task")
    assert not torch.allclose(changed, before)


def test_frozen_adaptive_pe_recipe_trains_only_the_transform_and_head():
    m = model("learned")
    trained = apply_recipe(m, "frozen_adaptive_pe", Setup(3, FinetuneConfig(adaptive_hidden=8, embeddings="frozen")))
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    assert names and all(n.startswith("encoder.encoding.maps.") or n.startswith("heads.task.") for n in names)
    assert trained.parameters == sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_adaptive_pe_rejects_none():
    with pytest.raises(PetraError, match="nothing to adapt|'none'"):
        make_pe_adaptive(model("none"), 2)


def test_adapters_start_as_identity_survive_deepcopy_and_are_the_only_trainable_encoder_part():
    m = model()
    ids, mask = batch()
    before = m(ids, mask, "task")
    apply_recipe(m, "adapters", Setup(2, FinetuneConfig(adapter_bottleneck=4, embeddings="frozen")))
    torch.testing.assert_close(m(ids, mask, "task"), before)
    names = [n for n, p in m.named_parameters() if p.requires_grad]
    assert all(".adapter." in n or n.startswith("heads.task.") for n in names)
    copied = copy.deepcopy(m)
    with torch.no_grad():
        for block in copied.encoder.blocks:
            block.adapter.up[0].bias.copy_(torch.randn(32))  # only the copy's adapters change...
    assert not torch.allclose(copied(ids, mask, "task"), before)
    torch.testing.assert_close(m(ids, mask, "task"), before)  # ...and the original is untouched


def test_language_embeddings_differ_per_language():
    m = model()
    add_language_embeddings(m, 2)
    ids, mask = batch()
    set_language(m, 0)
    zero = m(ids, mask, "task")
    set_language(m, 1)
    assert not torch.allclose(zero, m(ids, mask, "task"))


def test_adapters_need_a_transformer():
    lstm = build_model(ModelConfig(architecture="lstm", dim=32), "sinusoidal", 40, {"task": HeadSpec("sequence", 4)})
    with pytest.raises(PetraError, match="transformer"):
        add_adapters(lstm, 4, 1)


def test_gradient_reversal_and_dann_schedule():
    x = torch.ones(3, requires_grad=True)
    reverse_gradient(x, 0.5).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))
    assert dann_schedule(0.0) == 0.0 and 0.99 < dann_schedule(1.0) < 1.0
