"""Random draws inside a forward pass, each member's own when several models train as one.

Alone, a model draws from torch's default generator, exactly as ``F.dropout`` does on the CPU.
When ``petra.training.members`` trains S seeds as one model (``torch.func.vmap`` over stacked
parameters), every draw of the forward pass comes through here, so that member m draws from its
own generator, in the order and at the shape it would alone: its own number of sentences
(``"batch"``), batch length (``"tokens"``) and number of selected rows (``"rows"``, the masked-LM
positions), before padding to the largest member. A draw is therefore a function of a shape whose
sizes are named, e.g. attention weights (B, H, T, T) are ``{0: "batch", 2: "tokens", 3: "tokens"}``.

Under ``vmap`` a draw reaches :class:`_MemberDraw`'s ``vmap`` rule, which sees all members at once
and loops over them; that is the one place where a member's generator is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

Sizes = dict[int, str]  # dim -> "batch" | "tokens" | "tokens+1" | "rows": the dims whose size is a member's own
TOKENS: Sizes = {0: "batch", 1: "tokens"}  # (B, T, ...) activations
ROWS: Sizes = {0: "batch", 1: "rows"}  # (B, M, ...) activations at selected positions


@dataclass
class Members:
    """The members of a batched step: their generators and this step's sizes (per member)."""

    generators: list[torch.Generator]
    batch: list[int]  # each member's number of sentences this step, before padding to the largest
    tokens: list[int]  # each member's batch length, before padding to the longest
    anchor: torch.Tensor | None = None  # a batched input: the member dimension for draws without a tensor
    # per member, its size of each name: "batch", "tokens", "tokens+1" (the root and every token), and
    # "rows" once the step has selected them (most_selected)
    sizes: list[dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = [{"batch": b, "tokens": t, "tokens+1": t + 1} for b, t in zip(self.batch, self.tokens)]

    @property
    def rows(self) -> list[int]:
        return [sizes["rows"] for sizes in self.sizes]


_active: Members | None = None


@contextmanager
def members(state: Members) -> Iterator[Members]:
    global _active
    _active = state
    try:
        yield state
    finally:
        _active = None


def batched() -> bool:
    """True inside a batched members step: the forward must not branch on values (no ``.item()``)."""
    return _active is not None


Make = Callable[[Callable[[str], int] | None, torch.Generator | None], torch.Tensor]


def draw(make: Make, anchor: torch.Tensor | None = None) -> torch.Tensor:
    """``make(size, generator)``: a random tensor drawn from ``generator``, whose member-dependent
    sizes are ``size("tokens")`` and ``size("rows")``. Alone it is called once as ``make(None, None)``
    (its own sizes, torch's default generator); in a members step once per member with that member's
    sizes and generator, the draws zero-padded to a common shape. ``anchor``: a tensor of the step
    that carries the member dimension (None: the step's anchor)."""
    if _active is None:
        return make(None, None)
    return _MemberDraw.apply(anchor if anchor is not None else _active.anchor, make)


class _MemberDraw(torch.autograd.Function):
    @staticmethod
    def forward(anchor: torch.Tensor, make) -> torch.Tensor:
        raise RuntimeError("a members step drew outside vmap: its anchor carries no member dimension")

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.mark_non_differentiable(output)

    @staticmethod
    def backward(ctx, grad):
        return None, None

    @staticmethod
    def vmap(info, in_dims, anchor, make):
        state = _active
        drawn = [make(sizes.__getitem__, generator) for sizes, generator in zip(state.sizes, state.generators)]
        shape = [max(t.shape[d] for t in drawn) for d in range(drawn[0].dim())]
        padded = [t if list(t.shape) == shape else F.pad(t, [p for d in reversed(range(t.dim())) for p in (0, shape[d] - t.shape[d])])
                  for t in drawn]
        return torch.stack(padded), 0


def dropout(x: torch.Tensor, p: float, training: bool, sizes: Sizes = TOKENS) -> torch.Tensor:
    """``F.dropout(x, p, training)``, drawn here so that a member draws its own mask. On the CPU it is
    the same arithmetic and the same draws as ``F.dropout`` (a Bernoulli mask scaled by 1 / (1 - p));
    on an accelerator, alone, ``F.dropout``'s fused kernel."""
    if not training or p == 0:
        return x
    if _active is None and x.device.type != "cpu":
        return F.dropout(x, p, training=True)

    def make(size, generator):
        if size is None:
            keep = torch.empty_like(x)  # exactly F.dropout's draw
        else:
            shape = [size(sizes[d]) if d in sizes else n for d, n in enumerate(x.shape)]
            keep = torch.empty(shape, dtype=x.dtype, device=x.device)
        return keep.bernoulli_(1 - p, generator=generator)

    return x * draw(make, x).div_(1 - p)  # F.dropout's arithmetic: the mask scaled, then the product


class Dropout(nn.Module):
    """``nn.Dropout`` whose mask is each member's own (see :func:`dropout`)."""

    def __init__(self, p: float, sizes: Sizes = TOKENS) -> None:
        super().__init__()
        self.p, self.sizes = p, sizes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, self.sizes)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def most_selected(select: torch.Tensor) -> int:
    """The largest number of selected positions in a row of ``select`` (B, T). In a members step the
    largest over all members, each member's own recorded as its ``"rows"`` size."""
    if _active is None:
        return int(select.sum(dim=1).max()) if select.numel() else 0
    _RecordRows.apply(select)
    return max(_active.rows)


class _RecordRows(torch.autograd.Function):
    @staticmethod
    def forward(select: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("a members step selected rows outside vmap")

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.mark_non_differentiable(output)

    @staticmethod
    def backward(ctx, grad):
        return None

    @staticmethod
    def vmap(info, in_dims, select: torch.Tensor):
        counts = select.movedim(in_dims[0], 0).flatten(2).sum(dim=2)  # (S, B)
        rows = counts.amax(dim=1).tolist() if counts.numel() else [0] * info.batch_size
        for sizes, own in zip(_active.sizes, rows):
            sizes["rows"] = own
        return select.new_zeros(()), None
