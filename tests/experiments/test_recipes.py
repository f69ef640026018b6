"""Every recipe and the multilingual pretraining options run through the same pipeline and land
in the same results."""

import pandas as pd
import pytest

from petra.config import parse_config
from petra.experiments.unit import run_unit
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
    result = run_unit(config, data, "learned", 0)
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
        records = run_unit(config, prepare_data(config), "learned", 0).records
        return {r.recipe: (r.accuracy, r.scratch_accuracy) for r in records}

    default = accuracies()
    assert accuracies(frozen_encoder_lr=1e-3) == default  # the fine-tuning lr (1e-3 by default): the same runs
    faster = accuracies(frozen_encoder_lr=0.02)
    assert faster["full"] == default["full"]  # full and scratch train at finetune.lr either way
    assert faster["adapters"][0] != default["adapters"][0]
