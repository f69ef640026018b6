"""Every recipe and the multilingual pretraining options run through the same pipeline and land
in the same results."""

import pandas as pd
import pytest

from petra.config import parse_config
from petra.experiments.transfer import run_group
from petra.experiments.transfer_data import prepare_data
from petra.data.mixing import temperature_probabilities

TINY = {
    "encodings": ["learned"],
    "seeds": [0],
    "model": {"dim": 32, "heads": 2, "ffn_dim": 64, "layers": 1},
    "data": {"source": {"name": "svo"}, "targets": [{"name": "sov", "word_order": "SOV"}],
             "source_train": 200, "test": 60},
    "pretrain": {"epochs": 2, "batch_size": 16,
                 "mix": {"languages": [{"name": "vso", "word_order": "VSO"}], "sentences": [80], "alpha": 0.5,
                         "language_embeddings": True},
                 "adversary": {"weight": 0.1}},
    "finetune": {"epochs": 3, "batch_size": 8, "curve_points": 2, "shots": [30],
                 "recipes": ["full", "frozen_pe", "frozen_adaptive_pe", "adapters", "adversarial"]},
}


def test_all_recipes_with_multilingual_adversarial_pretraining():
    config = parse_config(TINY)
    data = prepare_data(config)
    assert data.languages == ["svo", "vso", "sov"]
    assert [c.lang for c in data.mix] == [1] and data.targets["sov"].lang == data.targets["sov"].test.lang == 2
    result = run_group(config, data, "learned", [0])[0]
    runs = pd.DataFrame([r.__dict__ for r in result.records]).set_index("recipe")
    assert list(runs.index) == ["full", "frozen_pe", "frozen_adaptive_pe", "adapters", "adversarial"]
    assert runs["accuracy"].between(0, 1).all()
    # The PE table moves only where the recipe lets it train.
    assert runs.loc["full", "pe_drift"] > 0 and runs.loc["adversarial", "pe_drift"] > 0
    for frozen in ("frozen_pe", "frozen_adaptive_pe", "adapters"):
        assert runs.loc[frozen, "pe_drift"] == 0.0


def test_temperature_sampling():
    assert temperature_probabilities([900, 100], 1.0) == pytest.approx([0.9, 0.1])
    assert temperature_probabilities([900, 100], 0.0) == pytest.approx([0.5, 0.5])
    p = temperature_probabilities([900, 100], 0.5)
    assert p[1] == pytest.approx(1 / 4)  # sqrt(0.1) / (sqrt(0.9) + sqrt(0.1))


def test_adversary_needs_two_pretraining_languages():
    from petra.errors import PetraError

    with pytest.raises(PetraError, match="pretrain.adversary needs two or more"):
        parse_config({"pretrain": {"adversary": {"weight": 0.1}}})


def test_frozen_encoder_lr_reaches_only_the_frozen_encoder_recipes():
    def accuracies(**finetune):
        config = parse_config({**TINY, "pretrain": {"epochs": 1, "batch_size": 16},
                               "finetune": {**TINY["finetune"], "recipes": ["full", "adapters"], "curve_points": 0,
                                            **finetune}})
        records = run_group(config, prepare_data(config), "learned", [0])[0].records
        return {r.recipe: (r.accuracy, r.scratch_accuracy) for r in records}

    default = accuracies()
    assert accuracies(frozen_encoder_lr=5e-3) == default  # null: 5 x the fine-tuning lr (1e-3 by default)
    faster = accuracies(frozen_encoder_lr=0.05)
    assert faster["full"] == default["full"]  # full and scratch train at finetune.lr either way
    assert faster["adapters"][0] != default["adapters"][0]


MADX = {**TINY, "pretrain": {"objectives": ["mlm", "task"], "epochs": 2, "task_epochs": 2, "batch_size": 16,
                             "mix": {"target_text": 60, "languages": [{"name": "vso", "word_order": "VSO"}],
                                     "sentences": [80]}},
        "finetune": {"epochs": 2, "batch_size": 8, "curve_points": 0, "shots": [0, 30], "recipes": ["full", "madx"],
                     "language_adapter_steps": 20}}


