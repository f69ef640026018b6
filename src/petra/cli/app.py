"""The Typer app and console shared by every command module."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="petra: positional encodings for transfer.",
)
# Piped output (CI logs, files) would otherwise wrap tables at 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=120)
state = {"debug": False}


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="show full tracebacks on errors")) -> None:
    state["debug"] = debug
