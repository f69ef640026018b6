"""`petra align`: bilingual lexicon induction between two synthetic languages (MUSE-style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from petra.cli.app import DEVICE_HELP, MODELS, app, console, experiment_config, drive_with_progress, report_failures

# `petra align --quick`: tiny languages and models, one short adversarial game (smoke tests).
QUICK_OVERRIDES: dict[str, Any] = {
    "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
    "data": {
        "source": {"name": "svo", "word_order": "SVO", "shared_vocab": 0.0, "vocab_size": 60, "seed": 1},
        "target": {"name": "sov", "word_order": "SOV", "adposition": "post", "shared_vocab": 0.0, "vocab_size": 60,
                   "seed": 2},
        "sentences": 400,
    },
    "pretrain": {"objectives": ["mlm"], "epochs": 1, "batch_size": 32, "warmup_steps": 5},
    "align": {"seed_pairs": 20, "min_count": 2, "adversarial_epochs": 1, "adversarial_iterations": 20,
              "adversarial_restarts": 1},
}


@app.command(rich_help_panel=MODELS)
def align(
    config: Optional[Path] = typer.Argument(None, help="YAML config (default: the built-in AlignConfig defaults)"),
    seed_pairs: Optional[int] = typer.Option(None, "--seed-pairs", help="gold pairs given to Procrustes (default 200)"),
    method: Optional[list[str]] = typer.Option(None, "--method", help="procrustes and/or adversarial (repeatable)"),
    vectors: Optional[list[str]] = typer.Option(None, "--vectors", help="input and/or contextual (repeatable)"),
    seeds: Optional[list[int]] = typer.Option(None, "--seed", help="model seeds (repeatable; default 0)"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="results folder (default runs/align)"),
    quick: bool = typer.Option(False, "--quick", help="tiny version for smoke tests (seconds)"),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Train one MLM model per synthetic language (disjoint vocabularies), align their word vectors
    with Procrustes (seed dictionary) and adversarially (none), and score BLI P@1/P@5 on
    held-out gold pairs with nearest-neighbour and CSLS retrieval.

    Example: petra align --quick
    """
    from petra.experiments.align import AlignConfig

    chosen = {"seed_pairs": seed_pairs, "methods": method, "vectors": vectors}
    options: dict[str, Any] = {"align": {key: value for key, value in chosen.items() if value}}
    if seeds:
        options["seeds"] = seeds
    run_align(experiment_config(config, AlignConfig, QUICK_OVERRIDES, quick, output_dir, device, options))


def run_align(cfg, executor=None) -> None:
    """Run an align config's units on ``executor`` (default: local processes), write the results, print the table."""
    finished = drive_with_progress(cfg, executor)
    console.print(_table(finished.outputs, cfg))
    console.print(f"wall time {finished.seconds:.1f} s; results in [bold]{finished.directory}[/bold] "
                  "(metrics.json, results.csv, summary.csv)")
    report_failures(finished.results.failures, "the other units are kept in the store; run the same command again "
                                               "to retry the failed ones")


def _table(summary, cfg) -> Table:
    d = cfg.data
    title = f"BLI {d.source.name} -> {d.target.name} on held-out gold pairs (mean ± std over {len(cfg.seeds)} seed(s))"
    table = Table(title=title)
    for column in ("PE", "vectors", "method", "retrieval", "seed pairs", "test pairs", "P@1", "P@5", "POS@1", "map s"):
        table.add_column(column, justify="left" if column in ("PE", "vectors", "method", "retrieval") else "right")
    for row in summary.itertuples():
        pos = "-" if row.pos_at_1 != row.pos_at_1 else f"{row.pos_at_1:.2f}"
        table.add_row(row.encoding, row.vectors, row.method, row.retrieval, str(row.seed_pairs), f"{row.test_pairs:.0f}",
                      f"{row.p_at_1:.3f}±{row.p_at_1_std:.3f}", f"{row.p_at_5:.3f}±{row.p_at_5_std:.3f}", pos,
                      f"{row.seconds:.1f}")
    return table