def test_madx_zero_shot_goes_through_the_target_language_adapter_and_resumes(tmp_path):
    import torch

    from petra.experiments.unit import UnitRunner

    config = parse_config(MADX)
    data = prepare_data(config)
    runner = UnitRunner(config, data, "learned", 0, tmp_path)
    runs = pd.DataFrame([r.__dict__ for r in runner.run().records]).set_index(["recipe", "shots"])
    assert list(runs.index) == [("zero_shot", 0), ("madx", 0), ("full", 30), ("madx", 30)]
    readied = runner.start("madx", data.sources["svo"])
    blocks, target = readied.encoder.blocks, data.targets["sov"].lang
    trained = [float(b.adapter.up[lang].weight.abs().sum()) for b in blocks for lang in (0, target)]
    assert all(w > 0 for w in trained)  # source and target language adapters both learned (they start at zero)
    assert data.languages[1] == "vso" and float(blocks[0].adapter.up[1].weight.abs().sum()) == 0  # not a target: untouched
    # a MAD-X row starts from its own zero-shot model, not the pretrained one
    assert runs.loc[("madx", 30), "zero_shot_accuracy"] == runs.loc[("madx", 0), "accuracy"]
    assert runs.loc[("madx", 30), "trainable_parameters"] < runs.loc[("full", 30), "trainable_parameters"]
    # a new runner on the same work folder restores every stage (none retrains) and gives the same rows
    again = UnitRunner(config, data, "learned", 0, tmp_path)
    restored = again.start("madx", data.sources["svo"])
    for (name, a), b in zip(readied.state_dict().items(), restored.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r.accuracy for r in again.run().records] == list(runs["accuracy"])


def test_madx_says_what_it_needs():
    from petra.errors import PetraError

    with pytest.raises(PetraError, match="recipe 'madx' starts from the masked-LM-pretrained model"):
        parse_config({**MADX, "pretrain": {"epochs": 1}})
    with pytest.raises(PetraError, match="recipe 'madx' trains each target's language adapter on its own text"):
        parse_config({**MADX, "pretrain": {**MADX["pretrain"], "mix": {"target_text": 0}}})


def test_language_specific_positions_train_a_copy_of_the_pe_per_language(tmp_path):
    import torch

    from petra.errors import PetraError
    from petra.experiments.unit import UnitRunner
    from petra.models.language import LanguagePositions
    from petra.experiments.phases import seeded_scores
    from petra.results.kept_models import KeptModel, load_model, read_meta

    pretrain = {**MADX["pretrain"], "mix": {**MADX["pretrain"]["mix"], "positions": "per_language"}}
    config = parse_config({**MADX, "pretrain": pretrain, "finetune": {**MADX["finetune"], "recipes": ["full"]}})
    data = prepare_data(config)
    runner = UnitRunner(config, data, "learned", 0, None, models=tmp_path)
    records = runner.run().records
    assert [(r.recipe, r.shots) for r in records] == [("zero_shot", 0), ("full", 30)]
    pe = runner.pretrained(data.sources["svo"]).encoder.encoding
    assert isinstance(pe, LanguagePositions) and len(pe.per_language) == 3
    tables = [copy.table.weight for copy in pe.per_language]
    assert not torch.equal(tables[0], tables[1]) and not torch.equal(tables[0], tables[2])  # each language its own
    # the kept model rebuilds with its per-language tables and scores what the run scored
    path = tmp_path / "full--svo--sov--k30.safetensors"
    model = load_model(KeptModel(path, read_meta(path)), "sov")
    scored = seeded_scores(model, data.targets["sov"].test, runner.task, data.pad_id, runner._seed("sov", "eval"),
                           data.labels)
    assert scored["accuracy"] == records[1].accuracy
    with pytest.raises(PetraError, match="encoding 'rope' has none"):
        parse_config({**MADX, "encodings": ["rope"], "pretrain": pretrain})
    with pytest.raises(PetraError, match="target 'sov' has no text in masked-LM pretraining"):
        parse_config({**MADX, "pretrain": {**pretrain, "mix": {**pretrain["mix"], "target_text": 0}},
                      "finetune": {**MADX["finetune"], "recipes": ["full"]}})
