"""`petra bound`: the generalization-gap bound for randomized PEs, checked on sampled PE draws."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from petra.cli.app import ANALYSIS, DEVICE_HELP, app, console, experiment_config, report_failures, unit_progress

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
    from petra.experiments.bound import run
    from petra.experiments.bound_outputs import write_outputs
    from petra.results.store import ResultStore
    from petra.results.writer import prepare_output_dir

    out = prepare_output_dir(cfg.run.output_dir)
    start = time.perf_counter()
    with unit_progress(f"{cfg.name}: train + {cfg.gap.draws} PE draws", len(cfg.encodings) * len(cfg.seeds)) as done:
        result = run(cfg, executor, lambda e, s: done(f"{e} seed {s}"), ResultStore(out / "store"))
    if result.reused:
        console.print(f"{result.reused} finished unit(s) reused from {out / 'store'}")
    if not result.records:
        report_failures(result.failures, "no unit finished, so nothing was written")
    verdicts, _ = write_outputs(out, cfg, result, time.perf_counter() - start)
    console.print(_verdict_table(verdicts, cfg.gap.loss, cfg.gap.bound))
    console.print(f"wall time {time.perf_counter() - start:.1f} s; results in [bold]{out}[/bold] "
                  "(tail_vs_bound.png, gap_by_pe.png, verdicts.csv)")
    report_failures(result.failures, "the other units are kept in the store; run the same command again to retry "
                                     "the failed ones")


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
