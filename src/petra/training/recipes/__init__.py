"""Fine-tuning recipes, a registry like the PE zoo: ``apply_recipe(model, name, setup)`` adds what the
recipe needs to a copy of the pretrained model and leaves only its parameters trainable.

Adding a recipe = one module calling :func:`register` + its import line below + its test.
"""

from __future__ import annotations

from torch import nn

from petra.errors import PetraError
from petra.training.recipes.base import EMBEDDINGS, Recipe, Setup, SourceStage, Trained, count, embedding_rows, only

_REGISTRY: dict[str, Recipe] = {}
RENAMED = {"adaptive_pe": "frozen_adaptive_pe (the model frozen, as before) or full_adaptive_pe (trained with the rest)"}
DEFAULT_RECIPES = ("full", "frozen_pe")
ZERO_SHOT = "zero_shot"  # the recipe column of k = 0 rows: the pretrained model, no target training


def register(recipe: Recipe) -> Recipe:
    if recipe.name in _REGISTRY:
        raise ValueError(f"recipe {recipe.name!r} registered twice")
    _REGISTRY[recipe.name] = recipe
    return recipe


def available() -> list[Recipe]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_recipe(name: str) -> Recipe:
    if name in RENAMED:
        raise PetraError(f"recipe {name!r} was renamed: use {RENAMED[name]}")
    if name not in _REGISTRY:
        raise PetraError(f"unknown recipe {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def learning_rate(finetune, phase: str) -> float:
    """Fine-tuning's learning rate for ``phase`` (a recipe, or scratch): the frozen-encoder recipes' own
    (``finetune.frozen_lr``); everything else, scratch included (it trains every parameter), ``finetune.lr``."""
    return finetune.frozen_lr if phase != "scratch" and get_recipe(phase).frozen_encoder else finetune.lr


def apply_recipe(model: nn.Module, name: str, setup: Setup | None = None) -> Trained:
    """Prepare ``model`` for recipe ``name`` (adding modules where it needs them), leave only what it
    trains with ``requires_grad``, and return what trains, counted by group."""
    recipe, setup = get_recipe(name), setup or Setup()
    groups = recipe.prepare(model, setup)
    if recipe.frozen_encoder:
        groups.update(embedding_rows(model, setup))
    only(model, [p for params in groups.values() for p in params])
    return count(groups)


from petra.training.recipes import adapters, adaptive_pe, adversarial, frozen_pe, full, lora, madx  # noqa: E402,F401

__all__ = ["EMBEDDINGS", "DEFAULT_RECIPES", "ZERO_SHOT", "Recipe", "SourceStage", "Setup", "Trained", "apply_recipe", "learning_rate",
           "available", "get_recipe", "register"]
