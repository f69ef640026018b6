"""`petra sweep CONFIG`: any experiment's units (transfer, lengthgen, bound, align) on a chosen executor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from petra.cli.app import DEVICE_HELP, EXPERIMENTS, app, experiment_config
from petra.cli.transfer import DATA_DIR_HELP


@app.command(rich_help_panel=EXPERIMENTS)
def sweep(
    config: Path = typer.Argument(..., help="YAML config of any experiment (its `experiment:` field, or the "
                                  "fields only one experiment has, say which; default transfer)"),
    executor: str = typer.Option("local", "--executor", "-e", help="local (process pool) or ray"),
    workers: int = typer.Option(0, "--workers", "-w", help="parallel trials; 0 = one per CPU core"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: start Ray locally)"),
    retries: int = typer.Option(1, "--retries", help="times a failed trial is retried"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="overrides run.output_dir"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """One trial per unit (a transfer config's (PE, seed), a lengthgen config's (task, PE, seed), ...).
    A transfer sweep stores trials as they complete, so an interrupted one resumes where it stopped;
    the results folder is the one the experiment's own command writes.

    Example: petra sweep configs/recipes.yaml --executor ray --workers 2
    """
    from petra.cli.align import run_align
    from petra.cli.bound import run_bound
    from petra.cli.lengthgen import run_lengthgen
    from petra.cli.transfer import run_transfer
    from petra.device import uses_cuda
    from petra.experiments.executors import make_executor

    cfg = experiment_config(config, None, {}, False, output_dir, device)
    gpus = cfg.run.gpus_per_trial if uses_cuda(cfg.run.device) else 0.0  # what each Ray trial asks for
    pool = make_executor(executor, workers or cfg.run.workers or os.cpu_count() or 1, retries, address, gpus)
    runners = {"transfer": lambda c, p: run_transfer(c, p, data_dir), "lengthgen": run_lengthgen, "bound": run_bound,
               "align": run_align}
    runners[cfg.experiment](cfg, pool)
