"""`petra pretrain CONFIG`: pretrain one model, on one process or data-parallel under
`accelerate launch --multi_gpu --num_processes K -m petra pretrain CONFIG` (CPU processes on a
machine without GPUs; see petra.experiments.distributed)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from petra.cli.app import DEVICE_HELP, MODELS, app, console
from petra.cli.transfer import DATA_DIR_HELP, load_run_config
from petra.errors import PetraError


@app.command(rich_help_panel=MODELS)
def pretrain(
    config: Path = typer.Argument(..., help="YAML experiment config (its model, data.source and pretrain sections)"),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="PE to use (default: the config's first)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed (default: the config's first)"),
    output_dir: Path = typer.Option(Path("runs/pretrain"), "--output-dir", "-o"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
) -> None:
    """Pretrain on the source language and save model.pt + pretrain.json.

    Example: accelerate launch --multi_gpu --num_processes 2 -m petra pretrain configs/recipes.yaml
    """
    from petra.experiments.distributed import pretrain_accelerated

    cfg = load_run_config(config, None, device)
    name = encoding or cfg.encodings[0]
    if name not in cfg.encodings:
        raise PetraError(f"--encoding {name!r} is not in the config's encodings {cfg.encodings}")
    metrics = pretrain_accelerated(cfg, name, cfg.seeds[0] if seed is None else seed, output_dir, data_dir)
    if metrics["rank"] != 0:
        return  # one report per run, from the main process
    console.print(
        f"{metrics['processes']} process(es), {metrics['steps_per_process']} steps each; loss "
        f"{metrics['first_loss']:.3f} -> {metrics['last_loss']:.3f}; source accuracy {metrics['source_accuracy']:.3f}; "
        f"replicas identical: {metrics['replicas_identical']}"
    )
