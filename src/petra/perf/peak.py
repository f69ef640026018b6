"""The machine's matmul peak, measured on the GEMM shapes the benchmarked model runs.

MFU needs a peak. A datasheet number says little on a shared, virtualised CPU, so the peak is
measured in the same run as the model: the best sustained FLOP/s of ``torch.mm`` over the
model's own (m, k, n) products at the precision being benchmarked. The best over shapes is the
ceiling the model's matmuls could reach on this machine at that moment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class Peak:
    precision: str
    per_shape: dict[tuple[int, int, int], float]  # (m, k, n) -> FLOP/s

    @property
    def flops_per_second(self) -> float:
        return max(self.per_shape.values())

    @property
    def best_shape(self) -> tuple[int, int, int]:
        return max(self.per_shape, key=self.per_shape.__getitem__)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; the CPU has nothing to wait for)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gemm_flops_per_second(m: int, k: int, n: int, dtype: torch.dtype, repeats: int = 3,
                          device: torch.device = torch.device("cpu")) -> float:
    """Best of ``repeats`` timed ``(m, k) @ (k, n)`` products (after one untimed warm-up); fp32 on
    CUDA runs as the model's fp32 does, with TF32 when petra.device enabled it."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=generator).to(device, dtype)
    b = torch.randn(k, n, generator=generator).to(device, dtype)
    out = torch.empty(m, n, dtype=dtype, device=device)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / max(best, 1e-9)


def measure_peak(shapes: list[tuple[int, int, int]], precision: str, repeats: int = 3,
                 device: torch.device = torch.device("cpu")) -> Peak:
    dtype = DTYPES[precision]
    return Peak(precision, {shape: gemm_flops_per_second(*shape, dtype, repeats, device)
                            for shape in dict.fromkeys(shapes)})
