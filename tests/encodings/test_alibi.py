import math

import pytest
import torch

from petra.encodings.alibi import alibi_slopes
from petra.encodings.registry import build_encoding


def test_slopes_for_eight_heads():
    expected = [1 / 2**i for i in range(1, 9)]
    torch.testing.assert_close(alibi_slopes(8), torch.tensor(expected))


def test_slopes_non_power_of_two_follow_the_paper_rule():
    # 6 heads: the 4 slopes of 4 heads (2^-2, 2^-4, 2^-6, 2^-8), then every other slope of 8 heads
    # (2^-1, 2^-3, ...), first two of them.
    expected = [2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3]
    torch.testing.assert_close(alibi_slopes(6), torch.tensor(expected))
    assert alibi_slopes(12).shape == (12,) and alibi_slopes(1).tolist() == [2**-8]


def test_bidirectional_bias_is_minus_slope_times_distance():
    enc = build_encoding("alibi", dim=32, num_heads=4, max_len=16)
    positions = torch.tensor([[0, 1, 4, 10]])
    bias = enc(positions)
    assert bias.shape == (1, 4, 4, 4) and enc.kind == "bias"
    torch.testing.assert_close(bias, bias.transpose(-1, -2))
    slopes = alibi_slopes(4)
    p = positions[0].tolist()
    for h in range(4):
        for i in range(4):
            for j in range(4):
                assert bias[0, h, i, j].item() == pytest.approx(-slopes[h].item() * abs(p[i] - p[j]))


def test_causal_bias_masks_the_future():
    enc = build_encoding("alibi", dim=16, num_heads=2, max_len=16, options={"causal": True})
    bias = enc(torch.arange(5).unsqueeze(0))
    upper = torch.ones(5, 5, dtype=torch.bool).triu(1)
    assert torch.isinf(bias[:, :, upper]).all() and (bias[:, :, upper] < 0).all()
    assert torch.isfinite(bias[:, :, ~upper]).all()
    assert bias[0, 0, 4, 1].item() == pytest.approx(-alibi_slopes(2)[0].item() * 3)
    assert math.isclose(bias[0, 1, 2, 2].item(), 0.0, abs_tol=0.0)
