"""Sweeps give the same metrics on every executor; failed trials are retried or reported."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from petra.experiments.executors import Failure, LocalExecutor, make_executor
from petra.errors import PetraError

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]
CONFIG = """
name: sweep
encodings: [sinusoidal, alibi]
seeds: [0, 1]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1}
data:
  source: {name: svo}
  targets: [{name: osv, word_order: OSV}]
  source_train: 200
  test: 60
pretrain: {epochs: 2, batch_size: 16}
finetune: {epochs: 3, batch_size: 8, recipes: [full], curve_points: 2, shots: [30]}
"""


UD_CONFIG = """
name: sweep-ud
encodings: [sinusoidal, alibi]
seeds: [0, 1]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1, max_len: 64}
task: {type: token, labels: upos}
tokenizer: {kind: wordpiece, vocab_size: 500, min_frequency: 1}
data:
  source: {treebank: Wolof-WTB}
  targets: [{treebank: Irish-IDT}]
  source_train: 200
  test: 40
pretrain: {epochs: 2, batch_size: 16, mix: {target_text: 30}}
finetune: {epochs: 3, batch_size: 8, recipes: [full, frozen_adaptive_pe], curve_points: 2, shots: [0, 20]}
"""
PRETRAINED_CONFIG = """
name: sweep-pretrained
encodings: [keep, alibi]
seeds: [0, 1]
model: {pretrained: FOLDER, max_len: 40}
data:
  source: {name: svo}
  targets: [{name: osv, word_order: OSV}]
  source_train: 200
  test: 60
pretrain: {objectives: [task], epochs: 2, batch_size: 16}
finetune: {epochs: 3, batch_size: 8, recipes: [full], curve_points: 2, shots: [30]}
"""
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def sweep(tmp_path, text, *options):
    config = tmp_path / f"c{len(list(tmp_path.glob('c*.yaml')))}.yaml"
    config.write_text(text)
    out = tmp_path / "_".join(options).replace("-", "")
    result = subprocess.run([*PETRA, "sweep", str(config), "-o", str(out), "--data-dir", str(SHARED), *options],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    runs = pd.read_csv(out / "runs.csv").drop(columns=["pretrain_seconds", "finetune_seconds"])
    return runs.sort_values(["encoding", "seed", "recipe", "shots"], ignore_index=True)


@pytest.mark.parametrize(("text", "rows"), [(CONFIG, 4), (UD_CONFIG, 2 * 2 * 3), (PRETRAINED_CONFIG, 4)],
                         ids=["synthetic", "ud", "pretrained"])
def test_ray_sweep_equals_serial_sweep(tmp_path, tiny_dirs, text, rows):
    if "treebank" in text and not (SHARED / "ud").is_dir():
        pytest.skip("../shared/data/ud not present")
    text = text.replace("FOLDER", str(tiny_dirs("distilbert")))  # a tiny DistilBERT with random weights
    serial = sweep(tmp_path, text, "--executor", "local", "--workers", "1")
    on_ray = sweep(tmp_path, text, "--executor", "ray", "--workers", "2")  # fits its own tokenizer: the same one
    assert len(serial) == rows  # PEs x seeds x (zero-shot and recipes at each k)
    pd.testing.assert_frame_equal(serial, on_ray, check_exact=True)


LENGTHGEN_CONFIG = """
experiment: lengthgen
name: sweep-lengthgen
tasks: [reverse_string, parity_check]
encodings: [random_ordered, learned, rope]
seeds: [0, 1]
train_max_length: 4
test_max_length: 8
eval_samples: 16
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1, max_len: 32}
train: {steps: 30, batch_size: 16, warmup_steps: 5}
"""


def test_ray_lengthgen_sweep_equals_the_serial_lengthgen_run(tmp_path):
    """`petra sweep` runs any experiment: a lengthgen config on Ray gives exactly what `petra lengthgen`
    gives serially (per-length accuracy of every (task, PE, seed) unit, and the comparison)."""
    config = tmp_path / "lengthgen.yaml"
    config.write_text(LENGTHGEN_CONFIG)
    serial, ray = tmp_path / "serial", tmp_path / "ray"
    for command in (["lengthgen", str(config), "-o", str(serial)],
                    ["sweep", str(config), "--executor", "ray", "--workers", "2", "-o", str(ray)]):
        result = subprocess.run([*PETRA, *command], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr + result.stdout
    for table in ("runs.csv", "comparison.csv"):
        expected, got = (pd.read_csv(folder / table) for folder in (serial, ray))
        expected, got = (frame.drop(columns=["train_seconds"], errors="ignore") for frame in (expected, got))
        assert len(expected) == (2 * 3 * 2 * 8 if table == "runs.csv" else 2 * 2)
        pd.testing.assert_frame_equal(expected, got, check_exact=True)


BOUND_CONFIG = """
experiment: bound
encodings: [random_gaussian, sinusoidal]
seeds: [0, 1]
model: {dim: 16, heads: 2, ffn_dim: 32, layers: 1}
data: {train: 60, test: 60}
train: {epochs: 2}
gap: {draws: 4, grid_points: 20}
"""
ALIGN_CONFIG = """
experiment: align
encodings: [sinusoidal, rope]
model: {dim: 16, layers: 1, heads: 2, ffn_dim: 32}
data:
  source: {name: svo, word_order: SVO, shared_vocab: 0.0, vocab_size: 40, seed: 1}
  target: {name: sov, word_order: SOV, adposition: post, shared_vocab: 0.0, vocab_size: 40, seed: 2}
  sentences: 200
