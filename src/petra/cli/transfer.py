"""`petra demo`, `petra run` (and its old name `petra udpos`): the transfer experiment
(pretrain -> zero-shot -> k-shot fine-tuning beside scratch) for any language source."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from petra.cli.app import DEVICE_HELP, EXPERIMENTS, app, console, experiment_progress, report_failures
from petra.config import load_config
from petra.experiments.transfer_config import Config

# `petra demo --quick`: the same experiment, shrunk to run in well under a minute (used by tests).
QUICK_OVERRIDES: dict[str, Any] = {
    "seeds": [0],
    "data": {"source_train": 2000, "test": 200},
    "pretrain": {"epochs": 8},
    "finetune": {"epochs": 10, "shots": [60]},
}
DATA_DIR_HELP = "folder holding ud/ (or the UD_* folders) for {treebank: NAME} languages; default $PETRA_DATA"


def run_transfer(config: Config, executor=None, data_dir: Path | None = None) -> None:
    """Run (or resume) a transfer config through :func:`petra.api.run` with a progress bar, then
    print the tables (every file is written by then)."""
    from petra.api import precision_warning, run
    from petra.results.across import across_lines
    from petra.results.claims import FEW_TEST_SENTENCES, shown_once
    from petra.results.replication import replication_lines

    slow = precision_warning(config)
    if slow:
        console.print(f"[yellow]{slow}[/yellow]")
    start = time.perf_counter()
    with experiment_progress(config) as done:
        try:
            results = run(config, data_dir=data_dir, executor=executor, on_unit_done=done)
        except KeyboardInterrupt:
            console.print(f"interrupted: finished units and checkpoints are kept in {config.run.output_dir / 'store'}; "
                          "run the same command again to resume")
            raise typer.Exit(130) from None
    if results.skipped:
        console.print(f"{results.skipped} finished unit(s) reused from {results.directory / 'store'}")
    for unit in results.resumed:
        console.print(f"resumed {unit}", soft_wrap=True)
    console.print(_source_table(results.runs[~results.runs["seed"].isin(config.replicate)]))  # the claims' seeds
    console.print(_summary_table(shown_once(results.summary, results.runs)))
    for cell in results.missing:
        console.print(f"not fine-tuned: {cell}")
    few = results.summary[results.summary["test_sentences"] < FEW_TEST_SENTENCES]
    for target, rows in few.groupby("target", sort=False):
        console.print(f"[yellow]{target}: only {rows['test_sentences'].min()} test sentences scored[/yellow] "
                      "(intervals are wide)")
    for note in (n for n in results.notes if n != slow):  # said before training
        console.print(f"[yellow]{note}[/yellow]")
    for warning in results.warnings:  # the verdict on such a target may measure the tokenizer, not the PE
        console.print(f"[bold red]coverage: {warning}[/bold red]")
    for line in across_lines(results.across):  # the answer across languages, after the per-cell table
        console.print(line, markup=False)
    for line in replication_lines(results.replication, config.replicate):
        console.print(f"[bold]{line}[/bold]" if line.startswith("replication") else f"[yellow]{line}[/yellow]")
    console.print(f"wall time {time.perf_counter() - start:.1f} s; results in [bold]{results.directory}[/bold] "
                  "(report: report.html)")
    report_failures(results.failures, "finished units are stored; run the same command again to retry the failed ones")


def _source_table(runs) -> Table:
    """In-language accuracy of each pretrained model on its source's test split."""
    table = Table(title="source test accuracy after pretraining, mean ± std over seeds")
    for column in ("source", "PE", "seeds", "accuracy"):
        table.add_column(column, justify="left" if column in ("source", "PE") else "right")
    per_unit = runs.drop_duplicates(["source", "encoding", "seed"])
    for (source, encoding), rows in per_unit.groupby(["source", "encoding"], sort=False):
        std = rows["source_accuracy"].std() if len(rows) > 1 else 0.0
        table.add_row(source, encoding, str(len(rows)), f"{rows['source_accuracy'].mean():.3f}±{std:.3f}")
    return table


