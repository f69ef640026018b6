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

    _print_registry("positional encodings", ("name", "acts as", "description"),
                    [(spec.name, spec.kind, spec.description) for spec in available()])


@app.command(rich_help_panel=MODELS)
def recipes() -> None:
    """List the fine-tuning recipes (finetune.recipes).

    Example: petra recipes
    """
    from petra.training.recipes import available

    _print_registry("fine-tuning recipes", ("name", "encoder", "description"),
                    [(r.name, "frozen" if r.frozen_encoder else "trained", r.description) for r in available()])


def _print_registry(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
