"""Sweeps give the same metrics on every executor; failed trials are retried or reported."""

import subprocess
import sys

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
  target_train: 30
  test: 60
pretrain: {epochs: 2, batch_size: 16}
finetune: {epochs: 3, batch_size: 8, recipes: [full], curve_points: 2}
"""


def sweep(tmp_path, *options):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "_".join(options).replace("-", "")
    result = subprocess.run([*PETRA, "sweep", str(config), "-o", str(out), *options],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    runs = pd.read_csv(out / "runs.csv").drop(columns=["pretrain_seconds", "finetune_seconds"])
    return runs.sort_values(["encoding", "seed"], ignore_index=True)


def test_ray_sweep_equals_serial_sweep(tmp_path):
    serial = sweep(tmp_path, "--executor", "local", "--workers", "1")
    on_ray = sweep(tmp_path, "--executor", "ray", "--workers", "2")
    assert len(serial) == 4  # 2 PEs x 2 seeds x 1 target x 1 recipe
    pd.testing.assert_frame_equal(serial, on_ray, check_exact=True)


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
