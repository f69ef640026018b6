"""Where a unit's time goes: parts are timed exclusively, and a transfer run says where its time went."""

import json
import time

import pandas as pd
import pytest

import petra
from petra.results.time_profile import IDLE
from petra.timing import UNTIMED, TimeProfile


def test_a_part_inside_another_counts_once_as_itself():
    profile = TimeProfile()
    with profile.part("fine-tuning"):
        time.sleep(0.05)
        with profile.part("evaluation"):
            time.sleep(0.1)
    with profile.part("evaluation"):
        time.sleep(0.05)
    time.sleep(0.05)
    table = profile.table()
    assert table["evaluation"] == pytest.approx(0.15, abs=0.03)
    assert table["fine-tuning"] == pytest.approx(0.05, abs=0.03)
    assert table[UNTIMED] == pytest.approx(0.05, abs=0.03)
    assert sum(table.values()) == pytest.approx(0.25, abs=0.04)


def test_a_transfer_run_records_where_its_time_went_and_a_rerun_keeps_it(tmp_path):
    config = {"encodings": ["sinusoidal"], "seeds": [0, 1], "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
              "data": {"source_train": 100, "test": 40}, "pretrain": {"epochs": 1, "batch_size": 16},
              "finetune": {"shots": [0, 10], "epochs": 1, "batch_size": 8, "curve_points": 0},
              "run": {"output_dir": str(tmp_path / "r"), "workers": 1}}
    petra.run(config)
    spent = pd.read_csv(tmp_path / "r" / "time.csv").set_index("part")
    for part in ("data preparation", "pretraining", "fine-tuning", "scratch", "evaluation", "stability measures",
                 "keeping models", "k-shot data", UNTIMED):
        assert spent.loc[part, "seconds"] >= 0, part
    assert spent.loc["pretraining", "seconds"] > 0 and spent.loc["evaluation", "seconds"] > 0
    # one worker, in this process: outside its units only storing each unit (no start-up, no idle tail)
    units = spent.loc[~spent.index.isin(["data preparation", IDLE]), "seconds"].sum()
    assert 0 < spent.loc[IDLE, "seconds"] < 0.5 * units and not spent.loc[IDLE, "training"]
    assert spent["share"].sum() == pytest.approx(1.0)
    assert set(spent.index[spent["training"]]) == {"pretraining", "fine-tuning", "scratch"}
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["time"]["pretraining"] == pytest.approx(spent.loc["pretraining", "seconds"], abs=0.01)
    assert "Where the time went" in (tmp_path / "r" / "report.html").read_text()
    petra.run(config)  # every unit from the store: their profiles are stored with them
    again = pd.read_csv(tmp_path / "r" / "time.csv").set_index("part")
    assert again.loc["pretraining", "seconds"] == spent.loc["pretraining", "seconds"]
    assert "data preparation" not in again.index and IDLE not in again.index  # this run prepared and trained nothing
