"""`petra bound`: the generalization-gap bound for randomized PEs, checked on sampled PE draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from petra.cli.app import ANALYSIS, DEVICE_HELP, app, console, experiment_config, drive_with_progress, report_failures

# `petra bound --quick`: the same pipeline shrunk to run in well under a minute (used by tests).
QUICK_OVERRIDES: dict[str, Any] = {
    "seeds": [0],
    "run": {"workers": 1},  # a few tiny units: starting worker processes would cost more than they save
    "data": {"train": 150, "test": 150},
    "train": {"epochs": 4},
    "gap": {"draws": 16, "grid_points": 60},
}


@app.command(rich_help_panel=ANALYSIS)
def bound(
    config: Optional[Path] = typer.Argument(None, help="YAML config (default: the built-in default, as configs/bound.yaml)"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="results folder (overrides run.output_dir)"),
    quick: bool = typer.Option(False, "--quick", help="tiny version (1 seed, small data, 16 draws) for smoke tests"),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Train random_gaussian / sinusoidal / learned models, evaluate the gap under K PE draws, and
    judge the seed's bound exp(-ε²/2σ²) and a textbook bound against the empirical tail.

    Example: petra bound --quick
    """
    from petra.experiments.bound import BoundConfig

    run_bound(experiment_config(config, BoundConfig, QUICK_OVERRIDES, quick, output_dir, device))


def run_bound(cfg, executor=None) -> None:
    """Run a bound config's units on ``executor`` (default: local processes), write the results, print the verdicts."""
    finished = drive_with_progress(cfg, executor)
    verdicts, _ = finished.outputs
    console.print(_verdict_table(verdicts, cfg.gap.loss, cfg.gap.bound))
    console.print(f"wall time {finished.seconds:.1f} s; results in [bold]{finished.directory}[/bold] "
                  "(tail_vs_bound.png, gap_by_pe.png, verdicts.csv)")
    report_failures(finished.results.failures, "the other units are kept in the store; run the same command again "
                                               "to retry the failed ones")


def _verdict_table(verdicts, loss: str, bound: float) -> Table:
    title = (f"gap Δ = L_test − L_train ({loss}, bounded by B={bound:g}); pooled over seeds. "
             "Violated = the Clopper-Pearson band lies above the bound")
    table = Table(title=title)
    for column in ("PE", "scheme", "n", "mean Δ", "σ̂²", "seed bound on Δ", "seed bound, centred", "textbook, centred"):
        table.add_column(column, justify="right" if column in ("n", "mean Δ", "σ̂²") else "left")
    for row in verdicts[verdicts["seed"] == "all"].itertuples():
        table.add_row(row.encoding, row.scheme, str(row.n), f"{row.mean_gap:+.3f}", f"{row.sigma2_hat:.2g}",
                      row.seed_bound_on_gap, row.seed_bound_centred, row.textbook_centred)
    return table
