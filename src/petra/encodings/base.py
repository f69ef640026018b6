"""The interface every positional encoding implements.

Following x-transformers, an encoding acts in exactly one of four ways (its ``kind``):

* ``additive`` - ``forward(positions) -> (B|1, T, dim)`` vectors added to the token embeddings;
* ``bias``     - ``forward(positions) -> (B|1, heads, T, T)`` added to the attention logits;
* ``rotary``   - ``forward(positions) -> (cos, sin)``, each ``(B|1, 1, T, head_dim)``, applied to
  queries and keys with :func:`petra.encodings.rope.apply_rotary`;
* ``none``     - contributes nothing (the model is permutation-invariant apart from masking).

``positions(batch, length, device)`` returns the (B|1, T) positions the model should use. The
default is ``0..T-1``; randomized encodings override it (e.g. an ordered random subset).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import nn

Kind = Literal["additive", "bias", "rotary", "none"]


class PositionalEncoding(nn.Module):
    kind: ClassVar[Kind]

    def __init__(self, dim: int, num_heads: int, max_len: int) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.max_len = max_len

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        """Positions used for a batch of ``length``-token sequences: shape (1, T) or (B, T)."""
        return torch.arange(length, device=device).unsqueeze(0)

    # Number of forward passes the model averages at evaluation (random_gaussian's "average" mode).
    eval_draws: int = 1

    # What callers ask of an encoding, answered by the instance (options can change the answer), so
    # that no code outside encodings/ has to name one.

    @property
    def position_limit(self) -> tuple[int, str] | None:
        """(how many positions it has, the config field that sets it) if bounded, else None."""
        return None

    @property
    def stochastic(self) -> bool:
        """Whether evaluation draws from the RNG (two passes over the same input may differ)."""
        return False

    def explicit_draws(self, scheme: str, seed: int, length: int) -> PositionalEncoding | None:
        """A stand-in that makes an evaluation draw explicit and seeded under ``scheme`` (``shared``: one
        draw for every example; ``per_example``: one per example), or None if the PE has no such draw."""
        return None

    def position_table(self) -> torch.Tensor | None:
        """The trainable (positions, dim) table, if the PE stores one (a pretrained model's absolute
        position table can then be copied in); None for PEs computed from the position."""
        return None
