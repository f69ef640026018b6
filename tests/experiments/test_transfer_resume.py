"""Kill a running sweep with SIGKILL, rerun it, and get every run exactly once with the numbers
an uninterrupted sweep gives (same seeds -> same numbers on CPU)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]
CONFIG = """
name: resume-test
encodings: [learned, sinusoidal]
seeds: [0, 1]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1}
data:
  source: {name: svo}
  targets: [{name: sov, word_order: SOV}]
  source_train: 400
  target_train: 40
  test: 80
pretrain: {epochs: 4, batch_size: 16, warmup_steps: 5}
finetune: {epochs: 6, batch_size: 8, warmup_steps: 2, curve_points: 3}
run: {workers: 2, checkpoint_every: 5}
"""
TIMING = ["pretrain_seconds", "finetune_seconds"]


def petra_run(config: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*PETRA, "run", str(config), "-o", str(out)], capture_output=True, text=True, timeout=600)


def load_runs(out: Path) -> pd.DataFrame:
    runs = pd.read_csv(out / "runs.csv").drop(columns=TIMING)
    return runs.sort_values(["encoding", "seed", "target", "recipe"], ignore_index=True)


def test_sigkill_then_rerun_gives_the_uninterrupted_results(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    reference = petra_run(config, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "killed"
    victim = subprocess.Popen([*PETRA, "run", str(config), "-o", str(out)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((out / "store" / "work").glob("*/*.ckpt")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # the whole group: the CLI and its worker processes
    victim.wait()
    finished_before = len(list((out / "store" / "records").glob("*.parquet")))
    assert finished_before < 4, "the sweep finished before it could be killed; the test proved nothing"
    assert list((out / "store" / "work").glob("*/*")), "a killed sweep leaves its unfinished work behind"

    resumed = petra_run(config, out)
    assert resumed.returncode == 0, resumed.stderr
    runs = load_runs(out)
    assert not runs.duplicated(["encoding", "seed", "target", "recipe"]).any()
    assert len(runs) == 2 * 2 * 1 * 2
    pd.testing.assert_frame_equal(runs, load_runs(tmp_path / "reference"))
    assert not list((out / "store" / "work").glob("*/*")), "finished units clean up their checkpoints"

    again = petra_run(config, out)  # everything stored: nothing is trained again
    assert "4 finished unit(s) reused" in again.stdout
    pd.testing.assert_frame_equal(load_runs(out), runs)
