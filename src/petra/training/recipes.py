"""Fine-tuning recipes: which parameters train on the low-resource target, and what is added.

* full         - every parameter;
* frozen_pe    - everything except the positional encoding's parameters;
* adaptive_pe  - the pretrained model frozen; only the language-adaptive PE f(p; θ_lang) and the
                 task head train (petra.models.language.AdaptivePE);
* adapters     - the pretrained model frozen; only bottleneck adapters (MAD-X) and the task head;
* adversarial  - every parameter, plus a language discriminator behind gradient reversal that
                 sees source and target batches (petra.training.adversarial).
"""

from __future__ import annotations

from petra.models import PetraModel
from petra.models.language import add_adapters, make_pe_adaptive

RECIPES = {
    "full": "fine-tune every parameter",
    "frozen_pe": "fine-tune everything except the positional encoding's parameters",
    "adaptive_pe": "freeze the model; train a per-language transform of the PE and the task head",
    "adapters": "freeze the model; train bottleneck adapters per layer and the task head",
    "adversarial": "fine-tune everything with a gradient-reversed language discriminator",
}


def apply_recipe(
    model: PetraModel, recipe: str, num_languages: int = 1, adaptive_hidden: int = 32, adapter_bottleneck: int = 16,
) -> int:
    """Prepare ``model`` for ``recipe`` (adding modules where it needs them) and set
    ``requires_grad``; returns the number of trainable parameters."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; available: {sorted(RECIPES)}")
    trainable = list(model.parameters())
    if recipe == "adaptive_pe":
        adaptive = make_pe_adaptive(model, num_languages, adaptive_hidden)
        pretrained_pe = {id(p) for p in adaptive.base.parameters()}
        trainable = [p for p in adaptive.parameters() if id(p) not in pretrained_pe]
        trainable += list(model.heads["task"].parameters())
    elif recipe == "adapters":
        trainable = [*add_adapters(model, adapter_bottleneck, num_languages).parameters(),
                     *model.heads["task"].parameters()]
    elif recipe == "frozen_pe":
        frozen = {id(p) for p in model.encoding.parameters()}
        trainable = [p for p in model.parameters() if id(p) not in frozen]
    chosen = {id(p) for p in trainable}
    for p in model.parameters():
        p.requires_grad_(id(p) in chosen)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
