"""`petra encodings`: the PE zoo."""

from __future__ import annotations

from rich.table import Table

from petra.cli.app import app, console


@app.command()
def encodings() -> None:
    """List the positional-encoding zoo."""
    from petra.encodings import available

    table = Table(title="positional encodings")
    for column in ("name", "acts as", "description"):
        table.add_column(column)
    for spec in available():
        table.add_row(spec.name, spec.kind, spec.description)
    console.print(table)