def _summary_table(summary) -> Table:
    """The per-cell table; the k and source columns appear when the experiment varies them."""
    from petra.results.claims import FEW_TEST_SENTENCES

    with_k, with_source = summary["shots"].nunique() > 1, summary["source"].nunique() > 1
    table = Table(
        title="target test accuracy, mean ± std over seeds; gain = transfer − scratch" + ("; k = 0: zero-shot" if with_k else ""),
        caption="best / tie: the best configuration of its (target, k), and those whose paired difference to it "
                "has a 95% CI containing 0 (1 seed: the highest, with no seed-level evidence); NEGATIVE TRANSFER: "
                "the gain's 95% CI lies below zero",
    )
    again = "replication" in summary  # the marks the replication seeds give (petra replicate)
    columns = ("target", *(("source",) if with_source else ()), "PE", "recipe", *(("k",) if with_k else ()), "seeds",
               "test", "accuracy", "scratch", "zero-shot", "gain", "claim", *(("again",) if again else ()), "flag")
    for column in columns:
        table.add_column(column, justify="left" if column in ("target", "source", "PE", "recipe", "claim", "again", "flag") else "right")
    for row in summary.itertuples():
        zero_shot = row.scratch_mean != row.scratch_mean  # NaN: a k = 0 row
        few = row.test_sentences < FEW_TEST_SENTENCES
        table.add_row(
            row.target, *((row.source,) if with_source else ()), row.encoding, row.recipe,
            *((str(row.shots),) if with_k else ()), str(row.seeds),
            f"[yellow]{row.test_sentences}[/yellow]" if few else str(row.test_sentences),
            f"{row.accuracy_mean:.3f}±{row.accuracy_std:.3f}", "-" if zero_shot else f"{row.scratch_mean:.3f}",
            f"{row.zero_shot_mean:.3f}", "-" if zero_shot else f"{row.gain_mean:+.3f}±{row.gain_std:.3f}",
            row.claim, *((row.replication,) if again else ()),
            "[red]NEGATIVE TRANSFER[/red]" if row.negative_transfer else ("gain<0" if row.gain_mean < 0 else ""),
        )
    return table


@app.command(rich_help_panel=EXPERIMENTS)
def demo(
    quick: bool = typer.Option(False, "--quick", help="tiny version (1 seed, small data) for smoke tests"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="results folder"),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Embedded default: SVO source -> SOV and VSO targets, four PEs, three seeds, no download.

    Example: petra demo -o runs/demo
    """
    from petra.api import demo_config

    overrides = {**(QUICK_OVERRIDES if quick else {}), "run": _run_overrides(output_dir, device)}
    run_transfer(load_config(demo_config(), overrides))


def load_run_config(config: Path, output_dir: Optional[Path], device: Optional[str] = None) -> Config:
    return load_config(config, {"run": _run_overrides(output_dir, device)}, Config)


def _run_overrides(output_dir: Optional[Path], device: Optional[str]) -> dict[str, str]:
    """The `run` fields the command line sets (--output-dir, --device)."""
    run = {"output_dir": str(output_dir)} if output_dir is not None else {}
    return {**run, "device": device} if device is not None else run


@app.command("run", rich_help_panel=EXPERIMENTS)
def run_config(
    config: Path = typer.Argument(..., help="YAML experiment config (see configs/)"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="overrides run.output_dir"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Run (or resume) the transfer experiment a config describes, on any language sources.

    Example: petra run configs/ud_lowres.yaml --data-dir ../shared/data
    """
    run_transfer(load_run_config(config, output_dir, device), data_dir=data_dir)


@app.command(rich_help_panel=EXPERIMENTS)
def replicate(
    results: Path = typer.Argument(..., help="a results folder written by `petra run` (holds config.yaml and store/)"),
    seeds: str = typer.Option(..., "--seeds", help="fresh seeds, comma-separated, e.g. 3,4,5"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Run a finished experiment again with fresh seeds into the same store, and say which claims held.

    The claims stay those of the config's seeds; each is checked against the same comparison on the new
    seeds alone (replication.csv, the report's Replication section, summary.csv's replication column).

    Example: petra replicate runs/ud_lowres --seeds 3,4,5 --data-dir ../shared/data
    """
    from petra.errors import PetraError

    config_file = results / "config.yaml"
    if not config_file.is_file():
        raise PetraError(f"{results} is not a petra results folder (no config.yaml); run `petra run` first")
    try:
        fresh = [int(seed) for seed in seeds.split(",") if seed.strip()]
    except ValueError:
        raise PetraError(f"--seeds: {seeds!r} is not a comma-separated list of integers") from None
    overrides = {"replicate": fresh, "run": _run_overrides(results, device)}
    run_transfer(load_config(config_file, overrides, Config), data_dir=data_dir)


# The old name of `petra run`: UD-POS configs are transfer configs whose languages are treebanks.
app.command("udpos", hidden=True)(run_config)
