"""Fixed sinusoidal position vectors (Vaswani et al. 2017, "Attention Is All You Need", Sec. 3.5)."""

from __future__ import annotations

import torch

from petra.encodings.base import PositionalEncoding
from petra.encodings.registry import register


def sinusoidal_table(positions: torch.Tensor, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Sinusoidal vectors for arbitrary ``positions`` (any shape, ints or floats): shape ``(*positions.shape, dim)``.

    Vaswani et al. (2017), Sec. 3.5: ``PE(p, 2i) = sin(p / base^(2i/d))`` and
    ``PE(p, 2i+1) = cos(p / base^(2i/d))`` (sin and cos interleaved). For odd ``dim`` the last
    column is a sine (there is one more even index than odd ones).

    Computed on the fly rather than looked up in a table, so positions beyond any ``max_len``
    (and non-integer ones) work; randomized encodings rely on that. The result has the dtype of
    floating ``positions`` (pass float64 for exact reference values) and float32 for integer ones.
    """
    if dim < 1:
        raise ValueError(f"sinusoidal encoding needs dim >= 1, got {dim}")
    dtype = positions.dtype if positions.is_floating_point() else torch.float32
    pos = positions.to(dtype)
    num_freqs = (dim + 1) // 2  # one frequency per (sin, cos) pair; odd dim keeps a lone sine
    exponents = torch.arange(num_freqs, device=pos.device, dtype=dtype) * 2.0 / dim
    angles = pos.unsqueeze(-1) * base ** (-exponents)
    sines, cosines = torch.sin(angles), torch.cos(angles[..., : dim // 2])
    if dim % 2:  # a placeholder cosine column, cut off below
        cosines = torch.cat([cosines, torch.zeros_like(sines[..., :1])], dim=-1)
    # interleaved without writing into a table in place: a batched members step cannot (torch.func.vmap)
    return torch.stack([sines, cosines], dim=-1).flatten(-2)[..., :dim]


@register("sinusoidal", "fixed sin/cos vectors added to the embeddings (Vaswani et al. 2017)")
class SinusoidalEncoding(PositionalEncoding):
    """Additive sinusoidal encoding; no parameters, defined for every position (even > ``max_len``)."""

    kind = "additive"

    def __init__(self, dim: int, num_heads: int, max_len: int, base: float = 10000.0) -> None:
        super().__init__(dim, num_heads, max_len)
        if base <= 1.0:
            raise ValueError(f"sinusoidal base must be > 1, got {base}")
        self.base = float(base)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """``positions`` (B|1, T) -> (B|1, T, dim) vectors to add to the token embeddings."""
        return sinusoidal_table(positions, self.dim, self.base)
