"""`petra ud-export`: a treebank as a Hugging Face `datasets` folder (what a `{datasets: PATH}`
language reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from petra.cli.app import MODELS, app, console
from petra.cli.transfer import DATA_DIR_HELP


@app.command("ud-export", rich_help_panel=MODELS)
def ud_export(
    treebank: str = typer.Argument(..., help="UD treebank name, e.g. English-EWT"),
    output_dir: Path = typer.Argument(..., help="folder to write (datasets.load_from_disk reads it)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Export a treebank's splits as a Hugging Face `datasets` folder.

    Example: petra ud-export English-EWT my_ewt/ --data-dir ../shared/data
    """
    from petra.data.hf_datasets import export_splits
    from petra.data.ud import find_treebank

    bank = find_treebank(treebank, data_dir)
    splits = {name: bank.read(name) for name in bank.splits}
    export_splits(splits, output_dir)
    sizes = ", ".join(f"{name} {len(s)}" for name, s in splits.items())
    console.print(f"{bank.name}: {sizes} sentences -> [bold]{output_dir}[/bold]")
