"""The FLOP formulas behind MFU, checked by hand and against PyTorch's own FLOP counter."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from petra.perf.flops import (
    ModelShape, StepWork, dense_work, encoder_forward_flops, gemm_shapes, head_forward_flops, model_work,
    train_step_flops,
)
from petra.perf.trainees import hf_trainee, petra_trainee, random_batches

TINY = ModelShape(vocab=40, dim=16, layers=2, heads=2, ffn_dim=32, seq_len=8, batch=3)
HAND = ModelShape(vocab=10, dim=4, layers=2, heads=2, ffn_dim=8, seq_len=3, batch=2)


def test_dense_step_flops_match_a_hand_count():
    # Per token and layer: k,v 2*4*8=64, q 2*4*4=32, QK^T and AV 2*(2*3*4)=48, out 2*4*4=32,
    # FFN 2*(2*4*8)=128 -> 304; 6 tokens x 2 layers -> 3648. Head at 6 positions: 6*2*4*10 = 480.
    assert encoder_forward_flops(HAND) == 3648
    assert head_forward_flops(HAND, positions=6, transform=False) == 480
    assert head_forward_flops(HAND, positions=6, transform=True) == 480 + 6 * 2 * 4 * 4
    assert train_step_flops(HAND, dense_work(HAND, transform=False)) == 3 * (3648 + 480)


def test_model_work_runs_the_last_layer_and_head_at_masked_positions_only():
    # 2 masked positions: first layer 6*304 = 1824; last layer k,v for all 6*64 = 384, q for 2: 2*32,
    # per masked row 48+32+128 = 208 -> 384 + 64 + 416 = 864; head 2*80 = 160.
    assert train_step_flops(HAND, model_work(masked=2, transform=False)) == 3 * (1824 + 864 + 160)
    assert train_step_flops(HAND, StepWork(6, 6, 6)) == train_step_flops(HAND, dense_work(HAND, False))


def _counted(trainee, batch) -> int:
    with FlopCounterMode(display=False) as counter:
        trainee.loss(batch).backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("full_head", [False, True])
def test_petra_executed_work_equals_torch_flop_counter(full_head):
    torch.manual_seed(0)
    trainee = petra_trainee(TINY, dropout=0.1, encoding="learned", fused=False, full_head=full_head)
    batch = random_batches(TINY, 1, mask_prob=0.3, seed=0)[0]
    assert 0 < batch.masked < batch.masked_rows_padded < batch.tokens
    work = trainee.work(batch)
    assert work == (dense_work(TINY, False) if full_head else StepWork(batch.masked_rows_padded, TINY.tokens, batch.masked))
    assert _counted(trainee, batch) == train_step_flops(TINY, work)


def test_transformers_executed_work_equals_torch_flop_counter():
    torch.manual_seed(0)
    trainee = hf_trainee(TINY, dropout=0.1, fused=False)
    trainee.model.train()  # dropout > 0 sends SDPA to its math path, whose matmuls the counter sees
    batch = random_batches(TINY, 1, mask_prob=0.3, seed=0)[0]
    assert _counted(trainee, batch) == train_step_flops(TINY, dense_work(TINY, transform=True))


def test_gemm_shapes_are_the_models_products():
    shapes = gemm_shapes(ModelShape(), masked=614)
    assert (4096, 256, 768) in shapes and (4096, 256, 1024) in shapes and (614, 256, 8000) in shapes
    assert all(m > 0 and k > 0 and n > 0 for m, k, n in shapes)
