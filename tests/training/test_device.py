"""One device setting: `run.device` / `--device` resolve in one place, CUDA asked for without CUDA
is a config error before any work, and the CPU path is what it was. CUDA tests run only where a
GPU is (skipped here)."""

import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from petra.config import parse_config
from petra.device import resolve_device, uses_cuda
from petra.errors import PetraError
from petra.experiments.transfer import run
from petra.results.store import ResultStore
from petra.training.loop import GUARD_EVERY, TrainResult, _Guard

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")

TINY = {
    "encodings": ["sinusoidal", "random_gaussian"], "seeds": [0],
    "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
    "data": {"source_train": 120, "test": 40},
    "pretrain": {"epochs": 2, "batch_size": 16, "warmup_steps": 2},
    "finetune": {"recipes": ["full"], "shots": [0, 20], "epochs": 2, "batch_size": 8, "curve_points": 2},
    "run": {"workers": 1, "checkpoint_every": 0},
}
TIMING = ["pretrain_seconds", "finetune_seconds", "key"]


def test_auto_is_cuda_when_there_is_one_else_the_cpu():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert not uses_cuda("cpu") and uses_cuda("auto") == torch.cuda.is_available()


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_config_error_naming_the_field(spec):
    with pytest.raises(PetraError, match=rf"invalid config field 'run.device': '{spec}' asked for, but this machine "
                                         "has no CUDA device"):
        parse_config({"run": {"device": spec}})


def test_a_device_that_is_no_device_is_named():
    with pytest.raises(PetraError, match=r"'run.device': 'gpu' is not a device: use auto, cpu, cuda or cuda:N"):
        parse_config({"run": {"device": "gpu"}})


@no_cuda
@pytest.mark.parametrize(("command", "field"), [("demo", "run.device"), ("lengthgen", "run.device"),
                                                ("bound", "run.device"), ("align", "run.device")])
def test_cli_device_cuda_exits_2_before_any_work(tmp_path, command, field):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "from petra.cli import entry; entry()", command, "--quick",
                             "--device", "cuda", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and f"invalid config field '{field}': 'cuda' asked for" in result.stderr
    assert not out.exists()  # nothing started, nothing written


def _runs(device: str | None, tmp_path, name: str) -> pd.DataFrame:
    cfg = {**TINY, "run": {**TINY["run"], **({"device": device} if device else {})}}
    results = run(parse_config(cfg), ResultStore(tmp_path / name))
    return results.runs.drop(columns=TIMING).sort_values(["encoding", "shots"], ignore_index=True)


def test_run_device_cpu_gives_the_default_numbers(tmp_path):
    default, cpu = _runs(None, tmp_path, "default"), _runs("cpu", tmp_path, "cpu")
    if not torch.cuda.is_available():  # the default (auto) is the CPU here: bit-identical
        pd.testing.assert_frame_equal(default, cpu)
    assert (cpu["accuracy"] > 0).all()


def test_the_deferred_guard_names_the_first_bad_step():
    """On CUDA losses are read every GUARD_EVERY steps; the error still names the step it happened."""
    model = torch.nn.Linear(2, 2)
    guard = _Guard(TrainResult(), model, steps_per_epoch=10)
    guard.deferred = True  # as on a GPU
    finite = torch.tensor(1.0)
    for step in range(GUARD_EVERY - 1):
        guard.loss(torch.tensor(float("nan") if step == 23 else 0.5))
        guard.gradients(finite)
        guard.stepped()
    assert guard.result.steps == 0 and guard.steps == GUARD_EVERY - 1  # nothing read from the device yet
    with pytest.raises(PetraError, match=r"loss is nan at step 23 \(epoch 2\)"):
        guard.flush()
    guard = _Guard(TrainResult(), model, steps_per_epoch=10)
    guard.deferred = True
    for step in range(5):
        guard.loss(torch.tensor(0.5))
        guard.gradients(torch.tensor(float("inf") if step == 4 else 1.0))
        guard.stepped()
    with pytest.raises(PetraError, match=r"non-finite gradients at step 4"):
        guard.flush()
    assert guard.result.losses == [0.5] * 4 and all(math.isfinite(v) for v in guard.result.losses)


@needs_cuda
def test_cuda_runs_repeat_to_the_same_numbers(tmp_path):
    first, again = _runs("cuda", tmp_path, "a"), _runs("cuda", tmp_path, "b")
    pd.testing.assert_frame_equal(first, again)  # same seed, same GPU: same numbers


@needs_cuda
def test_cuda_and_cpu_agree_closely(tmp_path):
    cuda, cpu = _runs("cuda", tmp_path, "gpu"), _runs("cpu", tmp_path, "cpu")
    # different kernels (TF32, fused attention) and RNG streams (dropout): close, not equal
    assert (cuda["accuracy"] - cpu["accuracy"]).abs().max() < 0.25


def _petra(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from petra.cli import entry; entry()", *args],
                          capture_output=True, text=True, timeout=300)


@no_cuda
def test_bench_on_cuda_without_cuda_exits_2():
    result = _petra("bench", "--device", "cuda")
    assert result.returncode == 2 and "--device: 'cuda' asked for" in result.stderr


def test_bench_preset_is_checked():
    result = _petra("bench", "--preset", "bert-huge")
    assert result.returncode == 2 and "--preset must be one of ['bert-base', 'demo']" in result.stderr


@needs_cuda
def test_bench_on_cuda_measures_both_models():
    from petra.perf.bench import BenchConfig, run_bench
    from petra.perf.flops import ModelShape

    result = run_bench(BenchConfig(shape=ModelShape(1000, 64, 2, 2, 128, 64, 8), rounds=1, steps=2, device="cuda"))
    for precision in result.results:
        assert precision.ratios[0] > 0 and precision.petra.peak_step_bytes > 0
