import torch

from petra.encodings.registry import build_encoding
from petra.encodings.t5_bias import relative_position_bucket


def buckets(values, **kw):
    kw = {"bidirectional": True, "num_buckets": 32, "max_distance": 128, **kw}
    return relative_position_bucket(torch.tensor(values), **kw).tolist()


def test_zero_and_small_offsets_get_exact_buckets():
    # Bidirectional, 32 buckets: 16 per direction, distances 0..7 exact.
    assert buckets([0]) == [0]
    assert buckets([-1, -2, -3, -7]) == [1, 2, 3, 7]
    assert buckets([1, 2, 7]) == [17, 18, 23]  # keys after the query use the upper half


def test_large_distances_are_log_spaced_and_clip():
    mid = buckets([-8, -16, -32, -64])
    assert mid == sorted(mid) and all(8 <= b < 16 for b in mid) and len(set(mid)) == 4
    assert buckets([-128, -500, -10**6]) == [15, 15, 15]
    assert buckets([128, 10**6]) == [31, 31]


def test_unidirectional_ignores_future():
    assert buckets([3, 50], bidirectional=False) == [0, 0]
    assert buckets([-3, -15, -1000], bidirectional=False) == [3, 15, 31]


def test_output_shape_values_and_gradient():
    enc = build_encoding("t5_bias", dim=16, num_heads=4, max_len=32)
    positions = torch.arange(6).unsqueeze(0)
    bias = enc(positions)
    assert bias.shape == (1, 4, 6, 6) and enc.kind == "bias"
    # Row i, column j uses bucket of j - i: bias[h, 0, 2] is the table entry for offset +2.
    assert bias[0, 3, 0, 2].item() == enc.table.weight[18, 3].item()
    bias.sum().backward()
    grad = enc.table.weight.grad
    assert grad is not None and grad[0].abs().sum() > 0 and grad[30].abs().sum() == 0
