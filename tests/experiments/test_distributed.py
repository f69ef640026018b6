"""Data-parallel pretraining through Accelerate: a no-op on one process, in sync on two."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

CONFIG = """
encodings: [sinusoidal]
seeds: [0]
model: {dim: 32, heads: 2, ffn_dim: 64, layers: 1}
data: {source: {name: svo}, targets: [{name: sov, word_order: SOV}], source_train: 256, test: 100}
finetune: {shots: [10]}
pretrain: {epochs: 3, batch_size: 16, warmup_steps: 4}
"""


def pretrain(tmp_path, processes):
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    out = tmp_path / f"p{processes}"
    if processes == 1:
        command = [sys.executable, "-m", "petra", "pretrain", str(config), "-o", str(out)]
    else:
        launcher = shutil.which("accelerate", path=str(Path(sys.executable).parent))
        # --multi_gpu starts k processes via torch.distributed.run; without GPUs they run on the CPU.
        command = [launcher, "launch", "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
                   "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "petra", "pretrain", str(config),
                   "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "pretrain.json").read_text())


def test_single_process_is_plain_training(tmp_path):
    metrics = pretrain(tmp_path, 1)
    assert metrics["processes"] == 1 and metrics["steps_per_process"] == 3 * 16
    assert metrics["last_loss"] < metrics["first_loss"]


def test_two_processes_share_the_work_and_stay_in_sync(tmp_path):
    metrics = pretrain(tmp_path, 2)
    assert metrics["processes"] == 2 and metrics["steps_per_process"] == 3 * 8  # each rank: half the batches
    # every rank's weights, digested on that rank, equal each other and the model the main rank saved
    import torch

    from petra.experiments.distributed import parameter_digest

    saved = torch.nn.Module()
    saved.state_dict = lambda: torch.load(tmp_path / "p2" / "model.pt")  # what parameter_digest reads
    first, second = metrics["parameter_digests"]
    assert first == second == parameter_digest(saved) and metrics["replicas_identical"]
    assert metrics["last_loss"] < metrics["first_loss"]
