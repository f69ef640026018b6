"""The Typer app and console shared by every command module."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="petra: positional encodings for transfer.",
)
# Piped output (CI logs, files) would otherwise wrap tables at 80 columns.
console = Console() if sys.stdout.isatty() else Console(width=160)
state = {"debug": False}

# `petra --help` groups commands in the order a researcher works: run experiments, analyse
# languages and results, work with models, measure speed. Within a panel: WORKFLOW's order.
EXPERIMENTS, ANALYSIS, MODELS, SPEED = "Experiments", "Analysis", "Models", "Speed"
WORKFLOW = ["demo", "run", "sweep", "report", "similarity", "diversity", "transfer-link", "advise", "advise-eval", "bound", "lengthgen",
            "encodings", "pretrain", "hf-tiny", "hf-surgery", "export", "predict", "align", "ud-export",
            "bench"]


def order_commands() -> None:
    """Sort the registered commands by panel, then by WORKFLOW (a command not listed comes last)."""
    panels = [EXPERIMENTS, ANALYSIS, MODELS, SPEED]

    def rank(command) -> tuple[int, int]:
        name = command.name or command.callback.__name__.replace("_", "-")
        panel = panels.index(command.rich_help_panel) if command.rich_help_panel in panels else len(panels)
        return panel, WORKFLOW.index(name) if name in WORKFLOW else len(WORKFLOW)

    app.registered_commands.sort(key=rank)


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="show full tracebacks on errors")) -> None:
    state["debug"] = debug


@contextmanager
def unit_progress(title: str, total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over an experiment's units; yields ``done(text)`` to call as each finishes.
    Piped output (logs) shows no live bar, so each unit also gets a line there."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    start = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(title, total=total)

        def done(text: str) -> None:
            progress.update(bar, advance=1, description=f"{text} done")
            if not console.is_terminal:
                progress.console.print(f"unit done: {text} ({time.perf_counter() - start:.0f} s)")

        yield done


@contextmanager
def experiment_progress(config) -> Iterator[Callable[..., None]]:
    """The progress bar over ``config``'s units; yields ``done(*unit)`` for the driver to call as each
    finishes. A run where no unit finished prints its failures and exits 1."""
    from petra.errors import UnitsFailed
    from petra.experiments.driver import EXPERIMENTS

    experiment = EXPERIMENTS[config.experiment]
    with unit_progress(experiment.title(config), len(experiment.units(config))) as done:
        try:
            yield lambda *unit: done(f"{' '.join(map(str, unit[:-1]))} seed {unit[-1]}")
        except UnitsFailed as exc:
            report_failures(exc.failures, "no unit finished, so nothing was written")


def drive_with_progress(config, executor=None):
    """:func:`petra.experiments.driver.drive` under a progress bar, saying which units were reused."""
    from petra.experiments.driver import drive

    with experiment_progress(config) as done:
        finished = drive(config, executor, done)
    if finished.results.reused:
        console.print(f"{finished.results.reused} finished unit(s) reused from {finished.directory / 'store'}")
    return finished


def report_failures(failures: list[str], advice: str) -> None:
    """Units that failed every retry: one red line each, what to do, then exit 1 (what finished is written)."""
    if failures:
        for failure in failures:
            console.print(f"[red]failed after retries:[/red] {failure}")
        console.print(advice)
        raise typer.Exit(1)


DEVICE_HELP = "auto (CUDA when available, else CPU), cpu, cuda or cuda:N; overrides run.device"


def experiment_config(config, schema, quick_overrides: dict, quick: bool, output_dir, device: str | None = None,
                      options: dict | None = None):
    """An experiment's config: the YAML file (or the schema's defaults when none is given), with
    the ``--quick`` overrides, the command's own ``options`` (sections of fields), ``--output-dir``
    and ``--device`` applied on top."""
    from petra.config import load_config, merge_overrides, parse_config

    run = {**({"output_dir": str(output_dir)} if output_dir is not None else {}),
           **({"device": device} if device is not None else {})}
    overrides = merge_overrides(quick_overrides if quick else {}, options, {"run": run} if run else None)
    if config is None:
        return parse_config(overrides, "defaults", schema)
    return load_config(config, overrides, schema)
