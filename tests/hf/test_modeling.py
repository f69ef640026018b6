"""petra's encoder as a transformers model: round trip, Auto classes, pipeline, Trainer, native parity."""

import math

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)

from petra.config import ModelConfig
from petra.errors import PetraError
from petra.hf import PetraConfig
from petra.models.hf_model import (
    PetraEncoderModel,
    PetraForMaskedLM,
    PetraForSequenceClassification,
    PetraForTokenClassification,
    model_config,
)
from petra.models import HeadSpec, build_model

# Deterministic evaluation for every PE: the random ones in their fixed / arange modes.
PES = {
    "sinusoidal": {}, "learned": {}, "rope": {}, "alibi": {}, "t5_bias": {}, "none": {},
    "random_gaussian": {"eval_mode": "fixed"}, "random_ordered": {"eval_mode": "arange", "base": "rope"},
}
IDS = torch.tensor([[5, 9, 13, 7, 22, 31], [8, 3, 17, 40, 0, 0]])
MASK = (IDS != 0).long()


@pytest.mark.parametrize("encoding", sorted(PES))
def test_save_load_round_trip_gives_identical_logits(tmp_path, encoding):
    config = PetraConfig(vocab_size=50, hidden_size=32, num_attention_heads=4, intermediate_size=64,
                         max_position_embeddings=16, encoding=encoding, encoding_options=PES[encoding])
    torch.manual_seed(0)
    model = PetraForMaskedLM(config).eval()
    before = model(input_ids=IDS, attention_mask=MASK).logits
    model.save_pretrained(tmp_path)
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path, local_files_only=True).eval()
    assert type(loaded) is PetraForMaskedLM
    after = loaded(input_ids=IDS, attention_mask=MASK).logits
    assert (after - before).abs().max().item() <= 1e-6


def test_auto_classes_resolve_and_share_the_encoder(tmp_path):
    torch.manual_seed(0)
    PetraForMaskedLM(PetraConfig(vocab_size=50, hidden_size=32, encoding="alibi")).save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path, local_files_only=True)) is PetraConfig
    token = AutoModelForTokenClassification.from_pretrained(tmp_path, num_labels=5, local_files_only=True)
    sequence = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=3, local_files_only=True)
    base = AutoModel.from_pretrained(tmp_path, local_files_only=True)
    assert (type(token), type(sequence), type(base)) == (
        PetraForTokenClassification, PetraForSequenceClassification, PetraEncoderModel)
    mlm = PetraForMaskedLM.from_pretrained(tmp_path, local_files_only=True)
    for other in (token, sequence, base):
        for name, tensor in mlm.encoder.state_dict().items():
            assert torch.equal(other.encoder.state_dict()[name], tensor), name
    assert token(input_ids=IDS).logits.shape == (2, 6, 5)
    assert sequence(input_ids=IDS, attention_mask=MASK).logits.shape == (2, 3)
    assert base(input_ids=IDS).last_hidden_state.shape == (2, 6, 32)


def test_same_function_as_petras_native_model():
    """The HF class is petra's model: with the native weights it computes the same logits."""
    ours = ModelConfig(dim=32, layers=2, heads=4, ffn_dim=64, max_len=16)
    torch.manual_seed(0)
    native = build_model(ours, "rope", 50, {"task": HeadSpec("sequence", 3)}).eval()
    hf = PetraForSequenceClassification(PetraConfig.from_model_config(ours, "rope", 50, num_labels=3)).eval()
    state = {k.replace("heads.task.", "classifier."): v for k, v in native.state_dict().items()}
    hf.load_state_dict(state, strict=True)
    expected = native(IDS, IDS != 0, head="task")
    assert torch.allclose(hf(input_ids=IDS, attention_mask=MASK).logits, expected, atol=1e-6)
    assert model_config(hf.config) == ours.model_copy(update={"encoding_options": {"rope": {}}})


def test_initialisation_is_petras_not_bert_style():
    torch.manual_seed(0)
    model = PetraForMaskedLM(PetraConfig(vocab_size=500, hidden_size=64, encoding="learned"))
    # Token embeddings N(0, 1) as in petra (HF's generic init would give std 0.02), learned PE N(0, 0.02).
    assert 0.9 < model.encoder.embed.weight.std().item() < 1.1
    assert 0.015 < model.encoder.encoding.table.weight.std().item() < 0.025


def test_average_eval_mode_returns_log_mean_probabilities():
    torch.manual_seed(0)
    config = PetraConfig(vocab_size=50, hidden_size=32, num_labels=4, encoding="random_gaussian",
                         encoding_options={"eval_mode": "average", "eval_draws": 4})
    logits = PetraForSequenceClassification(config).eval()(input_ids=IDS).logits
    assert torch.allclose(logits.exp().sum(-1), torch.ones(2), atol=1e-5)


def test_fill_mask_pipeline_scores_are_the_models_probabilities(tiny_dirs):
    folder = tiny_dirs("petra", "rope")
    fill = pipeline("fill-mask", model=str(folder), tokenizer=str(folder))
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    text = f"baka {tokenizer.mask_token} lomi"
    results = fill(text, top_k=3)
    assert len(results) == 3 and all(r["sequence"] for r in results)
    model = AutoModelForMaskedLM.from_pretrained(folder, local_files_only=True).eval()
    encoded = tokenizer(text, return_tensors="pt")
    where = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero().item()
    probs = model(**encoded).logits[0, where].softmax(-1)
    top = probs.topk(3)
    assert [r["token"] for r in results] == top.indices.tolist()
    assert [r["score"] for r in results] == pytest.approx(top.values.tolist(), abs=1e-6)


def test_trainer_trains_a_petra_model(tiny_dirs, texts):
    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    folder = tiny_dirs("petra", "alibi")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForMaskedLM.from_pretrained(folder, local_files_only=True)
    data = Dataset.from_dict(dict(tokenizer(texts[:32], truncation=True, max_length=32)))
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3, seed=0)
    fixed = collator([data[i] for i in range(16)])  # one masked batch to score before and after

    def loss() -> float:
        model.eval()
        with torch.no_grad():
            return model(**fixed).loss.item()

    start = loss()
    args = TrainingArguments(output_dir=str(folder / "trainer"), max_steps=40, per_device_train_batch_size=16,
                             learning_rate=3e-3, report_to=[], save_strategy="no", use_cpu=True,
                             disable_tqdm=True, logging_steps=1, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
    trainer.train()
    assert trainer.state.global_step == 40
    assert all(math.isfinite(e["loss"]) for e in trainer.state.log_history if "loss" in e)
    end = loss()
    print("MLM loss on a fixed batch", start, end)
    assert end < start - 0.5  # it learned the (tiny, repeated) training text


@pytest.mark.parametrize("kwargs, message", [
    ({"encoding": "wavelet"}, "unknown positional encoding 'wavelet'"),
    ({"hidden_size": 30, "num_attention_heads": 4}, "divisible by num_attention_heads"),
    ({"encoding": "rope", "encoding_options": {"bogus": 1}}, "unknown option"),
])
def test_bad_config_is_a_petra_error(kwargs, message):
    with pytest.raises(PetraError, match=message):
        PetraConfig(**kwargs)
