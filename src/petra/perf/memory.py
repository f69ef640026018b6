"""Peak tensor memory of one training step, and where its time goes, from ``torch.profiler``.

CPU PyTorch keeps no allocator statistics (``torch.cuda.max_memory_allocated`` has no CPU twin),
and process RSS cannot tell two models apart inside one process (glibc keeps freed memory for
reuse). The profiler's ``profile_memory`` records every tensor allocation and free with a time
stamp; the running sum of those, at its highest, is the step's peak of *new* tensor memory. Add
what lives across steps (parameters, optimizer state) and that is the step's peak tensor memory.
The step must start with gradients freed (``zero_grad(set_to_none=True)`` at the end of the
previous step), so that every tensor it frees was also allocated inside the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import torch
from torch.profiler import ProfilerActivity, profile


@dataclass(frozen=True)
class StepProfile:
    peak_step_bytes: int  # highest running total of tensor bytes allocated inside the step
    table: str  # torch.profiler's top operators by self CPU time


def resident_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Bytes of parameters (shared ones once), buffers and optimizer state tensors."""
    tensors = {t.data_ptr(): t.nbytes for t in (*model.parameters(), *model.buffers())}
    for state in optimizer.state.values():
        tensors.update({t.data_ptr(): t.nbytes for t in state.values() if isinstance(t, torch.Tensor)})
    return sum(tensors.values())


def profile_step(step: Callable[[], object], row_limit: int = 15, device: torch.device = torch.device("cpu")) -> StepProfile:
    """Run ``step`` once under the profiler; return its peak new tensor memory and the op table.
    On CUDA the allocator keeps statistics: the peak is ``torch.cuda.max_memory_allocated`` over the
    step, less what was allocated when it began."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize(device)
        table = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=row_limit, max_name_column_width=48)
        return StepProfile(max(torch.cuda.max_memory_allocated(device) - before, 0), table)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    # Memory records are "[memory]" events with a signed byte count (+alloc, -free).
    events = sorted(
        (event.start_ns(), event.nbytes()) for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]"
    )
    peak = max(accumulate(nbytes for _, nbytes in events), default=0)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit, max_name_column_width=48)
    return StepProfile(max(peak, 0), table)
