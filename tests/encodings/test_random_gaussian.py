import pytest
import torch

from petra.encodings.registry import build_encoding
from petra.errors import PetraError

POS = torch.arange(6).unsqueeze(0)


def make(**options):
    return build_encoding("random_gaussian", dim=16, num_heads=2, max_len=32, options=options)


def test_training_draws_differ_between_calls():
    enc = make().train()
    first, second = enc(POS), enc(POS)
    assert first.shape == (1, 6, 16)
    assert not torch.allclose(first, second)


def test_standard_normal_statistics_and_scale():
    torch.manual_seed(0)
    enc = make().train()
    big = enc(torch.arange(4000).unsqueeze(0))  # 64,000 samples
    assert abs(big.mean().item()) < 0.02
    assert big.var().item() == pytest.approx(1.0, abs=0.03)
    scaled = make(scale=3.0).train()(torch.arange(4000).unsqueeze(0))
    assert scaled.std().item() == pytest.approx(3.0, rel=0.03)


def test_fixed_eval_is_deterministic_and_seeded():
    a, b = make(eval_mode="fixed", seed=7).eval(), make(eval_mode="fixed", seed=7).eval()
    c = make(eval_mode="fixed", seed=8).eval()
    torch.testing.assert_close(a(POS), a(POS))
    torch.testing.assert_close(a(POS), b(POS))
    assert not torch.allclose(a(POS), c(POS))
    assert "fixed_table" in a.state_dict()
    assert not torch.allclose(a.train()(POS), a(POS))  # training still redraws


def test_resample_eval_redraws():
    enc = make(eval_mode="resample").eval()
    assert not torch.allclose(enc(POS), enc(POS))
    assert enc.eval_draws == 1


def test_average_sets_eval_draws():
    assert make(eval_mode="average").eval_draws == 8
    assert make(eval_mode="average", eval_draws=3).eval_draws == 3


@pytest.mark.parametrize("options", [{"eval_mode": "mean"}, {"eval_draws": 0}, {"scale": -1.0}, {"seed": "x"}])
def test_bad_options_raise(options):
    with pytest.raises(PetraError, match="random_gaussian"):
        make(**options)
