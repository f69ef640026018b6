"""The encoder's training-time attention (written out, with dropout) computes what SDPA computes."""

import pytest
import torch
import torch.nn.functional as F

from petra.config import ModelConfig
from petra.data.batches import IGNORE
from petra.models import HeadSpec, build_model
from petra.models.encoder import _attention_with_dropout, _with_padding


@pytest.mark.parametrize("bias_kind", ["none", "padding", "alibi_like"])
def test_written_out_attention_equals_sdpa_without_dropout(bias_kind):
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=generator) for _ in range(3))
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    bias = {
        "none": None,
        "padding": _with_padding(None, mask, torch.float32),
        "alibi_like": _with_padding(torch.randn(1, 3, 7, 7, generator=generator), mask, torch.float32),
    }[bias_kind]
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(_attention_with_dropout(q, k, v, bias, 0.0), expected, rtol=1e-5, atol=1e-6)


def test_attention_dropout_zeroes_weights_at_the_rate_asked():
    torch.manual_seed(0)
    ones = torch.ones(1, 1, 400, 400)
    # With v = identity, the output rows are the (dropped-out, rescaled) attention weights.
    weights = _attention_with_dropout(ones[..., :1].expand(1, 1, 400, 1), ones[..., :1].expand(1, 1, 400, 1),
                                      torch.eye(400).view(1, 1, 400, 400), None, 0.25)
    assert abs(float((weights == 0).float().mean()) - 0.25) < 0.01
    torch.testing.assert_close(weights[weights != 0], torch.full_like(weights[weights != 0], 1 / 400 / 0.75))


@pytest.mark.parametrize("encoding", ["learned", "alibi", "rope"])
def test_an_all_padding_sequence_trains_without_nan(encoding):
    """A row whose keys are all padding: -inf in the bias would give NaN weights, and NaN would
    reach every gradient through the softmax backward."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(dim=16, heads=2, ffn_dim=32, dropout=0.1), encoding, 30, {"tags": HeadSpec("token", 5)})
    model.train()
    ids = torch.tensor([[5, 6, 7, 8], [0, 0, 0, 0]])
    tags = torch.tensor([[1, 2, 3, 4], [IGNORE] * 4])
    logits = model(ids, ids != 0, "tags")
    loss = F.cross_entropy(logits.flatten(0, 1), tags.flatten(), ignore_index=IGNORE)
    loss.backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
