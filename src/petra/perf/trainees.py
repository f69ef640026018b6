"""The two models ``petra bench`` trains, the random MLM batches they share, and one training step.

Both sides get the same step (forward under the same precision, ``loss.item()``, backward,
gradient clipping, AdamW with weight decay on matrices only, ``zero_grad(set_to_none=True)``),
the same masked batches and the same dropout, so the timing difference is the models' own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from petra.data.batches import IGNORE, Batch, mask_for_mlm
from petra.perf.flops import ModelShape, StepWork, dense_work

MASK_ID = 2  # petra's vocabularies: 0 [PAD], 1 [UNK], 2 [MASK]; regular tokens start at 3


@dataclass(frozen=True)
class MLMBatch:
    inputs: torch.Tensor  # (B, T) ids after BERT masking
    mask: torch.Tensor  # (B, T) True at real tokens
    attention_mask: torch.Tensor  # the same as int64, the form transformers expects
    targets: torch.Tensor  # (B, T) original ids at masked positions, IGNORE elsewhere

    def to(self, device: torch.device | str) -> MLMBatch:
        return MLMBatch(*(t.to(device) for t in (self.inputs, self.mask, self.attention_mask, self.targets)))

    @property
    def tokens(self) -> int:
        return self.inputs.numel()

    @property
    def masked(self) -> int:
        return int((self.targets != IGNORE).sum())

    @property
    def masked_rows_padded(self) -> int:
        """Batch x the most masked positions in one sequence: the rows petra's last layer runs."""
        return self.targets.shape[0] * int((self.targets != IGNORE).sum(dim=1).max())


def random_batches(shape: ModelShape, count: int, mask_prob: float, seed: int) -> list[MLMBatch]:
    """``count`` full-length batches of uniform random tokens, masked as petra's MLM does."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        ids = torch.randint(MASK_ID + 1, shape.vocab, (shape.batch, shape.seq_len), generator=generator)
        mask = torch.ones_like(ids, dtype=torch.bool)
        batch = Batch(ids, mask, torch.full_like(ids, IGNORE), torch.zeros(shape.batch, dtype=torch.long))
        inputs, targets = mask_for_mlm(batch, shape.vocab, MASK_ID, mask_prob, generator)
        out.append(MLMBatch(inputs, mask, mask.long(), targets))
    return out


@dataclass
class Trainee:
    """A model with its loss, optimizer and the facts the FLOP count needs."""

    name: str
    model: nn.Module
    loss: Callable[[MLMBatch], torch.Tensor]
    optimizer: torch.optim.Optimizer
    work: Callable[[MLMBatch], StepWork]  # where its step runs the last layer and the head
    head_transform: bool  # BERT's extra dense + LayerNorm before the projection

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def make_adamw(model: nn.Module, fused: bool, lr: float = 1e-4, weight_decay: float = 0.01) -> torch.optim.AdamW:
    """AdamW grouped as ``petra.training.loop.make_optimizer`` groups it; ``fused`` picks the
    single-kernel implementation instead of the multi-tensor (foreach) one."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, fused=fused, foreach=None if fused else True)


def petra_trainee(shape: ModelShape, dropout: float, encoding: str, fused: bool, full_head: bool,
                  device: torch.device | str = "cpu") -> Trainee:
    """petra's encoder + MLM head, trained through ``petra.training.objectives.mlm_loss`` (or, with
    ``full_head``, through the full logits: last layer and vocabulary projection at every position,
    as BERT does)."""
    from petra.config import ModelConfig
    from petra.models import HeadSpec, build_model
    from petra.tasks.token import token_cross_entropy
    from petra.training.objectives import mlm_loss

    config = ModelConfig(
        dim=shape.dim, layers=shape.layers, heads=shape.heads, ffn_dim=shape.ffn_dim, dropout=dropout,
        max_len=shape.seq_len,
    )
    model = build_model(config, encoding, shape.vocab, {"mlm": HeadSpec("token", shape.vocab)}).to(device)

    def loss(batch: MLMBatch) -> torch.Tensor:
        if full_head:
            return token_cross_entropy(model(batch.inputs, batch.mask, head="mlm"), batch.targets)
        return mlm_loss(model, batch.inputs, batch.mask, batch.targets)

    def work(batch: MLMBatch) -> StepWork:
        if full_head:
            return dense_work(shape, transform=False)
        return StepWork(batch.masked_rows_padded, shape.tokens, batch.masked)  # q,k,v of all, as one matmul

    return Trainee("petra", model, loss, make_adamw(model, fused), work, False)


def hf_trainee(shape: ModelShape, dropout: float, fused: bool, device: torch.device | str = "cpu") -> Trainee:
    """``transformers.BertForMaskedLM`` with SDPA attention at the same sizes (built from a config:
    nothing is downloaded)."""
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=shape.vocab, hidden_size=shape.dim, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, intermediate_size=shape.ffn_dim, max_position_embeddings=shape.seq_len,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, pad_token_id=0,
        attn_implementation="sdpa",
    )
    model = BertForMaskedLM(config).to(device)

    def loss(batch: MLMBatch) -> torch.Tensor:
        return model(input_ids=batch.inputs, attention_mask=batch.attention_mask, labels=batch.targets).loss

    return Trainee("transformers", model, loss, make_adamw(model, fused), lambda _: dense_work(shape, True), True)


def autocast(precision: str, device_type: str = "cpu") -> contextlib.AbstractContextManager:
    """bf16: ``torch.autocast`` (matmuls in bf16, fp32 master weights); fp32: nothing (TF32 on CUDA)."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_step(trainee: Trainee, batch: MLMBatch, precision: str, grad_clip: float = 1.0) -> float:
    """One optimisation step, doing the work ``petra.training.loop`` does per step."""
    device = next(trainee.model.parameters()).device
    with autocast(precision, device.type):
        loss = trainee.loss(batch)
    # the loop reads the loss every step on the CPU (non-finite guard, curves); on CUDA it reads
    # them every petra.training.loop.GUARD_EVERY steps, so no host sync here either
    value = loss.item() if device.type == "cpu" else float("nan")
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainee.model.parameters(), grad_clip)
    trainee.optimizer.step()
    # Freed here rather than before the next backward: one gradient set less at peak, and the
    # memory profile of the next step sees every tensor it frees being allocated.
    trainee.optimizer.zero_grad(set_to_none=True)
    return value
