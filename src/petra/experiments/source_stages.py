"""The stages a recipe readies a pretrained model with once per source (petra.training.recipes.base.
SourceStage; MAD-X's language and task adapters): each language's own text, and one resumable training
stage on it."""

from __future__ import annotations

import torch

from petra.data.batches import EncodedCorpus
from petra.data.mixing import temperature_probabilities
from petra.experiments.phases import fit_mixture
from petra.seeding import seed_everything
from petra.experiments.transfer_config import Config
from petra.experiments.transfer_data import SourceData, TransferData
from petra.models import PetraModel
from petra.training.checkpoint import Checkpointer
from petra.training.objectives import JointObjective, MLMObjective
from petra.tasks import get_task


def language_texts(data: TransferData, source: SourceData) -> dict[int, list[EncodedCorpus]]:
    """Each language's own unlabelled text: the source's training sentences, each target's pool text
    and ``text:`` (never a test sentence)."""
    texts: dict[int, list[EncodedCorpus]] = {source.lang: [source.train]}
    targets = {t.lang for t in data.targets.values()}
    for corpus in data.unlabelled:
        if corpus.lang in targets:
            texts.setdefault(corpus.lang, []).append(corpus)
    return texts


def train_stage(config: Config, data: TransferData, model: PetraModel, corpora: list[EncodedCorpus], masked_lm: bool,
                seed: int, checkpointer: Checkpointer | None, device: torch.device) -> float:
    """Masked-LM for ``finetune.language_adapter_steps`` steps on ``corpora``, else the task for
    ``pretrain.task_epochs`` epochs, with pretraining's batch size and learning rate; its seconds.
    A finished stage restores its final checkpoint (a resumed unit replays nothing)."""
    p = config.pretrain
    model.to(device)
    if masked_lm:
        mask = MLMObjective(len(data.tokenizer), data.tokenizer.mask_id, p.mask_prob, torch.Generator().manual_seed(seed))
        objective, cfg = JointObjective(get_task(config.task), 0.0, mask), p.model_copy(update={"epochs": 1})
        steps = config.finetune.language_adapter_steps
    else:
        objective, steps = JointObjective(get_task(config.task)), None
        cfg = p.model_copy(update={"epochs": p.task_epochs})
    seed_everything(seed)
    probabilities = temperature_probabilities([len(c) for c in corpora], p.mix.alpha)
    return fit_mixture(model, corpora, probabilities, objective, cfg, data.pad_id, seed, checkpointer, steps=steps).seconds
