"""Where training runs: one setting, ``run.device`` (``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``), read
in one place.

``auto`` is the first CUDA device when there is one, else the CPU. Asking for CUDA on a machine
without it is a config error (checked when the config is read, before any work). On CUDA, fp32
matrix products use TF32 (about 8x the fp32 matmul rate on Ampere and later, 10-bit mantissa
inputs with fp32 accumulation) and cuBLAS gets the fixed workspace that deterministic algorithms
need (``CUBLAS_WORKSPACE_CONFIG``), so the same seed on the same GPU gives the same numbers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(spec: str) -> str:
    """``spec`` if this machine can honour it, else a ValueError saying why (for config validation)."""
    if not DEVICE_PATTERN.fullmatch(spec):
        raise ValueError(f"{spec!r} is not a device: use auto, cpu, cuda or cuda:N")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"{spec!r} asked for, but this machine has no CUDA device "
                             "(torch.cuda.is_available() is False); use auto or cpu")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"{spec!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return spec


def uses_cuda(spec: str) -> bool:
    """Whether ``spec`` will train on CUDA here (without touching CUDA yet)."""
    return spec.startswith("cuda") or (spec == "auto" and torch.cuda.is_available())


def resolve_device(spec: str) -> torch.device:
    """The torch device ``spec`` names (``auto``: CUDA when available), set up for training."""
    check_device(spec)
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    if device.type == "cuda":
        # must be set before cuBLAS is first used in the process (units run in fresh processes)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.cuda.set_device(device)
    return device


NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 instructions that compute in bf16 (else it is emulated)


def cpu_bf16_is_slow() -> bool:
    """Whether bf16 autocast on this CPU is emulated: measured here on an AVX2-only EPYC, one epoch of
    configs/ud_parse.yaml's pretraining took 128 s under bf16 and 16 s in fp32 (on an avx512_bf16 CPU
    bf16 is ~2x faster than fp32). Known only on Linux x86 (/proc/cpuinfo); elsewhere: False."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx2" in flags and not any(f" {flag}" in flags for flag in NATIVE_BF16_FLAGS)


def precision_warning(spec: str, precisions: list[str]) -> str | None:
    """A line for the user when a config asks for bf16 on a CPU that only emulates it."""
    if "bf16" not in precisions or uses_cuda(spec) or not cpu_bf16_is_slow():
        return None
    return ("precision: bf16 on a CPU without native bf16 (no avx512_bf16 / amx_bf16): autocast is emulated and "
            "training runs ~8x slower than fp32 here; set precision: fp32 (numbers differ slightly between the two)")


def use_threads(threads: int) -> None:
    """Torch CPU threads for this process: units run in parallel processes, so one each wastes nothing."""
    torch.set_num_threads(threads)


def prepare_unit(threads: int, spec: str) -> torch.device:
    """Set up this process for one unit of work: ``threads`` torch threads, deterministic
    algorithms (same seed, same numbers) and the device ``spec`` names - resolved before the first
    CUDA call, since that is when cuBLAS must be set up for determinism."""
    use_threads(threads)
    device = resolve_device(spec)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return device
