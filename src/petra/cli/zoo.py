"""`petra encodings`: the PE zoo."""

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