pretrain: {epochs: 1, batch_size: 32, warmup_steps: 5}
align: {seed_pairs: 10, min_count: 2, methods: [procrustes], vectors: [input]}
"""


@pytest.mark.parametrize(("text", "command", "table", "rows"), [
    (BOUND_CONFIG, "bound", "draws.csv", 2 * (2 * 4 + 1)),  # random_gaussian: 2 schemes x 4 draws; sinusoidal: fixed
    (ALIGN_CONFIG, "align", "results.csv", 2 * 8),  # per PE: 2 maps x 2 retrievals + oracle x 2 + 2 frequency ranks
], ids=["bound", "align"])
def test_sweep_runs_every_experiment_as_its_own_command_does(tmp_path, text, command, table, rows):
    config = tmp_path / f"{command}.yaml"
    config.write_text(text)
    own, swept = tmp_path / "own", tmp_path / "swept"
    for args in ([command, str(config), "-o", str(own)],
                 ["sweep", str(config), "--executor", "local", "--workers", "2", "-o", str(swept)]):
        result = subprocess.run([*PETRA, *args], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr + result.stdout
    expected, got = (pd.read_csv(folder / table).drop(columns=["train_seconds", "seconds"], errors="ignore")
                     for folder in (own, swept))
    assert len(expected) == rows
    pd.testing.assert_frame_equal(expected, got, check_exact=True)


class Flaky:
    """Fails the first ``failures`` calls, then doubles its argument."""

    def __init__(self, failures):
        self.failures = failures

    def __call__(self, x):
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("transient")
        return 2 * x


def test_local_executor_retries_then_reports_failure():
    assert list(LocalExecutor(1, retries=1).map(Flaky(1), [(3,)])) == [(0, 6)]
    [(index, outcome)] = LocalExecutor(1, retries=1).map(Flaky(2), [(3,)])
    assert isinstance(outcome, Failure) and "transient" in outcome.error


def test_user_errors_are_not_retried():
    def bad(x):
        raise PetraError("bad input")

    with pytest.raises(PetraError, match="bad input"):
        list(LocalExecutor(1, retries=3).map(bad, [(1,)]))
    with pytest.raises(PetraError, match="unknown executor"):
        make_executor("slurm", 2)
