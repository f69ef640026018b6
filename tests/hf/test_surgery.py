"""PE surgery on tiny BERT / RoBERTa / XLM-R / DistilBERT: pretrained weights kept, outputs change as
each PE says they should, save/load round trip, padding, and clear errors."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from petra.errors import PetraError
from petra.hf import PetraConfig, load_model, position_parameter_names, replace_position_encoding
from petra.models.hf_model import PetraForMaskedLM
from petra.hf.positions import PetraPositions

ARCHS = ["bert", "distilbert", "roberta", "xlm-roberta"]
PES = ["sinusoidal", "learned", "rope", "alibi", "t5_bias", "none", "random_gaussian"]
OPTIONS = {"random_gaussian": {"eval_mode": "fixed"}}


def _logits(model, ids, mask=None):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pe", PES)
def test_surgery_keeps_every_other_pretrained_weight(arch, pe, tiny_model):
    model = tiny_model(arch)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    old = position_parameter_names(model)
    replace_position_encoding(model, pe, OPTIONS.get(pe))
    after = model.state_dict()
    assert len(old) == 1 and old <= set(before) and not old & set(after)
    for key in set(before) - old:
        assert torch.equal(before[key], after[key]), key
    assert set(after) - set(before) == position_parameter_names(model)
    assert model.config.petra_pe["name"] == pe


@pytest.mark.parametrize("arch", ARCHS)
def test_learned_surgery_starts_from_the_pretrained_table(arch, tiny_model, batch):
    """Copying the pretrained rows (past RoBERTa's padding offset) leaves the model's function unchanged."""
    model = tiny_model(arch)
    ids, mask = batch(arch)
    real = mask.bool()
    before = _logits(model, ids, mask)[real]
    replace_position_encoding(model, "learned")
    assert (_logits(model, ids, mask)[real] - before).abs().max().item() <= 1e-6


@pytest.mark.parametrize("arch", ARCHS)
def test_sinusoidal_is_scaled_to_the_pretrained_tables_rms(arch, tiny_model):
    model = tiny_model(arch)
    table = model.base_model.embeddings.position_embeddings.weight.detach()
    offset = 2 if arch in ("roberta", "xlm-roberta") else 0
    replace_position_encoding(model, "sinusoidal")
    positions = model.base_model.embeddings.position_embeddings
    vectors = positions(torch.arange(table.shape[0] - offset).unsqueeze(0))
    assert vectors.pow(2).mean().sqrt().item() == pytest.approx(table[offset:].pow(2).mean().sqrt().item(), rel=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pe", ["sinusoidal", "rope", "alibi", "t5_bias"])
def test_padding_does_not_change_real_tokens(arch, pe, tiny_model, batch):
    model = replace_position_encoding(tiny_model(arch), pe)
    ids, mask = batch(arch, length=9, real=6)
    padded = _logits(model, ids, mask)[1, :6]
    alone = _logits(model, ids[1:, :6])[0]
    assert (padded - alone).abs().max().item() <= 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_without_positions_the_model_is_permutation_equivariant(arch, tiny_model, batch):
    ids, _ = batch(arch)
    ids = ids[:1]
    order = torch.tensor([3, 0, 8, 5, 1, 7, 2, 6, 4])
    model = tiny_model(arch)
    assert (_logits(model, ids[:, order]) - _logits(model, ids)[:, order]).abs().max().item() > 1e-3
    replace_position_encoding(model, "none")
    assert (_logits(model, ids[:, order]) - _logits(model, ids)[:, order]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_alibi_sees_only_distance_so_reversal_commutes_rope_sees_direction(arch, tiny_model, batch):
    """|i - j| is unchanged by reversing the sequence, so an ALiBi model's outputs reverse with its input;
    RoPE's rotation by the signed offset (and T5's direction buckets) tell the directions apart."""
    ids, _ = batch(arch)
    ids = ids[:1]
    flip = torch.arange(ids.shape[1] - 1, -1, -1)

    def reversal_gap(pe: str) -> float:
        model = replace_position_encoding(tiny_model(arch), pe)
        return (_logits(model, ids[:, flip]) - _logits(model, ids)[:, flip]).abs().max().item()

    assert reversal_gap("alibi") <= 1e-5
    assert reversal_gap("rope") > 1e-3


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("pe", ["rope", "t5_bias", "learned", "random_gaussian"])
def test_surgered_model_round_trips_through_save_and_load(tmp_path, arch, pe, tiny_model, batch):
    model = replace_position_encoding(tiny_model(arch), pe, OPTIONS.get(pe))
    with torch.no_grad():  # move the PE's weights away from any initial value the loader could recreate
        for p in model.base_model.embeddings.position_embeddings.parameters():
            p.add_(0.5)
    ids, mask = batch(arch)
    before = _logits(model, ids, mask)
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path, "mlm").eval()
    assert loaded.config.petra_pe == model.config.petra_pe
    assert isinstance(loaded.base_model.embeddings.position_embeddings, PetraPositions)
    assert (_logits(loaded, ids, mask) - before).abs().max().item() <= 1e-6


def test_a_surgered_checkpoint_loads_under_another_head(tmp_path, tiny_model, batch):
    model = replace_position_encoding(tiny_model("bert"), "t5_bias")
    model.save_pretrained(tmp_path)
    tagger = load_model(tmp_path, "token", num_labels=3)
    table = "embeddings.position_embeddings.encoding.table.weight"
    assert torch.equal(tagger.base_model.get_parameter(table), model.base_model.get_parameter(table))
    assert _logits(tagger.eval(), batch("bert")[0]).shape == (2, 9, 3)


def test_trainer_fine_tunes_a_surgered_model(tmp_path, tiny_model):
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    model = replace_position_encoding(tiny_model("roberta", head="token"), "alibi")
    ids = torch.randint(5, 60, (32, 10), generator=torch.Generator().manual_seed(0))
    data = Dataset.from_dict({"input_ids": ids.tolist(), "labels": (ids % 2).tolist()})
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=3, per_device_train_batch_size=8, report_to=[],
                             save_strategy="no", use_cpu=True, disable_tqdm=True)
    before = [p.clone() for p in model.parameters()]
    Trainer(model=model, args=args, train_dataset=data).train()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_unsupported_architecture_is_a_petra_error():
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0))
    with pytest.raises(PetraError, match=r"does not support model_type 'gpt2'.*supported: bert, distilbert"):
        replace_position_encoding(gpt2, "rope")
    with pytest.raises(PetraError, match="needs a transformers PreTrainedModel"):
        replace_position_encoding(torch.nn.Linear(2, 2), "rope")
    with pytest.raises(PetraError, match="this is a petra model"):
        replace_position_encoding(PetraForMaskedLM(PetraConfig(vocab_size=20)), "rope")


def test_bad_requests_are_petra_errors(tmp_path, tiny_model):
    model = replace_position_encoding(tiny_model("bert"), "alibi")
    with pytest.raises(PetraError, match="already carries petra PE 'alibi'"):
        replace_position_encoding(model, "rope")
    with pytest.raises(PetraError, match="unknown positional encoding 'wavelet'"):
        replace_position_encoding(tiny_model("bert"), "wavelet")
    with pytest.raises(PetraError, match="exceeds the pretrained table"):
        replace_position_encoding(tiny_model("bert"), "learned", max_len=1000)
    with pytest.raises(PetraError, match="config.json missing"):
        load_model(tmp_path, "mlm")


@pytest.mark.parametrize("arch", ARCHS)
def test_a_surgered_model_loads_through_the_auto_classes_after_import_petra_hf(tmp_path, arch, tiny_model, batch):
    from transformers import AutoModelForMaskedLM, AutoModelForTokenClassification

    model = replace_position_encoding(tiny_model(arch), "rope")
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == f"petra_{arch}"
    ids, mask = batch(arch)
    auto = AutoModelForMaskedLM.from_pretrained(tmp_path, local_files_only=True).eval()
    assert isinstance(auto.base_model.embeddings.position_embeddings, PetraPositions)
    assert torch.equal(_logits(auto, ids, mask), _logits(load_model(tmp_path, "mlm").eval(), ids, mask))
    tagger = AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=3, local_files_only=True)
    assert tagger.config.petra_pe["name"] == "rope" and _logits(tagger.eval(), ids, mask).shape[-1] == 3


def test_without_petra_a_surgered_model_refuses_to_load(tmp_path, tiny_model):
    """Plain transformers must not build a BERT with a fresh position table from it."""
    replace_position_encoding(tiny_model("bert"), "learned").save_pretrained(tmp_path)
    script = ("import sys; from transformers import AutoModelForMaskedLM\n"
              f"AutoModelForMaskedLM.from_pretrained({str(tmp_path)!r}, local_files_only=True)\n"
              "assert 'petra' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "petra_bert" in result.stderr
