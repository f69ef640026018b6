import torch

from petra.encodings.registry import build_encoding


def test_none_contributes_nothing():
    enc = build_encoding("none", dim=8, num_heads=2, max_len=4)
    assert enc.kind == "none"
    assert not list(enc.parameters())
    assert enc(torch.arange(3).unsqueeze(0)) is None
