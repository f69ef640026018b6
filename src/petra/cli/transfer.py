"""`petra demo` and `petra run`: the transfer experiment (pretrain -> fine-tune -> scratch)."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from petra.cli.app import app, console
from petra.config import Config, load_config
from petra.errors import PetraError

# `petra demo --quick`: the same experiment, shrunk to run in well under a minute (used by tests).
QUICK_OVERRIDES: dict[str, Any] = {
    "seeds": [0],
    "data": {"source_train": 2000, "target_train": 60, "test": 200},
    "pretrain": {"epochs": 8},
    "finetune": {"epochs": 10},
}


def demo_config_path() -> Path:
    return Path(str(resources.files("petra") / "configs" / "demo.yaml"))


def run_transfer(config: Config, executor=None) -> None:
    """Run (or resume) a transfer config, store each unit, print the table, write the outputs."""
    from petra.experiments.transfer import run
    from petra.results.outputs import prepare_output_dir, write_outputs
    from petra.results.store import ResultStore

    out = prepare_output_dir(config.run.output_dir)
    store = ResultStore(out / "store")
    units = len(config.encodings) * len(config.seeds)
    start = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{config.name}: pretrain + fine-tune", total=units)
        try:
            results = run(config, store, on_unit_done=lambda e, s: progress.update(
                task, advance=1, description=f"{e} seed {s} done"), executor=executor)
        except KeyboardInterrupt:
            console.print(f"interrupted: finished units and checkpoints are kept in {store.root}; "
                          "run the same command again to resume")
            raise typer.Exit(130) from None
    if results.skipped:
        console.print(f"{results.skipped} finished unit(s) reused from {store.root}")
    if results.runs.empty:
        raise PetraError(f"no unit finished: {'; '.join(results.failures)}")
    outputs = write_outputs(out, config, results, time.perf_counter() - start)
    console.print(_summary_table(outputs.summary))
    console.print(f"wall time {time.perf_counter() - start:.1f} s; results in [bold]{out}[/bold]")
    if results.failures:
        for failure in results.failures:
            console.print(f"[red]failed after retries:[/red] {failure}")
        console.print("finished units are stored; run the same command again to retry the failed ones")
        raise typer.Exit(1)


def _summary_table(summary) -> Table:
    table = Table(
        title="target test accuracy, mean ± std over seeds; gain = transfer − scratch",
        caption="NEGATIVE TRANSFER: the gain's 95% bootstrap CI lies below zero",
    )
    for column in ("target", "PE", "recipe", "seeds", "accuracy", "scratch", "zero-shot", "gain", "flag"):
        table.add_column(column, justify="left" if column in ("target", "PE", "recipe", "flag") else "right")
    for row in summary.itertuples():
        table.add_row(
            row.target, row.encoding, row.recipe, str(row.seeds),
            f"{row.accuracy_mean:.3f}±{row.accuracy_std:.3f}", f"{row.scratch_mean:.3f}",
            f"{row.zero_shot_mean:.3f}", f"{row.gain_mean:+.3f}±{row.gain_std:.3f}",
            "[red]NEGATIVE TRANSFER[/red]" if row.negative_transfer else ("gain<0" if row.gain_mean < 0 else ""),
        )
    return table


@app.command()
def demo(
    quick: bool = typer.Option(False, "--quick", help="tiny version (1 seed, small data) for smoke tests"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="results folder"),
) -> None:
    """Embedded default: SVO source -> SOV and VSO targets, four PEs, three seeds, no download."""
    overrides = dict(QUICK_OVERRIDES) if quick else {}
    if output_dir is not None:
        overrides["run"] = {"output_dir": str(output_dir)}
    run_transfer(load_config(demo_config_path(), overrides))


@app.command("run")
def run_config(
    config: Path = typer.Argument(..., help="YAML experiment config"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="overrides run.output_dir"),
) -> None:
    """Run the transfer experiment a config describes."""
    overrides = {"run": {"output_dir": str(output_dir)}} if output_dir is not None else {}
    run_transfer(load_config(config, overrides))
