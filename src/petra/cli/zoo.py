"""`petra encodings` and `petra recipes`: the PE zoo and the fine-tuning recipes."""

from __future__ import annotations

from rich.table import Table

from petra.cli.app import MODELS, app, console


@app.command(rich_help_panel=MODELS)
def encodings() -> None:
    """List the positional-encoding zoo.

    Example: petra encodings
    """
    from petra.encodings import available

    table = Table(title="positional encodings")
    for column in ("name", "acts as", "description"):
        table.add_column(column)
    for spec in available():
        table.add_row(spec.name, spec.kind, spec.description)
    console.print(table)


@app.command(rich_help_panel=MODELS)
def recipes() -> None:
    """List the fine-tuning recipes (finetune.recipes).

    Example: petra recipes
    """
    from petra.training.recipes import available

    table = Table(title="fine-tuning recipes")
    for column in ("name", "encoder", "description"):
        table.add_column(column)
    for recipe in available():
        table.add_row(recipe.name, "frozen" if recipe.frozen_encoder else "trained", recipe.description)
    console.print(table)
