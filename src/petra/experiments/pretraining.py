"""Pretraining one unit's model on one source (and the multilingual mix): masked-LM and the task
jointly, or masked-LM on all the text first and then the task (XTREME's order), optionally against
a language discriminator. Every source starts from the same initial weights, so models
pretrained on different sources are a paired comparison."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from petra.experiments.transfer_config import AdversaryConfig, Config
from petra.data.mixing import LanguageWeighted, temperature_probabilities
from petra.experiments.phases import PhaseLog, fit_mixture
from petra.seeding import seed_everything
from petra.experiments.transfer_data import SourceData, TransferData
from petra.models import HeadSpec, PetraModel, build_model
from petra.models.language import add_language_embeddings, add_language_positions
from petra.training.adversarial import AdversarialObjective, LanguageDiscriminator
from petra.training.objectives import JointObjective, MLMObjective, TokenDropout
from petra.tasks import get_task


def new_model(config: Config, data: TransferData, encoding: str, seed: int,
              device: torch.device | str = "cpu", vocab_size: int | None = None, scratch: bool = False) -> PetraModel:
    """A new model, its fresh parts initialised on the CPU from ``seed`` (the same weights whatever the
    device), then moved; ``vocab_size``: a grown vocabulary's (default: the run tokenizer's). A pretrained
    encoder (model.pretrained) comes with its weights, unless ``scratch``: then its architecture, fresh."""
    vocab_size = vocab_size or len(data.tokenizer)
    heads = {"task": HeadSpec(get_task(config.task).head, data.num_classes)}
    if "mlm" in config.pretrain.objectives:
        heads["mlm"] = HeadSpec("token", vocab_size)
    seed_everything(seed)
    return build_model(config.model, encoding, vocab_size, heads, pretrained_weights=not scratch).to(device)


def with_adversary(model: PetraModel, objective, config: Config, data: TransferData, adversary: AdversaryConfig,
                   total_steps: int, task_languages=None) -> AdversarialObjective:
    """Attach a language discriminator to ``model`` and wrap ``objective`` with its loss."""
    device = next(model.parameters()).device
    model.discriminator = LanguageDiscriminator(config.model.dim, len(data.languages), adversary.hidden).to(device)
    return AdversarialObjective(objective, model.discriminator, adversary.weight, total_steps,
                                adversary.schedule, task_languages)


def pretrain_objective(config: Config, data: TransferData, source: SourceData, mlm: bool, task: bool,
                       seed_of: Callable[..., int]):
    """The pretraining loss (masked-LM and/or the task), weighted per language when configured."""
    p = config.pretrain
    masked_lm = dropout = None
    if mlm and "mlm" in p.objectives:
        generator = torch.Generator().manual_seed(seed_of("mask"))
        masked_lm = MLMObjective(len(data.tokenizer), data.tokenizer.mask_id, p.mask_prob, generator)
    if p.token_dropout and task:
        dropout = TokenDropout(p.token_dropout, data.tokenizer.mask_id, torch.Generator().manual_seed(seed_of("token-dropout")))
    weight = p.task_weight if task and "task" in p.objectives else 0.0
    objective = JointObjective(get_task(config.task), weight, masked_lm, p.mlm_weight, dropout)
    if p.mix.loss_weights is not None:
        corpora = [source.train, *data.mix]
        return LanguageWeighted(objective, {c.lang: w for c, w in zip(corpora, p.mix.loss_weights)})
    return objective


@dataclass
class Pretrained:
    model: PetraModel
    seconds: float
    losses: list[float]
    masked_lm: PetraModel | None = None  # the model after the masked-LM stage, before the task (when asked)


def pretrain(config: Config, data: TransferData, source: SourceData, encoding: str, seed_of: Callable[..., int],
             log: PhaseLog, device: torch.device | str = "cpu", keep_masked_lm: bool = False) -> Pretrained:
    """Pretraining on ``source``; resumes from ``log``'s checkpoints (a finished pretraining replays
    nothing: its final checkpoint is restored). ``keep_masked_lm``: also a copy of the model as the
    masked-LM stage left it (``pretrain.task_epochs``: the stage before the task)."""
    p = config.pretrain
    model = new_model(config, data, encoding, seed_of("init"), device)
    if p.mix.positions == "per_language":
        add_language_positions(model, len(data.languages))
    if p.mix.language_embeddings:
        add_language_embeddings(model, len(data.languages))
    model.to(device)
    corpora = [source.train, *data.mix, *data.unlabelled]
    stages = [("pretrain", p, pretrain_objective(config, data, source, True, True, seed_of), corpora)]
    if p.task_epochs is not None:  # masked-LM on all the text, then the task on the labelled languages
        stages = [("pretrain-mlm", p, pretrain_objective(config, data, source, True, False, seed_of), corpora),
                  ("pretrain", p.model_copy(update={"epochs": p.task_epochs}),
                   pretrain_objective(config, data, source, False, True, seed_of), [source.train, *data.mix])]
    out = Pretrained(model, 0.0, [])
    for i, (name, cfg, objective, parts) in enumerate(stages):
        if p.adversary.weight > 0 and i == 0:
            total = cfg.epochs * sum(-(-len(c) // cfg.batch_size) for c in parts)
            objective = with_adversary(model, objective, config, data, p.adversary, total)
        seed_everything(seed_of(name))
        probabilities = temperature_probabilities([len(c) for c in parts], p.mix.alpha)
        result = fit_mixture(model, parts, probabilities, objective, cfg, data.pad_id, seed_of(name),
                             log.checkpointer(f"{name}-{source.name}"))
        out.seconds, out.losses = out.seconds + result.seconds, out.losses + result.losses
        if name == "pretrain-mlm" and keep_masked_lm:
            out.masked_lm = copy.deepcopy(model)
    return out
