"""`petra advise` (which source language to transfer from, for a treebank or a CoNLL-U file) and
`petra advise-eval` (how well that ranking works: leave-one-target-out over the measured matrix)."""

from __future__ import annotations

import math
from importlib.resources import files
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from petra.cli.app import ANALYSIS, app, console
from petra.errors import PetraError

SHIPPED = "advice_matrix.csv"  # the table measured with configs/source_matrix.yaml, shipped in petra/configs/
MATRIX_HELP = ("a finished source x target run (petra run configs/source_matrix.yaml) to learn from; default: the "
               "matrix petra ships, measured with that config")


def load_table(matrix: Path | None, data_dir: Path | None, task: str | None = None) -> tuple[pd.DataFrame, str]:
    """The ranker's training table and a sentence saying where it came from."""
    from petra.results.advice import matrix_table

    if matrix is None:
        table, about = pd.read_csv(files("petra") / "configs" / SHIPPED), "the matrix petra ships (configs/source_matrix.yaml)"
    else:
        cached = matrix / SHIPPED
        if cached.is_file() and cached.stat().st_mtime >= (matrix / "runs.csv").stat().st_mtime:
            table = pd.read_csv(cached)
        else:
            with console.status(f"measuring the features of every pair of {matrix}"):
                table = matrix_table(matrix, str(data_dir) if data_dir else None)
            table.to_csv(cached, index=False)
        about = f"the matrix measured in {matrix}"
    if task is not None:
        if task not in set(table["task"]):
            raise PetraError(f"no measured {task} transfer in {about} (it has: {', '.join(sorted(set(table['task'])))}); "
                             f"run configs/source_matrix.yaml with task {task} and pass --matrix")
        table = table[table["task"] == task]
    pairs, sources, targets = len(table), table["source"].nunique(), table["target"].nunique()
    return table, f"Ranker fitted on {pairs} measured pairs ({sources} sources x {targets} targets) from {about}."


def _target(name: str | None, conllu: Path | None, language: str | None, data_dir: str | None):
    from petra.data.sources.files import split_files
    from petra.data.ud import find_treebank, read_conllu
    from petra.results.advice import language_from_splits

    if (name is None) == (conllu is None):
        raise PetraError("give a target treebank name or --conllu PATH (one of the two)")
    if conllu is not None:
        paths = split_files(conllu) if conllu.is_dir() else {"test": conllu}
        label = language or conllu.stem
        splits = {split: read_conllu(path, lang=label) for split, path in paths.items()}
        return language_from_splits(label, splits, "target", language)
    bank = find_treebank(name, data_dir)
    label = bank.name.removeprefix("UD_")
    return language_from_splits(label, {s: bank.read(s) for s in bank.splits}, "target", language or label)


def _candidates(target: str, data_dir: str | None, cap: int | None) -> dict:
    from petra.data.ud import list_treebanks
    from petra.results.advice import MIN_SOURCE_SENTENCES, language_from_splits

    found = {}
    for bank in list_treebanks(data_dir):
        name = bank.name.removeprefix("UD_")
        split = "train" if "train" in bank.splits else "dev" if "dev" in bank.splits else None
        if name == target or split is None:
            continue
        sentences = bank.read(split)
        if len(sentences) >= MIN_SOURCE_SENTENCES:
            found[name] = language_from_splits(name, {split: sentences}, "source", name, cap)
    return found


