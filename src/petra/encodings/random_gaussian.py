"""Random Gaussian position vectors: a fresh N(0, I) vector per position, redrawn every step.

The vectors carry no consistent information about *where* a token is - only that tokens at
different positions get different (nearly orthogonal, in high dim) offsets. It is a control for
"does the model use absolute position at all" and a regulariser against position shortcuts.
"""

from __future__ import annotations

import torch

from petra.encodings.base import PositionalEncoding
from petra.randomness import draw
from petra.encodings.registry import register

EVAL_MODES = ("resample", "fixed", "average")


@register("random_gaussian", "a fresh N(0, I) vector per position at every step (no consistent position signal)")
class RandomGaussianEncoding(PositionalEncoding):
    """Additive ``scale * N(0, I)`` vectors, shape (1, T, dim): one draw shared by the whole batch.

    Sharing the draw across the batch (rather than one per sequence) keeps the cost at T x dim
    random numbers and means all sequences in a step see the same offsets, like any other additive PE.

    Training: a new draw on every forward call (every step), from the global torch RNG, so
    ``torch.manual_seed`` makes runs reproducible.

    Evaluation (``model.eval()``), chosen by ``eval_mode``:

    * ``"resample"`` (default) - a fresh draw on every call, exactly as in training, so the
      model sees the distribution it was trained on; predictions are random across calls.
    * ``"fixed"`` - one draw of ``(max_len, dim)`` made at construction from ``seed`` with a
      private ``torch.Generator`` and stored as a buffer: evaluation is deterministic, identical
      for any two instances with the same seed, and saved in the ``state_dict``.
    * ``"average"`` - the encoding itself resamples like ``"resample"``, but sets
      ``self.eval_draws = eval_draws``; the model runs that many forward passes, each with a fresh
      draw, and averages the predictions (a Monte-Carlo estimate of the expected prediction).
    """

    kind = "additive"

    def __init__(
        self,
        dim: int,
        num_heads: int,
        max_len: int,
        eval_mode: str = "resample",
        seed: int = 0,
        eval_draws: int = 8,
        scale: float = 1.0,
    ) -> None:
        super().__init__(dim, num_heads, max_len)
        _validate(eval_mode, seed, eval_draws, scale)
        self.eval_mode = eval_mode
        self.scale = float(scale)
        if eval_mode == "average":
            self.eval_draws = eval_draws
        if eval_mode == "fixed":
            generator = torch.Generator().manual_seed(seed)
            self.register_buffer("fixed_table", torch.randn(max_len, dim, generator=generator))

    @property
    def position_limit(self) -> tuple[int, str] | None:
        return (self.max_len, "model.max_len") if self.eval_mode == "fixed" else None

    @property
    def stochastic(self) -> bool:
        return self.eval_mode != "fixed"

    def explicit_draws(self, scheme: str, seed: int, length: int) -> GaussianDraw:
        return GaussianDraw(self, scheme, seed, length)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions`` (B|1, T) -> (1, T, dim) (or (B|1, T, dim) from the fixed table in eval)."""
        if not self.training and self.eval_mode == "fixed":
            return self.scale * self._lookup_fixed(positions)
        length, device = positions.shape[-1], positions.device
        drawn = draw(lambda size, generator: torch.randn(
            1, length if size is None else size("tokens"), self.dim, device=device, generator=generator))
        return self.scale * drawn

    def _lookup_fixed(self, positions: torch.Tensor) -> torch.Tensor:
        if positions.numel() and int(positions.max()) >= self.max_len:
            raise ValueError(
                f"random_gaussian eval_mode='fixed' stores vectors for positions 0..{self.max_len - 1}, "
                f"got position {int(positions.max())}"
            )
        return self.fixed_table[positions.long()]


class GaussianDraw(PositionalEncoding):
    """An explicit, seeded N(0, I) draw standing in for a random Gaussian PE at evaluation (what
    ``petra bound`` needs to make the gap a function of known draws).

    ``shared``: one ``(length, dim)`` table for every example. ``per_example``: a fresh table per
    example (and per call), so distinct examples never share a draw. Scaled like the original.
    """

    kind = "additive"
    SCHEMES = ("shared", "per_example")

    def __init__(self, original: RandomGaussianEncoding, scheme: str, seed: int, length: int) -> None:
        super().__init__(original.dim, original.num_heads, max(original.max_len, length))
        if scheme not in self.SCHEMES:
            raise ValueError(f"draw scheme must be one of {list(self.SCHEMES)}, got {scheme!r}")
        self.scale = original.scale
        self.scheme = scheme
        self.generator = torch.Generator().manual_seed(seed)
        self.table = torch.randn(self.max_len, self.dim, generator=self.generator) if scheme == "shared" else None

    @property
    def stochastic(self) -> bool:
        return self.table is None

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        """(B, T): one row per example, so ``forward`` can give each its own draw."""
        return torch.arange(length, device=device).expand(batch, length)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        # drawn on the CPU generator and moved: the same draws on every device
        if self.table is not None:
            return self.scale * self.table[positions.long().cpu()].to(positions.device)
        return self.scale * torch.randn(*positions.shape, self.dim, generator=self.generator).to(positions.device)


def _validate(eval_mode: str, seed: int, eval_draws: int, scale: float) -> None:
    if eval_mode not in EVAL_MODES:
        raise ValueError(f"random_gaussian eval_mode must be one of {list(EVAL_MODES)}, got {eval_mode!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"random_gaussian seed must be an int, got {seed!r}")
    if not isinstance(eval_draws, int) or isinstance(eval_draws, bool) or eval_draws < 1:
        raise ValueError(f"random_gaussian eval_draws must be an int >= 1, got {eval_draws!r}")
    if not scale > 0:
        raise ValueError(f"random_gaussian scale must be > 0, got {scale!r}")
