"""`petra bound`: the generalization-gap bound for randomized PEs, checked on sampled PE draws."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from petra.cli.app import ANALYSIS, DEVICE_HELP, app, console, experiment_config

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
    from petra.experiments.bound import BoundConfig, run, write_outputs
    from petra.results.outputs import prepare_output_dir

    cfg = experiment_config(config, BoundConfig, QUICK_OVERRIDES, quick, output_dir, device)
    out = prepare_output_dir(cfg.run.output_dir)
    start = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{cfg.name}: train + {cfg.gap.draws} PE draws", total=len(cfg.encodings) * len(cfg.seeds))
        data, records = run(cfg, on_unit_done=lambda e, s: progress.update(task, advance=1, description=f"{e} seed {s} done"))
    verdicts, per_model = write_outputs(out, cfg, data, records, time.perf_counter() - start)
    console.print(_verdict_table(verdicts, cfg.gap.loss, cfg.gap.bound))
    console.print(f"wall time {time.perf_counter() - start:.1f} s; results in [bold]{out}[/bold] "
                  "(tail_vs_bound.png, gap_by_pe.png, verdicts.csv)")


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
