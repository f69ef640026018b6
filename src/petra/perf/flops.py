"""Matmul FLOP counts of one MLM training step of a BERT-sized encoder.

Only matrix products are counted (2 FLOPs per multiply-add), as in Kaplan et al. 2020 (Table 1) and
the PaLM MFU definition (Chowdhery et al. 2022, App. B); norms, softmax, GELU and dropout are not.
A training step costs 3x the forward pass: the backward pass needs two products for each forward
one (gradient w.r.t. the input and w.r.t. the weight). ``tests/perf`` checks these formulas
against ``torch.utils.flop_counter.FlopCounterMode`` on both benchmarked models.

Masked-LM has targets at ~15% of the positions, and only the computation that reaches them is
needed: every layer but the last at every position (attention mixes positions), but in the last
layer only the keys and values of every position plus the queries, attention rows, output
projection and feed-forward of the masked ones, and the head at the masked ones. ``StepWork``
says where an implementation runs the last layer and the head; ``model_work`` is that minimum,
the count MFU uses for every implementation alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelShape:
    """The sizes both benchmarked models share."""

    vocab: int = 8000
    dim: int = 256
    layers: int = 4
    heads: int = 4
    ffn_dim: int = 1024
    seq_len: int = 128
    batch: int = 32

    @property
    def tokens(self) -> int:
        return self.batch * self.seq_len

    def validate(self) -> None:
        for name in ("vocab", "dim", "layers", "heads", "ffn_dim", "seq_len", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"hidden size ({self.dim}) must be divisible by heads ({self.heads})")


@dataclass(frozen=True)
class StepWork:
    """Where one step runs the position-wise parts of the last layer and the MLM head."""

    last_rows: int  # positions whose last-layer output is computed (attention rows, projection, FFN)
    last_queries: int  # positions whose last-layer query vector is projected
    head_positions: int  # positions projected to the vocabulary
    head_transform: bool = False  # BERT's head: a dense d x d layer before the projection


def dense_work(shape: ModelShape, transform: bool) -> StepWork:
    """Everything at every position (what transformers' BertForMaskedLM runs)."""
    return StepWork(shape.tokens, shape.tokens, shape.tokens, transform)


def model_work(masked: int, transform: bool) -> StepWork:
    """The least the MLM loss needs: the last layer's outputs and the head at the masked positions."""
    return StepWork(masked, masked, masked, transform)


def layer_forward_flops(shape: ModelShape, rows: int, queries: int) -> int:
    """One layer whose keys/values cover all tokens, with ``queries`` query projections and
    ``rows`` outputs: per output row, scores Q K^T and the sum A V (2*2*T*d), the output
    projection (2*d*d) and the FFN (2*2*d*f)."""
    d, f, t = shape.dim, shape.ffn_dim, shape.seq_len
    keys_values = shape.tokens * 2 * d * 2 * d
    return keys_values + queries * 2 * d * d + rows * (2 * 2 * t * d + 2 * d * d + 2 * 2 * d * f)


def encoder_forward_flops(shape: ModelShape, work: StepWork | None = None) -> int:
    """All layers: every one but the last at every position, the last as ``work`` says
    (default: every position)."""
    full = layer_forward_flops(shape, shape.tokens, shape.tokens)
    last = full if work is None else layer_forward_flops(shape, work.last_rows, work.last_queries)
    return (shape.layers - 1) * full + last


def head_forward_flops(shape: ModelShape, positions: int, transform: bool) -> int:
    """The vocabulary projection (2*d*V per position) plus, for BERT's head, its dense d x d layer."""
    per_position = 2 * shape.dim * shape.vocab + (2 * shape.dim * shape.dim if transform else 0)
    return positions * per_position


def train_step_flops(shape: ModelShape, work: StepWork) -> int:
    """Matmul FLOPs of forward + backward for one batch."""
    forward = encoder_forward_flops(shape, work) + head_forward_flops(shape, work.head_positions, work.head_transform)
    return 3 * forward


def gemm_shapes(shape: ModelShape, masked: int) -> list[tuple[int, int, int]]:
    """The (m, k, n) products a training step runs (forward and the weight-gradient layout), used
    to measure the machine's matmul peak on the work this model actually does."""
    m, d, f, v = shape.tokens, shape.dim, shape.ffn_dim, shape.vocab
    forward = [(m, d, 3 * d), (m, d, f), (m, f, d), (max(1, masked), d, v)]
    weight_grads = [(d, m, f), (f, m, d)]  # dW = x^T dy: the long dimension is the contraction
    return forward + weight_grads
