"""`petra report RESULTS_DIR`: an HTML + Markdown report of a finished run."""

from __future__ import annotations

from pathlib import Path

import typer

from petra.cli.app import EXPERIMENTS, app, console


@app.command(rich_help_panel=EXPERIMENTS)
def report(results_dir: Path = typer.Argument(..., help="a folder written by `petra run` or `petra demo`")) -> None:
    """Write report.html (self-contained) and report.md into RESULTS_DIR.

    Example: petra report runs/demo
    """
    from petra.results.report import write_report

    html_path, md_path = write_report(results_dir)
    console.print(f"report: [bold]{html_path}[/bold] (and {md_path.name})")
