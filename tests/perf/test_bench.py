"""`petra bench` accounting on tiny models: tokens, FLOPs, MFU bounds, memory, the CLI."""

import json

import pytest
import torch
from typer.testing import CliRunner

from petra.cli import app
from petra.data.batches import IGNORE
from petra.perf.bench import BenchConfig, run_bench
from petra.perf.flops import ModelShape, StepWork, dense_work, model_work, train_step_flops
from petra.perf.memory import profile_step, resident_bytes
from petra.perf.peak import measure_peak
from petra.perf.trainees import hf_trainee, random_batches, train_step

TINY = ModelShape(vocab=64, dim=32, layers=1, heads=2, ffn_dim=64, seq_len=16, batch=4)


@pytest.fixture(scope="module")
def tiny_bench():
    return run_bench(BenchConfig(shape=TINY, precisions=("fp32", "bf16"), rounds=2, steps=1, warmup=1))


def test_random_batches_are_full_length_and_masked_like_petra():
    batches = random_batches(TINY, 3, mask_prob=0.15, seed=0)
    assert len(batches) == 3
    for batch in batches:
        assert batch.inputs.shape == (TINY.batch, TINY.seq_len) and batch.tokens == TINY.tokens
        picked = batch.targets != IGNORE
        assert batch.masked == int(picked.sum()) > 0
        assert int(batch.targets[picked].min()) >= 3  # targets are regular tokens, never specials
        assert torch.equal(batch.attention_mask, torch.ones_like(batch.inputs))
    again = random_batches(TINY, 3, mask_prob=0.15, seed=0)
    assert all(torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) for a, b in zip(batches, again))


def test_each_round_measures_both_models_at_each_precision(tiny_bench):
    assert [r.precision for r in tiny_bench.results] == ["fp32", "bf16"]
    for result in tiny_bench.results:
        assert len(result.ratios) == len(result.peak_flops) == 2
        for side in (result.petra, result.hf):
            assert len(side.tokens_per_s) == 2 and all(t > 0 for t in side.tokens_per_s)
        assert result.ratios == pytest.approx([p / h for p, h in zip(result.petra.tokens_per_s, result.hf.tokens_per_s)])


def test_mfu_is_a_fraction_and_hfu_counts_what_each_model_executes(tiny_bench):
    chosen = random_batches(TINY, 4, 0.15, 0)[:2]  # one step per round: round 0 runs batch 0, round 1 batch 1
    for result in tiny_bench.results:
        for side in (result.petra, result.hf):
            assert all(0 < u <= 1 for u in side.mfu + side.hfu)
        # HFU / MFU is exactly the ratio of executed to needed FLOPs of the batch each round ran.
        for index, batch in enumerate(chosen):
            needed_hf = train_step_flops(TINY, model_work(batch.masked, True))
            executed_hf = train_step_flops(TINY, dense_work(TINY, True))
            assert result.hf.hfu[index] / result.hf.mfu[index] == pytest.approx(executed_hf / needed_hf)
            needed = train_step_flops(TINY, model_work(batch.masked, False))
            executed = train_step_flops(TINY, StepWork(batch.masked_rows_padded, TINY.tokens, batch.masked))
            assert result.petra.hfu[index] / result.petra.mfu[index] == pytest.approx(executed / needed)
            assert 1 < executed / needed < executed_hf / needed_hf  # petra skips most of what HF wastes


def test_peak_memory_covers_weights_optimizer_state_and_the_step(tiny_bench):
    for result in tiny_bench.results:
        for side in (result.petra, result.hf):
            weights = side.parameters * 4
            # fp32 weights + AdamW's two moments; gradients and activations are new in the step
            assert side.resident_bytes >= 3 * weights
            assert side.peak_step_bytes >= weights  # the gradients alone
            assert side.peak_memory_bytes == side.resident_bytes + side.peak_step_bytes
    assert tiny_bench.max_rss_bytes > max(r.hf.peak_memory_bytes for r in tiny_bench.results)


def test_profiled_peak_sees_a_known_allocation():
    def step():
        big = torch.ones(1_000_000)  # 4 MB, freed when the step returns
        return float(big.sum())

    profile = profile_step(step)
    assert 4_000_000 <= profile.peak_step_bytes < 4_500_000
    assert "aten::ones" in profile.table or "aten::fill_" in profile.table


def test_resident_bytes_count_tied_weights_once():
    trainee = hf_trainee(TINY, dropout=0.0, fused=False)
    model = trainee.model
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    train_step(trainee, random_batches(TINY, 1, 0.15, 0)[0], "fp32")
    unique = sum(p.numel() for p in model.parameters()) * 4  # parameters() yields a shared tensor once
    buffers = sum(b.nbytes for b in model.buffers())
    state = sum(t.nbytes for s in trainee.optimizer.state.values() for t in s.values())
    assert resident_bytes(model, trainee.optimizer) == unique + buffers + state


def test_bf16_peak_is_measured_in_bf16():
    peak = measure_peak([(64, 32, 48)], "bf16", repeats=1)
    assert peak.precision == "bf16" and peak.best_shape == (64, 32, 48) and peak.flops_per_second > 0


def test_cli_prints_ratio_mfu_memory_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "--vocab", "64", "--hidden", "32", "--layers", "1", "--heads", "2", "--ffn", "64",
            "--seq-len", "16", "--batch", "4", "--precision", "fp32", "--rounds", "1", "--steps", "1",
            "--threads", "1", "--profile", "--profile-rows", "5", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for text in ("petra / transformers", "tokens/s", "MFU", "peak tensor MiB", "matmul peak fp32", "Self CPU time total"):
        assert text in result.output
    data = json.loads(out.read_text())
    (fp32,) = data["results"]
    assert data["config"]["shape"]["vocab"] == 64 and fp32["precision"] == "fp32"
    assert fp32["petra"]["tokens_per_s"][0] > 0 and fp32["hf"]["resident_bytes"] > 0


@pytest.mark.parametrize("args, message", [
    (["--hidden", "30", "--heads", "4"], "divisible by heads"),
    (["--precision", "fp16"], "--precision"),
    (["--encoding", "nope"], "unknown positional encoding"),
    (["--rounds", "0"], "--rounds"),
    (["--json", "/nonexistent-folder/b.json"], "does not exist"),
])
def test_bad_options_are_one_line_errors(args, message):
    from petra.errors import PetraError

    result = CliRunner().invoke(app, ["bench", *args])
    assert isinstance(result.exception, PetraError) and message in str(result.exception)
