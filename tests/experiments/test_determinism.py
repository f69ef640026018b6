"""Same config and seed -> identical metrics, in two separate processes and whatever the worker count."""

import subprocess
import sys

import pandas as pd

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]
CONFIG = """
name: determinism
encodings: [random_gaussian, t5_bias]
seeds: [3]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1}
data:
  source: {name: svo}
  targets: [{name: vos, word_order: VOS}]
  source_train: 200
  test: 60
pretrain: {epochs: 2, batch_size: 16}
finetune: {epochs: 3, batch_size: 8, curve_points: 2, shots: [30]}
run: {workers: WORKERS}
"""


def run(tmp_path, workers):
    config = tmp_path / f"c{workers}.yaml"
    config.write_text(CONFIG.replace("WORKERS", str(workers)))
    out = tmp_path / f"out{workers}"
    result = subprocess.run([*PETRA, "run", str(config), "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(out / "runs.csv").drop(columns=["pretrain_seconds", "finetune_seconds"])
    return runs.sort_values(["encoding", "recipe"], ignore_index=True)


def test_two_processes_give_identical_metrics(tmp_path):
    serial, parallel = run(tmp_path, 1), run(tmp_path, 2)
    assert len(serial) == 4
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
