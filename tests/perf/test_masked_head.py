"""Projecting to the vocabulary only at masked positions changes the cost, not the loss."""

import pytest
import torch

from petra.config import ModelConfig
from petra.data.batches import IGNORE, Batch, mask_for_mlm
from petra.encodings import available
from petra.models import HeadSpec, build_model
from petra.tasks.token import token_cross_entropy
from petra.training.objectives import MLMObjective, mlm_loss

VOCAB = 60


def _model(encoding="learned", architecture="transformer"):
    torch.manual_seed(0)
    config = ModelConfig(architecture=architecture, dim=32, heads=4, ffn_dim=64, layers=2, dropout=0.0)
    heads = {"mlm": HeadSpec("token", VOCAB), "task": HeadSpec("sequence", 3)}
    return build_model(config, encoding, VOCAB, heads).eval()


def _batch(lengths=(9, 5, 12, 7)):
    generator = torch.Generator().manual_seed(1)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(3, VOCAB, (n,), generator=generator)
    mask = ids != 0
    return Batch(ids, mask, torch.full_like(ids, IGNORE), torch.zeros(len(lengths), dtype=torch.long))


def _grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


CASES = [(spec.name, "transformer") for spec in available()] + [("sinusoidal", "lstm")]


@pytest.mark.parametrize("encoding, architecture", CASES)
def test_masked_only_loss_and_gradients_equal_the_full_projection(encoding, architecture):
    """Same loss and same gradient for every parameter, for every PE kind (additive, attention
    bias, rotary, random) and with padding: the Transformer's last layer and the head run on the
    masked rows only, the LSTM's head does."""
    model, batch = _model(encoding, architecture).train(), _batch()  # train: random PEs draw as in training
    inputs, targets = mask_for_mlm(batch, VOCAB, 2, 0.3, torch.Generator().manual_seed(2))
    assert 0 < int((targets != IGNORE).sum()) < int(batch.mask.sum())

    torch.manual_seed(7)  # random encodings draw the same positions / vectors on both paths
    full = token_cross_entropy(model(inputs, batch.mask, head="mlm"), targets)
    full.backward()
    full_grads = _grads(model)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(7)
    masked = mlm_loss(model, inputs, batch.mask, targets)
    masked.backward()
    masked_grads = _grads(model)

    torch.testing.assert_close(masked, full, rtol=1e-6, atol=1e-6)
    assert masked_grads.keys() == full_grads.keys()
    for name, grad in full_grads.items():
        torch.testing.assert_close(masked_grads[name], grad, rtol=1e-5, atol=1e-7, msg=name)


def test_selected_logits_are_the_rows_of_the_full_logits():
    model, batch = _model(), _batch()
    positions = torch.rand(batch.ids.shape, generator=torch.Generator().manual_seed(3)) < 0.4
    full = model(batch.ids, batch.mask, head="mlm")
    selected = model(batch.ids, batch.mask, head="mlm", select=positions)
    assert selected.shape == (int(positions.sum()), VOCAB)
    torch.testing.assert_close(selected, full[positions])


def test_nothing_masked_gives_zero_loss_not_nan():
    model, batch = _model(), _batch()
    targets = torch.full_like(batch.ids, IGNORE)
    loss = mlm_loss(model, batch.ids, batch.mask, targets)
    loss.backward()
    assert loss.item() == 0.0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_objective_uses_the_masked_path_with_unchanged_masks():
    model, batch = _model(), _batch()
    objective = MLMObjective(VOCAB, 2, 0.3, torch.Generator().manual_seed(5))
    loss = objective(model, batch)
    inputs, targets = mask_for_mlm(batch, VOCAB, 2, 0.3, torch.Generator().manual_seed(5))
    torch.testing.assert_close(loss, token_cross_entropy(model(inputs, batch.mask, head="mlm"), targets))


def test_sequence_heads_refuse_a_position_selection():
    model, batch = _model(), _batch()
    with pytest.raises(ValueError, match="sequence head"):
        model(batch.ids, batch.mask, head="task", select=batch.mask)


@pytest.mark.parametrize("encoding", ["learned", "rope", "alibi", "t5_bias"])
def test_bf16_autocast_trains_with_padding_close_to_fp32(encoding):
    """bf16 autocast (what `petra bench --precision bf16` runs) with padded batches: the padding
    bias (fp32) meets bf16 queries in SDPA, and the masked-only path gathers bf16 rows."""
    model, batch = _model(encoding), _batch()
    inputs, targets = mask_for_mlm(batch, VOCAB, 2, 0.3, torch.Generator().manual_seed(2))
    reference = mlm_loss(model, inputs, batch.mask, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = mlm_loss(model, inputs, batch.mask, targets)
    loss.backward()
    assert loss.dtype == torch.float32  # cross-entropy runs in fp32 under CPU autocast
    torch.testing.assert_close(loss, reference, rtol=2e-2, atol=2e-2)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_a_hook_on_the_encoder_still_sees_every_position():
    """Objectives that watch the encoder (the adversarial one pools its states through a forward
    hook) get the full (B, T, dim) states; the masked-only loss is unchanged."""
    model, batch = _model(), _batch()
    inputs, targets = mask_for_mlm(batch, VOCAB, 2, 0.3, torch.Generator().manual_seed(2))
    fast = mlm_loss(model, inputs, batch.mask, targets)
    seen = []
    handle = model.encoder.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    try:
        watched = mlm_loss(model, inputs, batch.mask, targets)
    finally:
        handle.remove()
    assert seen == [(*batch.ids.shape, 32)]
    torch.testing.assert_close(watched, fast)
