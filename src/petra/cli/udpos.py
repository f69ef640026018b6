"""`petra udpos`: cross-lingual UD-POS transfer on real treebanks; `petra ud-export`: a treebank as a
Hugging Face `datasets` folder (the format `data.source` / `data.targets` also accept)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from petra.cli.app import app, console

DATA_DIR_HELP = "folder holding ud/ (or the UD_* folders); default $PETRA_DATA"


def _pm(mean: float, std: float) -> str:
    return "-" if math.isnan(mean) else f"{mean:.3f}±{std:.3f}"


def _source_table(source) -> Table:
    table = Table(title="in-language accuracy on the source test split (mean ± std over seeds)")
    for column in ("source", "PE", "seeds", "accuracy", "train s"):
        table.add_column(column, justify="left" if column in ("source", "PE") else "right")
    for (name, encoding), rows in source.groupby(["source", "encoding"], sort=False):
        std = rows["accuracy"].std() if len(rows) > 1 else 0.0
        table.add_row(name, encoding, str(len(rows)), _pm(rows["accuracy"].mean(), std), f"{rows['source_seconds'].mean():.0f}")
    return table


def _summary_table(summary) -> Table:
    table = Table(title="target POS accuracy (mean ± std over seeds); k = 0 is zero-shot; gain = transfer − scratch")
    for column in ("target", "PE", "k", "seeds", "accuracy", "scratch", "gain"):
        table.add_column(column, justify="left" if column in ("target", "PE") else "right")
    for row in summary.itertuples():
        table.add_row(
            row.target.removeprefix("UD_"), row.encoding, str(row.shots), str(row.seeds),
            _pm(row.accuracy_mean, row.accuracy_std), _pm(row.scratch_mean, row.scratch_std), _pm(row.gain_mean, row.gain_std),
        )
    return table


@app.command()
def udpos(
    config: Path = typer.Argument(..., help="YAML config (see configs/ud_pos.yaml)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="overrides run.output_dir"),
) -> None:
    """UD-POS transfer (XTREME setup): source fine-tuning, zero-shot and k-shot per target, scratch baseline."""
    from petra.data.ud import resolve_data_dir
    from petra.experiments.udpos import load_udpos_config, run
    from petra.experiments.udpos_data import prepare_data
    from petra.experiments.udpos_report import write_outputs
    from petra.results.outputs import prepare_output_dir

    overrides = {"run": {"output_dir": str(output_dir)}} if output_dir is not None else {}
    cfg = load_udpos_config(config, overrides)
    out = prepare_output_dir(cfg.run.output_dir)
    start = time.perf_counter()
    needs_dir = _needs_data_dir(cfg)
    folder = resolve_data_dir(data_dir) if needs_dir or data_dir is not None else None
    with console.status("reading treebanks, training the tokenizer"):
        data = prepare_data(cfg, folder)
    console.print(f"data ready in {time.perf_counter() - start:.0f} s: {len(data.targets)} targets, "
                  f"tokenizer {len(data.tokenizer)} sub-words, {len(data.source_train)} source sentences")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"{cfg.name}: units (PE × seed)", total=len(cfg.encodings) * len(cfg.seeds))
        def done(encoding: str, seed: int) -> None:
            progress.update(bar, advance=1, description=f"{encoding} seed {seed} done")
            # a line per unit as well: piped output (logs) shows no live bar
            progress.console.print(f"unit done: {encoding} seed {seed} ({time.perf_counter() - start:.0f} s)")

        data, results = run(cfg, folder, done, data)
    outputs = write_outputs(out, cfg, data, results, time.perf_counter() - start)
    console.print(_source_table(outputs.source))
    if len(outputs.summary):
        console.print(_summary_table(outputs.summary))
    console.print(f"wall time {time.perf_counter() - start:.1f} s; results in [bold]{out}[/bold]")


def _needs_data_dir(cfg) -> bool:
    """A data folder is needed unless every treebank is given as a `datasets` folder."""
    from petra.data.hf_datasets import is_dataset_dir

    d = cfg.data
    refs = [d.source] + ([] if d.targets == "all" else list(d.targets)) + [m for m in d.mix if m not in ("source", "targets")]
    return d.targets == "all" or not all(Path(r).is_dir() and is_dataset_dir(r) for r in refs)


@app.command("ud-export")
def ud_export(
    treebank: str = typer.Argument(..., help="UD treebank name, e.g. English-EWT"),
    output_dir: Path = typer.Argument(..., help="folder to write (datasets.load_from_disk reads it)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Export a treebank's splits as a Hugging Face `datasets` folder."""
    from petra.data.hf_datasets import export_splits
    from petra.data.ud import find_treebank

    bank = find_treebank(treebank, data_dir)
    splits = {name: bank.read(name) for name in bank.splits}
    export_splits(splits, output_dir)
    sizes = ", ".join(f"{name} {len(s)}" for name, s in splits.items())
    console.print(f"{bank.name}: {sizes} sentences -> [bold]{output_dir}[/bold]")
