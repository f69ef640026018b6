"""`petra hf-surgery`, `petra hf-tiny`: Hugging Face models with petra's PEs (a pretrained encoder is
fine-tuned and transferred by `petra run` with `model.pretrained`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List, Optional

import typer
import yaml

from petra.cli.app import MODELS, app, console
from petra.encodings import DEFAULT_ENCODING
from petra.errors import PetraError


def _quiet_hf() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def _options(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values parsed as YAML scalars (``2048`` -> int, ``true`` -> bool)."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PetraError(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def _output_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PetraError(f"output folder {path} cannot be created: {exc.strerror}") from None
    return path


@app.command("hf-surgery", rich_help_panel=MODELS)
def hf_surgery(
    model_dir: Path = typer.Argument(..., help="local BERT / RoBERTa / XLM-R / DistilBERT folder"),
    pe: str = typer.Option(..., "--pe", help="petra PE to put in (see `petra encodings`)"),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="where the new model is saved"),
    option: Optional[List[str]] = typer.Option(None, "--option", help="PE option KEY=VALUE"),
    task: str = typer.Option("auto", "--task", help="head to load: auto (as saved), base, mlm, token, sequence"),
) -> None:
    """Swap a pretrained model's position embeddings for a petra PE and save it.

    Example: petra hf-surgery runs/tiny-bert --pe rope -o runs/tiny-bert-rope
    """
    import torch

    from petra.hf.surgery import AUTO_CLASSES, load_model, position_parameter_names, replace_position_encoding

    _quiet_hf()
    task = _saved_task(model_dir) if task == "auto" else task
    if task not in AUTO_CLASSES:
        raise PetraError(f"--task must be auto or one of {', '.join(AUTO_CLASSES)}, got {task!r}")
    model = load_model(model_dir, task)  # type: ignore[arg-type]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    old_keys = position_parameter_names(model)
    replace_position_encoding(model, pe, _options(option))
    after = model.state_dict()
    kept = [k for k in before if k not in old_keys]
    unchanged = sum(torch.equal(before[k], after[k]) for k in kept)
    out = _output_dir(output_dir)
    model.save_pretrained(out)
    _copy_tokenizer(model_dir, out)
    console.print(f"{type(model).__name__}: position table {sorted(old_keys)} -> petra PE {pe!r} "
                  f"(scale {model.config.petra_pe['scale']:.4g}); {unchanged}/{len(kept)} other tensors unchanged")
    console.print(f"saved to [bold]{out}[/bold]; load with petra.hf.load_model(path, task)")


def _saved_task(model_dir: Path) -> str:
    """The head the checkpoint was saved with (``architectures`` in config.json), so none is lost or invented."""
    try:
        names = json.loads((model_dir / "config.json").read_text()).get("architectures") or []
    except (OSError, json.JSONDecodeError) as exc:
        raise PetraError(f"{model_dir / 'config.json'}: cannot read ({exc})") from None
    for marker, task in (("MaskedLM", "mlm"), ("ForPreTraining", "mlm"), ("TokenClassification", "token"),
                         ("SequenceClassification", "sequence")):
        if any(marker in name for name in names):
            return task
    return "base"


def _copy_tokenizer(source: Path, target: Path) -> None:
    from transformers import AutoTokenizer

    try:
        AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(target)
    except (OSError, ValueError):
        console.print(f"[yellow]no tokenizer in {source}; saved the model only[/yellow]")


@app.command("hf-tiny", rich_help_panel=MODELS)
def hf_tiny(
    output_dir: Path = typer.Argument(..., help="folder for the model and its tokenizer"),
    arch: str = typer.Option("bert", "--arch", help="bert, roberta, xlm-roberta, distilbert or petra"),
    treebank: str = typer.Option("English-EWT", "--treebank", help="text source: this treebank's train split"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/ (or set PETRA_DATA)"),
    sentences: int = typer.Option(5000, "--sentences", help="sentences of text for tokenizer and MLM"),
    vocab_size: int = typer.Option(4000, "--vocab-size"),
    hidden: int = typer.Option(128, "--hidden"),
    layers: int = typer.Option(2, "--layers"),
    heads: int = typer.Option(4, "--heads"),
    encoding: str = typer.Option(DEFAULT_ENCODING, "--encoding", help="PE of a petra model (--arch petra)"),
    mlm_steps: int = typer.Option(0, "--mlm-steps", help="masked-LM pretraining steps with the HF Trainer"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Build a tiny model + tokenizer from treebank text, optionally MLM-pretrain it, save it.

    Example: petra hf-tiny runs/tiny-bert --arch bert --data-dir ../shared/data
    """
    from petra.data.ud import find_treebank
    from petra.models.hf_tiny import ARCHS, build_tiny_model, pretrain_mlm

    _quiet_hf()
    if arch not in ARCHS:
        raise PetraError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    texts = [" ".join(s.words) for s in find_treebank(treebank, data_dir).read("train")[:sentences]]
    start = time.perf_counter()
    out = build_tiny_model(_output_dir(output_dir), texts, arch, vocab_size, hidden, layers, heads, 4 * hidden,
                           encoding=encoding, seed=seed)  # type: ignore[arg-type]
    message = f"{arch} model (hidden {hidden}, {layers} layers) and tokenizer saved to [bold]{out}[/bold]"
    if mlm_steps:
        loss = pretrain_mlm(out, texts, mlm_steps, seed=seed)
        message += f"; MLM loss after {mlm_steps} steps {loss:.3f}"
    console.print(f"{message} ({time.perf_counter() - start:.1f} s)")


@app.command("export", rich_help_panel=MODELS)
def export_model(
    results: Path = typer.Argument(..., help="results folder of `petra run` / `petra demo`"),
    target: str = typer.Option(..., "--target", help="target language the model was fine-tuned for"),
    encoding: str = typer.Option(..., "--encoding", help="its PE"),
    recipe: str = typer.Option("full", "--recipe", help="its recipe (zero_shot: the pretrained model)"),
    source: Optional[str] = typer.Option(None, "--source", help="its source language (needed when several)"),
    shots: Optional[int] = typer.Option(None, "--shots", help="its k (default: the largest kept)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="its seed (default: the best kept)"),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Hugging Face model folder to write"),
) -> None:
    """A model the run kept (run.keep_models) as a Hugging Face folder for pipeline(...).

    Example: petra export runs/ud_lowres --target Uyghur-UDT --encoding rope --source English-EWT -o uyghur-pos
    """
    from petra.results.export import Choice, export

    done = export(results, Choice(target, encoding, recipe, source, shots, seed), _output_dir(output_dir))
    console.print(f"{done['recipe']} {done['encoding']} from {done['source']}, k = {done['shots']}, seed {done['seed']} "
                  f"(accuracy {done['accuracy']:.3f} on {target}) -> [bold]{output_dir}[/bold]; "
                  f"use pipeline(\"{done['pipeline']}\", model=\"{output_dir}\") after `import petra.models.hf_model`")
    if "note" in done:
        console.print(f"[yellow]{done['note']}[/yellow]")
