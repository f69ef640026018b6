"""Fine-tuning recipes: which parameters stay trainable on the low-resource target."""

from __future__ import annotations

from petra.models import PetraModel

RECIPES = {
    "full": "fine-tune every parameter",
    "frozen_pe": "fine-tune everything except the positional encoding's parameters",
}


def apply_recipe(model: PetraModel, recipe: str) -> int:
    """Set ``requires_grad`` for ``recipe``; returns the number of trainable parameters."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; available: {sorted(RECIPES)}")
    for p in model.parameters():
        p.requires_grad_(True)
    if recipe == "frozen_pe":
        for p in model.encoding.parameters():
            p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
