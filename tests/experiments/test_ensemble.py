"""run.ensemble: a PE's seeds trained side by side, each training phase as one batched model, give
the numbers the same seeds give one after another (the same runs, scores and curves, up to float
rounding), and say which phases they batched."""

import logging
from pathlib import Path

import pytest

import numpy as np
import pandas as pd

from petra.config import parse_config
from petra.errors import PetraError
from petra.experiments.driver import drive
from petra.experiments.transfer_config import Config

CONFIG = {
    "name": "ensemble",
    "encodings": ["learned", "random_ordered"],
    "seeds": [0, 1, 2],
    "model": {"dim": 32, "heads": 2, "ffn_dim": 64, "layers": 1, "dropout": 0.1},
    "task": {"type": "sequence"},
    "data": {"source": {"name": "svo"}, "targets": [{"name": "sov", "word_order": "SOV"}], "source_train": 300, "test": 60},
    "pretrain": {"objectives": ["mlm", "task"], "epochs": 2, "batch_size": 16, "warmup_steps": 5},
    "finetune": {"recipes": ["full", "frozen_pe", "adapters"], "shots": [0, 30], "epochs": 3, "batch_size": 8,
                 "warmup_steps": 2, "curve_points": 2},
    "run": {"workers": 1},
}
KEY = ["encoding", "seed", "source", "target", "recipe", "shots"]


def run(tmp_path, ensemble):
    config = parse_config({**CONFIG, "run": {**CONFIG["run"], "ensemble": ensemble,
                                             "output_dir": str(tmp_path / str(ensemble))}}, schema=Config)
    finished = drive(config)
    runs = finished.results.runs.drop(columns=["pretrain_seconds", "finetune_seconds", "key"], errors="ignore")
    curves = finished.results.curves.drop(columns=["key"], errors="ignore")
    return runs.sort_values(KEY, ignore_index=True), curves.sort_values(list(curves.columns[:-1]), ignore_index=True)


def test_an_ensemble_gives_the_numbers_of_seeds_trained_one_after_another(tmp_path, caplog):
    alone, alone_curves = run(tmp_path, "off")
    with caplog.at_level(logging.INFO, logger="petra.experiments.lockstep"):
        batched, batched_curves = run(tmp_path, 3)
    # every training phase batched: pretraining, scratch and each recipe, per PE
    assert caplog.text.count("3 units trained pretrain-svo as one batched model") == 2
    for phase in ("scratch-sov-30", "full-svo-sov-30", "adapters-svo-sov-30"):
        assert f"3 units trained {phase} as one batched model" in caplog.text, caplog.text
    assert len(batched) == 2 * 3 * 4  # PEs x seeds x (zero-shot + 3 recipes)
    pd.testing.assert_frame_equal(alone, batched, rtol=1e-5)
    assert len(alone_curves) == len(batched_curves)
    np.testing.assert_allclose(batched_curves["value"], alone_curves["value"], rtol=1e-5)


def test_units_group_by_encoding_in_order_and_ensemble_is_checked():
    from petra.experiments.lockstep import group_size
    from petra.experiments.transfer import unit_groups

    pending = [("learned", 0), ("learned", 1), ("learned", 2), ("rope", 0), ("rope", 2)]
    assert unit_groups(pending, 2) == [("learned", [0, 1]), ("learned", [2]), ("rope", [0, 2])]
    assert unit_groups(pending, 1) == [(e, [s]) for e, s in pending]
    assert group_size("auto", on_cuda=False) == group_size("off", on_cuda=True) == 1 and group_size(4, False) == 4
    import yaml

    assert parse_config(yaml.safe_load("run: {ensemble: off}"), schema=Config).run.ensemble == "off"  # YAML's false
    with pytest.raises(PetraError, match="run.ensemble"):
        parse_config({"run": {"ensemble": 0}}, schema=Config)


UD = {
    "name": "ensemble-ud",
    "encodings": ["rope"],
    "seeds": [0, 1, 2],
    "model": {"dim": 32, "heads": 2, "ffn_dim": 64, "layers": 1, "max_len": 64},
    "task": {"type": "token", "labels": "upos"},
    "tokenizer": {"kind": "wordpiece", "vocab_size": 500, "min_frequency": 1},
    "data": {"source": {"treebank": "Wolof-WTB"}, "targets": [{"treebank": "Irish-IDT"}, {"treebank": "Tagalog-TRG"}],
             "source_train": 300, "test": 50},
    "pretrain": {"epochs": 2, "task_epochs": 2, "batch_size": 16, "warmup_steps": 5, "mix": {"target_text": 40}},
    "finetune": {"recipes": ["full", "adapters"], "shots": [0, 20], "epochs": 4, "batch_size": 8, "warmup_steps": 2,
                 "curve_points": 2},
    "run": {"workers": 1},
}


def test_an_ensemble_on_real_treebanks_gives_the_same_runs(tmp_path, caplog):
    """Wolof -> Irish and Tagalog (test folds): the masked-LM stage reads the targets' text too (each step's
    language drawn per seed: one after another), the task stage, scratch and recipes batch."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    if not (shared / "ud").is_dir():
        pytest.skip("../shared/data/ud not present")
    runs = {}
    for ensemble in ("off", 3):
        config = parse_config({**UD, "run": {**UD["run"], "ensemble": ensemble, "output_dir": str(tmp_path / str(ensemble))}},
                              schema=Config)
        with caplog.at_level(logging.INFO, logger="petra.experiments.lockstep"):
            finished = drive(config, data_dir=shared)
        runs[ensemble] = finished.results.runs.drop(columns=["pretrain_seconds", "finetune_seconds", "key"], errors="ignore")
    assert "3 units train one after another: their phase draws each step's language per seed" in caplog.text
    assert "3 units trained pretrain-Wolof-WTB as one batched model" in caplog.text
    assert "3 units trained adapters-Wolof-WTB-Tagalog-TRG-20-fold4 as one batched model" in caplog.text
    assert len(runs["off"]) == 3 * (2 * 3)  # seeds x targets x (zero-shot + 2 recipes)
    pd.testing.assert_frame_equal(runs["off"].sort_values(KEY, ignore_index=True),
                                  runs[3].sort_values(KEY, ignore_index=True), rtol=1e-5)
