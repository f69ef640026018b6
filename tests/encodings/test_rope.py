import pytest
import torch

from petra.encodings.registry import build_encoding
from petra.encodings.rope import apply_rotary
from petra.errors import PetraError


def rotate_at(enc, x, positions):
    cos, sin = enc(torch.tensor([positions], dtype=torch.float64))
    rotated, _ = apply_rotary(x, x, cos, sin)
    return rotated


def test_dot_product_depends_only_on_offset():
    torch.manual_seed(0)
    enc = build_encoding("rope", dim=32, num_heads=4, max_len=16)
    q, k = torch.randn(1, 1, 1, 8, dtype=torch.float64), torch.randn(1, 1, 1, 8, dtype=torch.float64)
    for m, n, s in [(0, 3, 5), (7, 2, 100), (1.5, 4.0, 2500.25)]:
        base = (rotate_at(enc, q, [m]) * rotate_at(enc, k, [n])).sum()
        shifted = (rotate_at(enc, q, [m + s]) * rotate_at(enc, k, [n + s])).sum()
        assert shifted.item() == pytest.approx(base.item(), abs=1e-9)
    # ... and it does depend on the offset itself.
    near = (rotate_at(enc, q, [0]) * rotate_at(enc, k, [1])).sum()
    far = (rotate_at(enc, q, [0]) * rotate_at(enc, k, [9])).sum()
    assert abs(near.item() - far.item()) > 1e-3


def test_rotation_preserves_norms_and_shapes():
    torch.manual_seed(1)
    enc = build_encoding("rope", dim=64, num_heads=4, max_len=16)
    positions = torch.arange(10).unsqueeze(0)
    cos, sin = enc(positions)
    assert cos.shape == sin.shape == (1, 1, 10, 16)
    q, k = torch.randn(2, 4, 10, 16), torch.randn(2, 4, 10, 16)
    q_rot, k_rot = apply_rotary(q, k, cos, sin)
    torch.testing.assert_close(q_rot.norm(dim=-1), q.norm(dim=-1))
    torch.testing.assert_close(k_rot.norm(dim=-1), k.norm(dim=-1))
    torch.testing.assert_close(q_rot[:, :, 0], q[:, :, 0])  # position 0 is the identity


@pytest.mark.parametrize("dim,heads", [(30, 4), (12, 4)])  # not divisible; odd head_dim
def test_bad_head_dim_raises(dim, heads):
    with pytest.raises(PetraError, match="rope"):
        build_encoding("rope", dim=dim, num_heads=heads, max_len=8)
