"""The ``petra`` command line: each command is one experiment a researcher would name.

Commands live in one module each and register on the shared Typer ``app``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from rich.console import Console

from petra.cli.app import app, order_commands, state
from petra.errors import PetraError

__all__ = ["app", "entry"]

# Every module of this package registers its commands on `app` when imported; importing them all
# here means a new command is one new file, with no list to keep in sync.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "app":
        importlib.import_module(f"{__name__}.{_module.name}")
order_commands()


def entry() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()  # standalone: Typer handles usage errors and --help itself
    except PetraError as exc:
        if state["debug"]:
            raise
        Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
