"""A local pretrained Hugging Face encoder (``model.pretrained``) as a model source of the one engine:
its own tokenizer and positions, every recipe, the store and resume, tiny XLM-R / DistilBERT / BERT
folders built here with random weights."""

import numpy as np
import pytest
import torch
from transformers import AutoModel

from petra.config import ModelConfig, parse_config
from petra.data.pretrained_tokenizer import PretrainedTokenizer
from petra.errors import PetraError
from petra.experiments.transfer_data import prepare_data
from petra.experiments.transfer import run_group
from petra.models import HeadSpec, build_model

ARCHS = ["bert", "xlm-roberta", "distilbert"]


def transfer(folder, **extra) -> dict:
    return {
        "encodings": ["keep", "rope"], "seeds": [0],
        "model": {"pretrained": str(folder), "max_len": 40},
        "task": {"type": "token", "labels": "upos"},
        "data": {"source": {"name": "svo"}, "targets": [{"name": "sov", "word_order": "SOV"}],
                 "source_train": 200, "test": 60},
        "pretrain": {"objectives": ["mlm", "task"], "epochs": 1, "task_epochs": 3, "batch_size": 16,
                     "mix": {"target_text": 40}},
        "finetune": {"epochs": 3, "batch_size": 8, "curve_points": 0, "shots": [0, 30],
                     "recipes": ["full", "frozen_pe", "adapters", "lora", "full_adaptive_pe", "madx"]},
        **extra,
    }


@pytest.mark.parametrize("arch", ARCHS)
def test_keep_is_the_untouched_model(tiny_dirs, arch):
    """`keep` carries the model's own position table as a PE: the encoder's states equal those the
    original model gives the same sentence between its [CLS] and [SEP], padded rows included."""
    folder = tiny_dirs(arch)
    tokenizer = PretrainedTokenizer.load(folder)
    config = ModelConfig(pretrained=str(folder), max_len=40)
    model = build_model(config, "keep", len(tokenizer), {"task": HeadSpec("token", 3)}).eval()
    original = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    sentences = [["the", "dog", "sees", "a", "cat"], ["a", "cat"]]
    pieces = [[p for word in s for p in word] for s in tokenizer.word_pieces(sentences)]
    width = max(map(len, pieces))
    ids = torch.tensor([p + [tokenizer.pad_id] * (width - len(p)) for p in pieces])
    mask = torch.tensor([[True] * len(p) + [False] * (width - len(p)) for p in pieces])
    with torch.no_grad():
        ours = model.encoder(ids, mask)
        for row, p in enumerate(pieces):
            theirs = original(input_ids=torch.tensor([[tokenizer.cls_id, *p, tokenizer.sep_id]])).last_hidden_state
            torch.testing.assert_close(ours[row, : len(p)], theirs[0, 1:-1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["xlm-roberta", "distilbert"])
def test_every_recipe_runs_on_a_pretrained_encoder(tiny_dirs, arch):
    config = parse_config(transfer(tiny_dirs(arch)))
    assert config.tokenizer.kind == "pretrained" and config.model.dim == 32
    data = prepare_data(config)
    assert isinstance(data.tokenizer, PretrainedTokenizer)
    for encoding in config.encodings:
        records = run_group(config, data, encoding, [0])[0].records
        recipes = {(r.recipe, r.shots) for r in records}
        assert recipes == {("zero_shot", 0), ("madx", 0)} | {(r, 30) for r in config.finetune.recipes}
        # the pretrained model learned the source task: far above the 17 UPOS tags' chance
        assert records[0].source_accuracy > 0.5, (encoding, records[0].source_accuracy)
        by_recipe = {r.recipe: r for r in records if r.shots == 30}
        assert by_recipe["adapters"].trainable_parameters < by_recipe["full"].trainable_parameters
        if encoding == "keep":  # the table is a PE with parameters: frozen_pe leaves it where it was
            assert by_recipe["frozen_pe"].pe_drift == 0.0 and by_recipe["full"].pe_drift > 0


def test_scratch_is_the_same_architecture_freshly_initialised(tiny_dirs):
    folder = tiny_dirs("bert")
    config = ModelConfig(pretrained=str(folder), max_len=40)
    heads = {"task": HeadSpec("token", 3)}
    pretrained = build_model(config, "keep", 400, heads)
    torch.manual_seed(1)  # the folder's random weights came from seed 0
    scratch = build_model(config, "keep", 400, heads, pretrained_weights=False)
    torch.manual_seed(1)
    again = build_model(config, "keep", 400, heads, pretrained_weights=False)
    table = lambda m: m.encoder.embed.weight  # noqa: E731
    assert table(scratch).shape == table(pretrained).shape
    assert not torch.equal(table(scratch), table(pretrained))
    assert torch.equal(table(scratch), table(again))


def test_pretrained_config_errors_name_the_field(tiny_dirs, tmp_path):
    folder = str(tiny_dirs("bert"))
    with pytest.raises(PetraError, match="model.pretrained.*never the hub"):
        parse_config({"model": {"pretrained": "xlm-roberta-base"}})
    with pytest.raises(PetraError, match="'model.dim'.*contradicts"):
        parse_config({"model": {"pretrained": folder, "dim": 64}})
    with pytest.raises(PetraError, match="'model.max_len'.*positions"):
        parse_config({"model": {"pretrained": folder, "max_len": 47}})
    with pytest.raises(PetraError, match="'tokenizer.kind'.*own tokenizer"):
        parse_config({"model": {"pretrained": folder, "max_len": 40}, "tokenizer": {"kind": "bpe"}})
    with pytest.raises(PetraError, match="'encodings'.*keep.*model.pretrained"):
        parse_config({"encodings": ["keep"]})
    with pytest.raises(PetraError, match="model.pretrained.*transfer experiment"):
        parse_config({"experiment": "lengthgen", "model": {"pretrained": folder, "max_len": 40}})


def test_a_petra_export_is_a_pretrained_source_read_without_special_tokens(tiny_dirs):
    """A model petra saved (model_type petra) runs natively: `keep` is its own PE (RoPE here), another
    PE name replaces it with a fresh one; its tokenizer adds nothing around a sentence."""
    folder = tiny_dirs("petra", "rope")
    pretrain = {"objectives": ["task"], "epochs": 8, "batch_size": 16, "lr": 3e-3}  # petra's pre-LN model: more steps
    config = parse_config(transfer(folder, encodings=["keep", "alibi"], pretrain=pretrain,
                                   finetune={"recipes": ["full", "adapters"], "shots": [0, 30], "epochs": 2}))
    data = prepare_data(config)
    assert data.tokenizer.cls_id is not None  # the tiny tokenizer has [CLS], but petra models never read it
    tags = np.concatenate(data.sources["svo"].test.tags)
    majority = np.bincount(tags[tags >= 0]).max() / (tags >= 0).sum()  # always the commonest tag
    kinds = {}
    for encoding in config.encodings:
        model = build_model(config.model, encoding, len(data.tokenizer), {"task": HeadSpec("token", 3)})
        kinds[encoding] = (type(model.encoder).__name__, type(model.encoding).__name__)
        records = run_group(config, data, encoding, [0])[0].records
        assert records[0].source_accuracy > majority + 0.05, (encoding, records[0].source_accuracy, majority)
    assert kinds == {"keep": ("TransformerEncoder", "RotaryEncoding"), "alibi": ("TransformerEncoder", "AlibiEncoding")}
