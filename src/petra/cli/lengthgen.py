"""`petra lengthgen`: length generalization on algorithmic tasks (Ruoss et al. 2023 setup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from petra.cli.app import ANALYSIS, DEVICE_HELP, app, console, experiment_config, drive_with_progress, report_failures

# `petra lengthgen --quick`: every PE once on tiny lengths, well under a minute (used by tests).
QUICK_OVERRIDES: dict[str, Any] = {
    "seeds": [0],
    "run": {"workers": 1},  # a few tiny units: starting worker processes would cost more than they save
    "train_max_length": 4,
    "test_max_length": 8,
    "eval_samples": 16,
    "train": {"steps": 40, "batch_size": 16, "warmup_steps": 5},
}


@app.command(rich_help_panel=ANALYSIS)
def lengthgen(
    config: Optional[Path] = typer.Argument(None, help="YAML config (default: the built-in default, as configs/lengthgen.yaml)"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="results folder (overrides run.output_dir)"),
    quick: bool = typer.Option(False, "--quick", help="tiny version (1 seed, lengths 4 -> 8, 40 steps) for smoke tests"),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Train on input lengths <= N, test on every length up to M, for each PE and seed.

    Example: petra lengthgen configs/lengthgen.yaml
    """
    from petra.experiments.lengthgen import LengthgenConfig

    run_lengthgen(experiment_config(config, LengthgenConfig, QUICK_OVERRIDES, quick, output_dir, device))


def run_lengthgen(cfg, executor=None) -> None:
    """Run a lengthgen config's units on ``executor`` (default: local processes), write the results, print the tables."""
    finished = drive_with_progress(cfg, executor)
    summary, comparison = finished.outputs
    console.print(_summary_table(summary, cfg.train_max_length, cfg.test_max_length))
    if not comparison.empty:
        console.print(_comparison_table(comparison))
    console.print(f"wall time {finished.seconds:.1f} s; results in [bold]{finished.directory}[/bold] (accuracy_by_length.png)")
    report_failures(finished.results.failures, "the other units are kept in the store; run the same command again "
                                               "to retry the failed ones")


def _summary_table(summary, n: int, m: int) -> Table:
    table = Table(title=f"per-token accuracy, mean ± std over seeds: lengths 1..{n} (trained) and {n + 1}..{m} (unseen)")
    for column in ("task", "PE", "seeds", "trained lengths", "unseen lengths", "unseen, per seed"):
        table.add_column(column, justify="left" if column in ("task", "PE", "unseen, per seed") else "right")
    for row in summary.sort_values(["task", "unseen_mean"], ascending=[True, False]).itertuples():
        table.add_row(row.task, row.encoding, str(row.seeds), f"{row.in_distribution_mean:.3f}±{row.in_distribution_std:.3f}",
                      f"{row.unseen_mean:.3f}±{row.unseen_std:.3f}", row.unseen_per_seed)
    return table


def _comparison_table(comparison) -> Table:
    table = Table(title="unseen-length accuracy difference, paired by seed (same training data)")
    for column in ("task", "difference", "mean ± std", "95% CI (t, seeds)", "seeds won"):
        table.add_column(column, justify="left" if column in ("task", "difference") else "right")
    for row in comparison.itertuples():
        table.add_row(row.task, f"{row.reference} − {row.versus}", f"{row.difference_mean:+.3f}±{row.difference_std:.3f}",
                      f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}]", f"{row.wins}/{row.seeds}")
    return table
