"""Data-parallel pretraining of one model through Hugging Face Accelerate.

Each process trains on every k-th batch and the gradients are averaged across processes after
each backward pass (an all-reduce through ``Accelerator.reduce``), so all replicas take the same
optimizer step. Averaging gradients explicitly, instead of wrapping the model in DDP, keeps
objectives that run the encoder more than once per step (masked-LM + task) correct.
With one process (plain ``petra pretrain``) every collective is a no-op. Launch on k processes with
``accelerate launch --multi_gpu --num_processes k -m petra pretrain CONFIG``: with GPUs (and
``run.device`` auto or cuda) each process trains on its own GPU over NCCL; on a machine without
GPUs that starts k CPU processes (torch.distributed.run), which talk over gloo; ``--cpu`` alone
would start one process (Accelerate's simple launcher).
"""

from __future__ import annotations

import hashlib
import json
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from petra.experiments.transfer_config import Config
from petra.data.batches import batches
from petra.device import use_threads, uses_cuda
from petra.experiments.phases import seeded_accuracy
from petra.seeding import seed_everything, stage_seed
from petra.experiments.pretraining import new_model
from petra.experiments.transfer_data import prepare_data
from petra.training.loop import train
from petra.training.objectives import JointObjective, MLMObjective
from petra.tasks import get_task


def gradient_averager(accelerator: Accelerator):
    def sync(params: list[torch.nn.Parameter]) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = accelerator.reduce(torch.cat([g.flatten() for g in grads]), reduction="mean")
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset : offset + g.numel()].view_as(g).clone()
            offset += g.numel()

    return sync


def parameter_digest(model: torch.nn.Module) -> str:
    """A fingerprint of all weights: equal on every replica when training stayed in sync."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def pretrain_accelerated(config: Config, encoding: str, seed: int, out: Path, data_dir: Path | None = None) -> dict:
    """Pretrain (masked-LM and/or task) on the source language; the main process writes
    ``model.pt`` and ``pretrain.json`` into ``out``; returns the metrics."""
    # on a GPU machine each process takes its GPU (Accelerate sets the device per rank), else the CPU
    accelerator = Accelerator(cpu=not uses_cuda(config.run.device))
    rank, world = accelerator.process_index, accelerator.num_processes
    use_threads(1)
    p, data = config.pretrain, prepare_data(config, data_dir)
    model = new_model(config, data, encoding, stage_seed(seed, encoding, "init"), accelerator.device)  # same init on every rank
    mlm = None
    if "mlm" in p.objectives:  # each rank masks its own batches: its own generator
        generator = torch.Generator().manual_seed(stage_seed(seed, encoding, "mask", str(rank)))
        mlm = MLMObjective(len(data.tokenizer), data.tokenizer.mask_id, p.mask_prob, generator)
    objective = JointObjective(get_task(config.task), p.task_weight if "task" in p.objectives else 0.0, mlm, p.mlm_weight)
    source = data.sources[config.data.sources[0].name]  # `petra pretrain` trains on the first source
    pad, corpus = data.pad_id, source.train
    per_epoch = -(-len(corpus) // p.batch_size) // world  # every rank takes the same number of steps

    def shard(epoch: int):
        ordered = batches(corpus, p.batch_size, pad, np.random.default_rng([seed, epoch]))
        return islice(ordered, rank, rank + per_epoch * world, world)

    seed_everything(stage_seed(seed, encoding, "pretrain", str(rank)))
    result = train(model, shard, objective, p, per_epoch, sync_gradients=gradient_averager(accelerator))
    digests = accelerator.gather_for_metrics([parameter_digest(model)])
    metrics = {
        "encoding": encoding, "seed": seed, "processes": world, "rank": rank, "steps_per_process": result.steps,
        "first_loss": result.losses[0], "last_loss": result.losses[-1], "seconds": result.seconds,
        "replicas_identical": len(set(digests)) == 1, "parameter_digests": digests,
        "source_accuracy": seeded_accuracy(model, source.test, get_task(config.task), pad, seed, data.labels),
    }
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), out / "model.pt")
        (out / "pretrain.json").write_text(json.dumps(metrics, indent=2))
    accelerator.wait_for_everyone()
    return metrics
