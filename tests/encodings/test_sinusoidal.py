import math

import pytest
import torch

from petra.encodings.registry import build_encoding
from petra.encodings.sinusoidal import sinusoidal_table


def closed_form(p: float, k: int, d: int) -> float:
    # Vaswani et al. 2017: even column 2i -> sin(p / 10000^(2i/d)), odd column 2i+1 -> cos(same angle).
    i = k // 2
    angle = p / 10000 ** (2 * i / d)
    return math.sin(angle) if k % 2 == 0 else math.cos(angle)


@pytest.mark.parametrize("dim", [1, 2, 7, 16, 33])
def test_matches_closed_form(dim):
    positions = torch.tensor([0.0, 1.0, 5.0, 37.0, 511.0, 3000.5], dtype=torch.float64)
    table = sinusoidal_table(positions, dim)
    rows = [[closed_form(p, k, dim) for k in range(dim)] for p in positions.tolist()]
    expected = torch.tensor(rows, dtype=torch.float64)
    assert table.shape == (6, dim)
    torch.testing.assert_close(table, expected, rtol=0, atol=1e-12)


def test_module_handles_positions_beyond_max_len_and_batches():
    enc = build_encoding("sinusoidal", dim=16, num_heads=2, max_len=8)
    positions = torch.tensor([[0, 3, 100], [1, 2, 2047]])
    out = enc(positions)
    assert out.shape == (2, 3, 16) and out.dtype == torch.float32
    assert out[1, 2, 0].item() == pytest.approx(math.sin(2047.0), abs=1e-3)
    assert out[0, 1, 1].item() == pytest.approx(math.cos(3.0), abs=1e-6)
    assert enc.kind == "additive" and not list(enc.parameters())
