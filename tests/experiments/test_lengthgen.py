"""`petra lengthgen`: the experiment end to end (quick), that training learns the trained lengths, and
the config checks that keep `learned` and `random_ordered` from failing mid-run."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from petra.config import load_config, parse_config
from petra.errors import PetraError
from petra.encodings import LENGTHGEN_DEFAULT as ALL_ENCODINGS
from petra.experiments.lengthgen import LengthgenConfig, run_unit

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]
REPO = Path(__file__).resolve().parents[2]


def test_quick_lengthgen_end_to_end(tmp_path):
    out = tmp_path / "lengthgen"
    result = subprocess.run([*PETRA, "lengthgen", "--quick", "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("config.yaml", "runs.csv", "scores.csv", "summary.csv", "comparison.csv", "metrics.json", "accuracy_by_length.png"):
        assert (out / name).is_file(), name
    runs = pd.read_csv(out / "runs.csv")
    config = load_config(out / "config.yaml", schema=LengthgenConfig)
    # Every PE is evaluated on every length 1..M, and lengths > N are flagged unseen.
    assert set(runs["encoding"]) == set(ALL_ENCODINGS)
    assert len(runs) == len(ALL_ENCODINGS) * config.test_max_length
    assert (runs["in_distribution"] == (runs["length"] <= config.train_max_length)).all()
    assert runs["accuracy"].between(0, 1).all()
    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["versus"]) == set(ALL_ENCODINGS) - {"random_ordered"}
    assert "random_ordered − sinusoidal" in result.stdout


def test_a_rerun_reuses_the_finished_units_and_gives_the_same_numbers(tmp_path):
    """Each unit is kept in RESULTS/store as it finishes: a run that lost units (as a killed one does)
    computes only those again, and every table comes out as the first run wrote it."""
    config = tmp_path / "lengthgen.yaml"
    config.write_text("experiment: lengthgen\nencodings: [sinusoidal, rope]\nseeds: [0, 1]\ntrain_max_length: 3\n"
                      "test_max_length: 5\neval_samples: 16\nmodel: {dim: 16, heads: 2, ffn_dim: 32, layers: 1}\n"
                      "train: {steps: 20, batch_size: 8, warmup_steps: 2}\nrun: {workers: 1}\n")
    out = tmp_path / "out"

    def petra_lengthgen() -> str:
        result = subprocess.run([*PETRA, "lengthgen", str(config), "-o", str(out)], capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    petra_lengthgen()
    first = {name: pd.read_csv(out / name) for name in ("runs.csv", "summary.csv", "comparison.csv")}
    kept = sorted((out / "store" / "units").glob("*.pkl"))
    assert len(kept) == 4  # one per (task, PE, seed)
    kept[0].unlink()  # a unit the run never finished
    assert "3 finished unit(s) reused" in petra_lengthgen()
    assert kept[0].is_file()  # computed again and kept
    for name, frame in first.items():
        again = pd.read_csv(out / name)
        if name == "runs.csv":  # the recomputed unit's training took another number of seconds
            frame, again = frame.drop(columns=["train_seconds"]), again.drop(columns=["train_seconds"])
        pd.testing.assert_frame_equal(frame, again, check_exact=True)
    assert "4 finished unit(s) reused" in petra_lengthgen()  # nothing left to compute


def test_training_learns_the_trained_lengths():
    """Short reverse strings are learnt well above chance (0.5) in a few hundred steps."""
    config = parse_config({
        "encodings": ["sinusoidal"], "seeds": [0], "train_max_length": 3, "test_max_length": 4, "eval_samples": 64,
        "train": {"steps": 200, "batch_size": 32, "lr": 0.003, "warmup_steps": 10},
    }, schema=LengthgenConfig)
    records = run_unit(config, "reverse_string", "sinusoidal", 0)
    assert [r.length for r in records] == [1, 2, 3, 4]
    trained = [r.accuracy for r in records if r.in_distribution]
    assert min(trained) > 0.9, trained


def test_learned_needs_rows_for_every_test_position():
    with pytest.raises(PetraError, match=r"model\.max_len.*\(64\).*128"):
        parse_config({"model": {"max_len": 64}}, "cfg.yaml", LengthgenConfig)
    # Without `learned` the table size does not matter.
    parse_config({"model": {"max_len": 64}, "encodings": ["sinusoidal"]}, "cfg.yaml", LengthgenConfig)


def test_random_ordered_needs_l_max_beyond_the_test_lengths():
    with pytest.raises(PetraError, match="l_max"):
        parse_config({"model": {"encoding_options": {"random_ordered": {"l_max": 100}}}}, "cfg.yaml", LengthgenConfig)


def test_test_lengths_must_exceed_training_lengths():
    with pytest.raises(PetraError, match="test_max_length"):
        parse_config({"train_max_length": 16, "test_max_length": 16}, "cfg.yaml", LengthgenConfig)


def test_configs_lengthgen_yaml_is_the_default_setting():
    assert load_config(REPO / "configs" / "lengthgen.yaml", schema=LengthgenConfig) == LengthgenConfig()


def test_a_partial_model_section_keeps_the_experiment_defaults():
    config = parse_config({"model": {"layers": 3}}, "cfg.yaml", LengthgenConfig)
    assert config.model.layers == 3 and config.model.max_len == 128 and config.model.dropout == 0.0
