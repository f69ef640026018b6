"""`petra sweep CONFIG`: the config's grid (PE × seed × target × recipe) on a chosen executor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from petra.cli.app import DEVICE_HELP, EXPERIMENTS, app
from petra.cli.transfer import DATA_DIR_HELP, load_run_config, run_transfer


@app.command(rich_help_panel=EXPERIMENTS)
def sweep(
    config: Path = typer.Argument(..., help="YAML experiment config: its encodings × seeds × targets × recipes"),
    executor: str = typer.Option("local", "--executor", "-e", help="local (process pool) or ray"),
    workers: int = typer.Option(0, "--workers", "-w", help="parallel trials; 0 = one per CPU core"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: start Ray locally)"),
    retries: int = typer.Option(1, "--retries", help="times a failed trial is retried"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="overrides run.output_dir"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """One trial per (PE, seed) unit; finished trials land in the results store as they complete,
    so an interrupted sweep resumes where it stopped, on any executor.

    Example: petra sweep configs/recipes.yaml --executor ray --workers 2
    """
    from petra.device import uses_cuda
    from petra.experiments.executors import make_executor

    cfg = load_run_config(config, output_dir, device)
    gpus = cfg.run.gpus_per_trial if uses_cuda(cfg.run.device) else 0.0  # what each Ray trial asks for
    pool = make_executor(executor, workers or cfg.run.workers or os.cpu_count() or 1, retries, address, gpus)
    run_transfer(cfg, pool, data_dir)
