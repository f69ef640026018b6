"""`petra predict`: a kept parser's CoNLL-U predictions for a target's test sentences."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from petra.cli.app import MODELS, app, console
from petra.cli.transfer import DATA_DIR_HELP


@app.command("predict", rich_help_panel=MODELS)
def predict_conllu(
    results: Path = typer.Argument(..., help="results folder of a parsing run (task.type: parse)"),
    target: str = typer.Option(..., "--target", help="target language whose test sentences to parse"),
    encoding: str = typer.Option(..., "--encoding", help="the model's PE"),
    recipe: str = typer.Option("full", "--recipe", help="its recipe (zero_shot: the pretrained model)"),
    source: Optional[str] = typer.Option(None, "--source", help="its source language (needed when several)"),
    shots: Optional[int] = typer.Option(None, "--shots", help="its k (default: the largest kept)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="its seed (default: the best kept)"),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="folder for predicted.conllu and gold.conllu"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Parse a target's test sentences with a kept model; CoNLL-U for the CoNLL 2018 scorer.

    Example: petra predict runs/ud_parse --target Wolof-WTB --encoding rope -o wolof-parses --data-dir ../shared/data
    """
    from petra.results.kept_models import Choice
    from petra.results.predictions import predict

    done = predict(results, Choice(target, encoding, recipe, source, shots, seed), output_dir, data_dir)
    scores = ", ".join(f"{name.upper().replace('_NOPUNCT', ' without punctuation')} {done[name]:.3f}"
                       for name in done["metrics"])
    console.print(f"{done['sentences']} sentences of {target} predicted by {recipe} {encoding} from {done['source']} "
                  f"(k = {done['shots']}, seed {done['seed']}): {scores}")
    console.print(f"-> {done['predicted']} and {done['gold']}; score with: python conll18_ud_eval.py -v "
                  f"{done['gold']} {done['predicted']}")
