"""What every fine-tuning recipe answers: which parameters train (counted, by group), what it adds
to the pretrained model, what it needs (source batches beside the target's), and what rebuilds a kept
model. One module per recipe registers a :class:`Recipe`; nothing outside this folder names one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from petra.errors import PetraError

EMBEDDINGS = ("target", "all", "frozen")  # finetune.embeddings: what a frozen-encoder recipe trains of the token table


@dataclass(frozen=True)
class Setup:
    """What a recipe may read: the experiment's language count, the fine-tuning settings
    (petra.experiments.transfer_config.FinetuneConfig) and the token ids of the k training sentences."""

    num_languages: int = 1
    finetune: Any = None
    target_pieces: frozenset[int] = frozenset()

    def option(self, name: str, default):
        return default if self.finetune is None else getattr(self.finetune, name)


@dataclass
class Trained:
    """The parameters a recipe trains, by group ('task head', 'adapters', ...), counted."""

    groups: dict[str, int] = field(default_factory=dict)

    @property
    def parameters(self) -> int:
        return sum(self.groups.values())

    def describe(self) -> str:
        return " + ".join(f"{name} {count:,}" for name, count in self.groups.items())


@dataclass(frozen=True)
class SourceStage:
    """What a recipe that readies each pretrained model once, before any target (MAD-X), may use:
    each language's own text, the source's labelled sentences, and the engine's resumable training,
    ``train(model, corpus, masked_lm, name)`` (masked-LM on the text, else the task; ``name`` its phase)."""

    source_language: int
    texts: dict[int, list]  # language id -> its corpora (petra.data.batches.EncodedCorpus) of unlabelled text
    task: Any  # the source's labelled training corpus
    train: Callable[[nn.Module, list, bool, str], None]
    setup: Setup


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    prepare: Callable[[nn.Module, Setup], dict[str, list[nn.Parameter]]]  # adds modules; the groups that train
    # Readies the pretrained model once per source (MAD-X trains its language and task adapters); the
    # readied model is then this recipe's zero-shot model and every target fine-tuning's start.
    per_source: Callable[[nn.Module, SourceStage], None] | None = None
    masked_lm_base: bool = False  # starts from the model after masked-LM pretraining, before the task stage
    frozen_encoder: bool = False  # the pretrained encoder stays: the token embeddings train per finetune.embeddings
    source_batches: bool = False  # source batches join the target's (adversarial)
    full_without_pe_parameters: bool = False  # trains exactly what `full` trains when the PE has no parameters
    kept: Callable[[Any], dict[str, Any]] = lambda finetune: {}  # what rebuilds a kept model (petra.results.kept_models)
    finish: Callable[[nn.Module], None] = lambda model: None  # after training, before scoring and keeping (LoRA merges)
    check: Callable[[Any], str | None] = lambda config: None  # a reason the config cannot run it, else None


def every_parameter(model: nn.Module) -> list[nn.Parameter]:
    return list(model.parameters())


def task_head(model: nn.Module) -> list[nn.Parameter]:
    return list(model.heads["task"].parameters())


def embedding_rows(model: nn.Module, setup: Setup) -> dict[str, list[nn.Parameter]]:
    """A frozen-encoder recipe's token embeddings: ``target`` trains the rows of the pieces its k
    sentences use (the other rows get no gradient and no weight decay, so they stay exactly as
    pretrained), ``all`` the whole table, ``frozen`` none."""
    mode = setup.option("embeddings", "target")
    table = model.encoder.embed.weight
    if mode == "frozen":
        return {}
    if mode == "all":
        return {"embeddings": [table]}
    rows = torch.zeros(table.shape[0], 1, dtype=table.dtype, device=table.device)
    rows[sorted(setup.target_pieces)] = 1.0
    table.requires_grad_(True)  # (a library may have frozen it) so the hook can be registered
    table.register_hook(lambda grad: grad * rows.to(grad.device))
    table.row_mask = rows  # batched members stack each member's mask (petra.training.members)
    table.no_weight_decay = True  # decay would move the untrained rows (petra.training.loop.make_optimizer)
    table.trained_rows = len(setup.target_pieces)
    return {f"embeddings of {len(setup.target_pieces)} target pieces": [table]}


def count(groups: dict[str, list[nn.Parameter]]) -> Trained:
    """Trainable elements per group; a row-masked table counts only its trained rows."""
    def size(p: nn.Parameter) -> int:
        rows = getattr(p, "trained_rows", None)
        return p.numel() if rows is None else rows * p.shape[1]

    return Trained({name: sum(size(p) for p in params) for name, params in groups.items() if params})


def only(model: nn.Module, trainable: Iterable[nn.Parameter]) -> None:
    chosen = {id(p) for p in trainable}
    if not chosen:
        raise PetraError("the recipe trains nothing")
    for p in model.parameters():
        p.requires_grad_(id(p) in chosen)
