import pytest
import torch

from petra.config import ModelConfig
from petra.encodings import available
from petra.models import HeadSpec, build_model

HEADS = {"task": HeadSpec("sequence", 4), "mlm": HeadSpec("token", 50), "tags": HeadSpec("token", 7)}


def batch(lengths=(5, 9, 3)):
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(3, 50, (n,))
    return ids, ids != 0


@pytest.mark.parametrize("encoding", [s.name for s in available()])
def test_transformer_heads_shapes_for_every_encoding(encoding):
    model = build_model(ModelConfig(dim=32, heads=4, ffn_dim=64, layers=2), encoding, 50, HEADS)
    ids, mask = batch()
    assert model(ids, mask, "task").shape == (3, 4)
    assert model(ids, mask, "mlm").shape == (3, 9, 50)
    assert model(ids, mask, "tags").shape == (3, 9, 7)


@pytest.mark.parametrize("encoding", ["sinusoidal", "learned", "none", "rope", "alibi", "t5_bias"])
def test_padding_does_not_change_real_token_outputs(encoding):
    torch.manual_seed(0)
    model = build_model(ModelConfig(dim=32, heads=4, ffn_dim=64, dropout=0.0), encoding, 50, HEADS).eval()
    ids, mask = batch((6,))
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    alone = model(ids, mask, "tags")
    with_pad = model(padded, padded != 0, "tags")[:, :6]
    torch.testing.assert_close(alone, with_pad, atol=1e-5, rtol=1e-5)


def test_no_position_information_makes_the_encoder_permutation_equivariant():
    torch.manual_seed(0)
    model = build_model(ModelConfig(dim=32, heads=4, ffn_dim=64, dropout=0.0), "none", 50, HEADS).eval()
    ids, mask = batch((7,))
    perm = torch.randperm(7)
    out = model(ids, mask, "tags")
    out_perm = model(ids[:, perm], mask[:, perm], "tags")
    torch.testing.assert_close(out[:, perm], out_perm, atol=1e-5, rtol=1e-5)
    # ...while sinusoidal positions break that symmetry.
    model = build_model(ModelConfig(dim=32, heads=4, ffn_dim=64, dropout=0.0), "sinusoidal", 50, HEADS).eval()
    assert not torch.allclose(model(ids, mask, "tags")[:, perm], model(ids[:, perm], mask[:, perm], "tags"), atol=1e-4)


@pytest.mark.parametrize("encoding", ["sinusoidal", "learned", "random_gaussian", "none"])
def test_lstm_baseline_takes_additive_encodings(encoding):
    model = build_model(ModelConfig(architecture="lstm", dim=32, layers=1), encoding, 50, HEADS)
    ids, mask = batch()
    assert model(ids, mask, "tags").shape == (3, 9, 7)
    assert model(ids, mask, "task").shape == (3, 4)


def test_lstm_rejects_rotary():
    with pytest.raises(ValueError, match="additive"):
        build_model(ModelConfig(architecture="lstm", dim=32), "rope", 50, HEADS)


def test_tokenizer_model_mismatch_is_a_named_error():
    from petra.errors import PetraError

    model = build_model(ModelConfig(dim=32, heads=4, ffn_dim=64), "sinusoidal", 50, HEADS)
    ids = torch.tensor([[3, 7, 60]])  # 60: a token from a bigger tokenizer
    with pytest.raises(PetraError, match=r"vocabulary has 50 entries: the tokenizer and the model do not match"):
        model(ids, ids != 0, "task")