def _fmt(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


@app.command(rich_help_panel=ANALYSIS)
def advise(
    target: Optional[str] = typer.Argument(None, help="the target treebank (Wolof-WTB); or give --conllu"),
    conllu: Optional[Path] = typer.Option(None, "--conllu", help="the target as your own CoNLL-U file (or a folder "
                                          "of *-train/dev/test.conllu files)"),
    language: Optional[str] = typer.Option(None, "--language", help="the target's language (name or ISO 639 code) "
                                           "for URIEL distances; default: the treebank's"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/: every treebank with "
                                            "200+ train (else dev) sentences is a candidate source; default $PETRA_DATA"),
    results: list[Path] = typer.Option([], "--results", help="result stores (petra run folders) whose claims say "
                                       "which PE and recipe to use; repeatable"),
    task: str = typer.Option("upos", "--task", help="the task transfer was measured on (upos, parse, ...)"),
    matrix: Optional[Path] = typer.Option(None, "--matrix", help=MATRIX_HELP),
    outcome: str = typer.Option("k_shot", "--outcome", help="what is predicted: k_shot (accuracy after fine-tuning "
                                "on k target sentences, the matrix's k) or zero_shot"),
    ranker: str = typer.Option("lambdarank", "--ranker", help="lambdarank, ridge, feature:<name>, english"),
    output_dir: Path = typer.Option(Path("runs/advice"), "--output-dir", "-o", help="advice.csv/.md/.html/.png"),
) -> None:
    """Rank source languages for a low-resource target from measured distances and measured transfer.

    Example: petra advise Wolof-WTB --data-dir ../shared/data --results runs/ud_lowres
    """
    from petra.results.advice import OUTCOMES, advise as rank, evidence, make_ranker
    from petra.results.advice_outputs import answer_lines, write_advice

    if outcome not in OUTCOMES:
        raise PetraError(f"--outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    make_ranker(ranker)  # an unknown ranker is refused before any reading
    for store in results:
        if not (store / "runs.csv").is_file():
            raise PetraError(f"--results {store}: not a petra results folder (no runs.csv)")
    table, about = load_table(matrix, data_dir, task)
    where = str(data_dir) if data_dir else None
    with console.status("reading the target and every candidate source"):
        goal = _target(target, conllu, language, where)
        cap = table["source_cap"].max() if "source_cap" in table else None  # sources as large as the matrix's
        candidates = _candidates(goal.name, where, int(cap) if pd.notna(cap) else None)
    with console.status("ranking"):
        advice = rank(goal, candidates, table, outcome, ranker, where)
        lines = evidence(goal, results, where)
    shown = Table(title=f"Sources for {goal.name} (predicted {outcome.replace('_', '-')} accuracy, 90% interval)",
                  title_justify="left")
    for column in ("rank", "source", "predicted", "interval", "words", "chars", "combined", "URIEL syn"):
        shown.add_column(column, justify="left" if column == "source" else "right")
    for _, r in advice.ranking.head(10).iterrows():
        shown.add_row(str(r["rank"]), r["source"], _fmt(r["predicted"]),
                      f"[{_fmt(r['predicted_low'])}, {_fmt(r['predicted_high'])}]", _fmt(r["word_overlap"]),
                      _fmt(r["char_coverage"]), _fmt(r["combined"]), _fmt(r["uriel.syntactic"]))
    console.print(shown)
    for line in answer_lines(advice, lines):
        console.print(f"  {line}", highlight=False)
    written = write_advice(output_dir, advice, lines, about)
    console.print(f"{about}\nwrote {', '.join(str(p) for p in written)}", highlight=False)


@app.command("advise-eval", rich_help_panel=ANALYSIS)
def advise_eval(
    matrix: Optional[Path] = typer.Option(None, "--matrix", help=MATRIX_HELP),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/ (default $PETRA_DATA)"),
    task: str = typer.Option("upos", "--task", help="the task transfer was measured on"),
    outcome: str = typer.Option("k_shot", "--outcome", help="k_shot or zero_shot"),
    output_dir: Path = typer.Option(Path("runs/advice_eval"), "--output-dir", "-o", help="leave_one_out.csv, features.csv"),
) -> None:
    """How well source ranking works: leave-one-target-out NDCG@3 and Spearman of every ranker and baseline.

    Example: petra advise-eval --matrix runs/source_matrix --data-dir ../shared/data
    """
    from petra.results.advice import evaluate, feature_signal
    from petra.results.advice_outputs import write_evaluation

    table, about = load_table(matrix, data_dir, task)
    with console.status("leave-one-target-out"):
        scores, signal = evaluate(table, outcome), feature_signal(table, outcome)
    shown = Table(title=f"Leave-one-target-out ranking of {outcome.replace('_', '-')} transfer", title_justify="left")
    for column in ("ranker", "NDCG@3", "95% CI", "Spearman", "95% CI"):
        shown.add_column(column, justify="left" if column == "ranker" else "right")
    for _, r in scores.iterrows():
        shown.add_row(r["ranker"], _fmt(r["ndcg@3"]), f"[{_fmt(r['ndcg@3_ci_low'])}, {_fmt(r['ndcg@3_ci_high'])}]",
                      _fmt(r["spearman"]), f"[{_fmt(r['spearman_ci_low'])}, {_fmt(r['spearman_ci_high'])}]")
    console.print(shown)
    console.print(f"{about}\nwrote {', '.join(str(p) for p in write_evaluation(output_dir, scores, signal))}",
                  highlight=False)
