"""Kill a running sweep with SIGKILL, rerun it, and get every run exactly once with the numbers
an uninterrupted sweep gives (same seeds -> same numbers on CPU), for synthetic languages and for
real UD treebanks alike (one engine)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

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
  test: 80
pretrain: {epochs: 4, batch_size: 16, warmup_steps: 5}
finetune: {epochs: 6, batch_size: 8, warmup_steps: 2, curve_points: 3, shots: [40]}
run: {workers: 2, checkpoint_every: 5}
"""
UD_CONFIG = """
name: resume-ud
encodings: [learned, rope]
seeds: [0, 1]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1, max_len: 64}
task: {type: token, labels: upos}
tokenizer: {kind: wordpiece, vocab_size: 500, min_frequency: 1}
data:
  source: {treebank: Wolof-WTB}
  targets: [{treebank: Irish-IDT}, {treebank: Tagalog-TRG}]
  source_train: 300
  test: 50
pretrain: {epochs: 2, task_epochs: 2, batch_size: 16, warmup_steps: 5, mix: {target_text: 40}}  # MLM, then the task
finetune: {recipes: [full, adapters], shots: [0, 20], epochs: 4, batch_size: 8, warmup_steps: 2, curve_points: 2}
run: {workers: 2, checkpoint_every: 5}
"""
PRETRAINED_CONFIG = """
name: resume-pretrained
encodings: [keep, rope]
seeds: [0, 1]
model: {pretrained: FOLDER, max_len: 40}
data:
  source: {name: svo}
  targets: [{name: sov, word_order: SOV}]
  source_train: 300
  test: 60
pretrain: {objectives: [mlm, task], epochs: 1, task_epochs: 3, batch_size: 16, warmup_steps: 5}
finetune: {recipes: [full, adapters], shots: [0, 30], epochs: 4, batch_size: 8, warmup_steps: 2, curve_points: 2}
run: {workers: 2, checkpoint_every: 5}
"""
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TIMING = ["pretrain_seconds", "finetune_seconds"]
CASES = {
    # config, rows: 2 PEs x 2 seeds x (synthetic: 1 target x 2 recipes; UD: per target zero-shot + 2 recipes,
    # Tagalog-TRG, test-only, fine-tuned on test folds)
    "synthetic": (CONFIG, 8),
    # each PE's two seeds side by side, their training phases batched (run.ensemble)
    "ensemble": (CONFIG.replace("checkpoint_every: 5}", "checkpoint_every: 5, ensemble: 2}"), 8),
    "ud": (UD_CONFIG, 24),
    # a tiny XLM-R built here with random weights: zero-shot + 2 recipes per PE and seed
    "pretrained": (PRETRAINED_CONFIG, 12),
}


def petra_run(config: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*PETRA, "run", str(config), "-o", str(out), "--data-dir", str(SHARED)],
                          capture_output=True, text=True, timeout=600)


def load_runs(out: Path) -> pd.DataFrame:
    runs = pd.read_csv(out / "runs.csv").drop(columns=TIMING)
    return runs.sort_values(["encoding", "seed", "target", "recipe", "shots"], ignore_index=True)


@pytest.mark.parametrize("case", list(CASES))
def test_sigkill_then_rerun_gives_the_uninterrupted_results(tmp_path, tiny_dirs, case):
    text, rows = CASES[case]
    if case == "ud" and not (SHARED / "ud").is_dir():
        pytest.skip("../shared/data/ud not present")
    text = text.replace("FOLDER", str(tiny_dirs("xlm-roberta")))  # a tiny XLM-R with random weights
    config = tmp_path / "c.yaml"
    config.write_text(text)
    out = tmp_path / "killed"
    victim = subprocess.Popen([*PETRA, "run", str(config), "-o", str(out), "--data-dir", str(SHARED)],
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((out / "store" / "work").glob("*/*.ckpt")) and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # the whole group: the CLI and its worker processes
    victim.wait()
    finished_before = len(list((out / "store" / "records").glob("*.parquet")))
    assert finished_before < 4, "the sweep finished before it could be killed; the test proved nothing"
    assert list((out / "store" / "work").glob("*/*")), "a killed sweep leaves its unfinished work behind"
    left = [p.stem for p in (out / "store" / "work").glob("*/*.ckpt")]

    resumed = petra_run(config, out)
    assert resumed.returncode == 0, resumed.stderr
    # the rerun took the killed run's work over (a rerun from zero would give the same numbers: runs are
    # deterministic), loading the checkpoints it left
    assert "resumed" in resumed.stdout, resumed.stdout
    assert all(f"{phase} from its step-" in resumed.stdout for phase in left), (left, resumed.stdout)
    runs = load_runs(out)
    assert not runs.duplicated(["encoding", "seed", "target", "recipe", "shots"]).any()
    assert len(runs) == rows

    # The uninterrupted reference: a fresh run of the same config in another process, which fits its own
    # tokenizer (the UD case uses WordPiece, whose fit petra makes the same in every process).
    reference = petra_run(config, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr
    pd.testing.assert_frame_equal(runs, load_runs(tmp_path / "reference"))
    assert not list((out / "store" / "work").glob("*/*")), "finished units clean up their checkpoints"

    again = petra_run(config, out)  # everything stored: nothing is trained again
    assert "4 finished unit(s) reused" in again.stdout
    pd.testing.assert_frame_equal(load_runs(out), runs)
