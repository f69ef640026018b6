import pytest
import torch

from petra.encodings.registry import build_encoding


def test_shape_and_lookup():
    enc = build_encoding("learned", dim=12, num_heads=3, max_len=10)
    out = enc(torch.tensor([[0, 4, 9]]))
    assert out.shape == (1, 3, 12)
    torch.testing.assert_close(out[0, 1], enc.table.weight[4])
    assert enc.kind == "additive"


def test_trainable_and_small_init():
    enc = build_encoding("learned", dim=64, num_heads=4, max_len=50)
    params = list(enc.parameters())
    assert len(params) == 1 and params[0].requires_grad and params[0].shape == (50, 64)
    assert 0.01 < params[0].std().item() < 0.03
    enc(torch.arange(5).unsqueeze(0)).sum().backward()
    assert params[0].grad is not None and params[0].grad[:5].abs().sum() > 0
    assert params[0].grad[5:].abs().sum() == 0


def test_out_of_range_position_raises():
    enc = build_encoding("learned", dim=8, num_heads=2, max_len=10)
    with pytest.raises(ValueError, match="max_len=10"):
        enc(torch.tensor([[0, 10]]))
