import pytest
import torch

from petra.encodings.registry import build_encoding, get_spec
from petra.errors import PetraError


def make(**options):
    return build_encoding("random_ordered", dim=16, num_heads=2, max_len=64, options=options)


def test_training_positions_are_sorted_distinct_subsets():
    enc = make(l_max=100).train()
    pos = enc.positions(batch=32, length=20, device=torch.device("cpu"))
    assert pos.shape == (32, 20) and not pos.is_floating_point()
    assert (pos[:, 1:] > pos[:, :-1]).all()  # strictly increasing -> distinct
    assert pos.min() >= 0 and pos.max() < 100
    assert len({tuple(row) for row in pos.tolist()}) > 1  # each sequence gets its own draw


def test_positions_spread_over_the_whole_range():
    pos = make(l_max=50).train().positions(batch=200, length=10, device=torch.device("cpu"))
    assert pos.max() > 45 and pos.min() < 5


def test_eval_modes():
    arange = make(eval_mode="arange").eval()
    assert arange.positions(4, 7, torch.device("cpu")).tolist() == [list(range(7))]
    sample = make(l_max=100).eval()  # default keeps sampling, as Ruoss et al.'s code does
    assert sample.positions(4, 7, torch.device("cpu")).shape == (4, 7)


def test_kind_follows_base_and_forward_delegates():
    rope = make(base="rope")
    assert rope.kind == "rotary"
    cos, sin = rope(torch.tensor([[0, 5, 900]]))
    assert cos.shape == (1, 1, 3, 8)
    assert make(base="alibi").kind == "bias"
    enc = make()
    assert enc.kind == "additive" and enc(torch.tensor([[3, 1500]])).shape == (1, 2, 16)
    assert get_spec("random_ordered").kind == "additive"


def test_l_max_shorter_than_length_raises():
    enc = make(l_max=10).train()
    with pytest.raises(ValueError, match=r"12.*l_max.*10"):
        enc.positions(2, 12, torch.device("cpu"))


def test_bad_base_raises():
    with pytest.raises(PetraError, match="learned"):
        make(base="learned")
