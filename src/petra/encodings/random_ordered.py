"""Randomized positional encodings (Ruoss et al. 2023, "Randomized Positional Encodings Boost Length
Generalization of Transformers", ACL; Sec. 3).

Instead of ``0..T-1``, each training sequence gets an ordered random subset of ``T`` distinct
integers from ``[0, L_max)``. The model thus sees positions up to ``L_max`` during training while
only the *order* of positions is informative, so it can handle test sequences up to ``L_max``
long. The sampled positions are then encoded by an ordinary ``base`` encoding defined for any
position (sinusoidal, RoPE or ALiBi).
"""

from __future__ import annotations

from typing import Any

import torch

from petra.encodings.base import PositionalEncoding
from petra.randomness import draw
from petra.encodings.registry import build_encoding, register

BASES = ("sinusoidal", "rope", "alibi")
EVAL_MODES = ("sample", "arange")


@register("random_ordered", "ordered random subset of [0, L_max) as positions, then a base PE (Ruoss et al. 2023)")
class RandomOrderedEncoding(PositionalEncoding):
    """Random ordered positions fed to a base encoding (``base``: sinusoidal | rope | alibi).

    ``kind``: the class attribute is ``"additive"`` (the kind of the default base, so
    ``get_spec("random_ordered").kind`` is sensible); each *instance* sets ``self.kind`` to its
    base's kind, e.g. ``"rotary"`` for ``base="rope"``. Code that acts on an encoding must read
    ``encoding.kind`` from the instance, not from the class.

    Evaluation (``eval_mode``):

    * ``"sample"`` (default) - keep sampling ordered subsets, as at training time. This follows the
      authors' code (google-deepmind/randomized_positional_encodings, ``models/transformer.py`` and
      ``experiments/range_evaluation.py``): the noisy encodings draw from the RNG with no
      train/test switch and range evaluation passes a fresh RNG key to every batch, so test-time
      positions are sampled too. (Their code draws one subset per batch, shared by its
      sequences; we draw one per sequence, which shows the model more position sets per step.)
    * ``"arange"`` - deterministic ``0..T-1``, i.e. the base encoding at its usual positions.
    """

    kind = "additive"

    def __init__(
        self,
        dim: int,
        num_heads: int,
        max_len: int,
        l_max: int = 2048,
        eval_mode: str = "sample",
        base: str = "sinusoidal",
        base_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(dim, num_heads, max_len)
        if base not in BASES:
            raise ValueError(
                f"random_ordered base must be one of {list(BASES)} (defined for any position), got {base!r}"
            )
        if eval_mode not in EVAL_MODES:
            raise ValueError(f"random_ordered eval_mode must be one of {list(EVAL_MODES)}, got {eval_mode!r}")
        if l_max < 1:
            raise ValueError(f"random_ordered l_max must be >= 1, got {l_max}")
        self.l_max = l_max
        self.eval_mode = eval_mode
        self.base_name = base
        self.base_encoding = build_encoding(base, dim, num_heads, max_len=l_max, options=base_options)
        # Instance attribute shadowing the ClassVar: this wrapper acts exactly as its base does.
        self.kind = self.base_encoding.kind  # type: ignore[misc]

    @property
    def position_limit(self) -> tuple[int, str]:
        return self.l_max, "model.encoding_options.random_ordered.l_max"

    @property
    def stochastic(self) -> bool:
        return self.eval_mode == "sample" or self.base_encoding.stochastic

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        """(B, T) sorted distinct integers from [0, l_max) per sequence; (1, T) ``0..T-1`` in eval "arange"."""
        if not self.training and self.eval_mode == "arange":
            return super().positions(batch, length, device)
        if length > self.l_max:
            raise ValueError(
                f"random_ordered cannot draw {length} distinct positions from [0, l_max={self.l_max}): "
                f"sequence length {length} > l_max {self.l_max}; raise l_max"
            )
        # The indices of the T largest of L_max i.i.d. uniform keys form a uniform random T-subset;
        # one batched topk is far faster than a randperm per row.
        def subset(size, generator):
            keys = torch.rand(batch if size is None else size("batch"), self.l_max, device=device, generator=generator)
            return keys.topk(length if size is None else size("tokens"), dim=1, sorted=False).indices.sort(dim=1).values

        return draw(subset)

    def forward(self, positions: torch.Tensor) -> Any:
        """Whatever the base returns for ``positions``: vectors, ``(cos, sin)`` or a bias."""
        return self.base_encoding(positions)
