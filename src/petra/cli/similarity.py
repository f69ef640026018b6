"""`petra similarity`, `petra diversity` and `petra transfer-link`: how close languages are, how
diverse a training mix is, and whether closeness predicts transfer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from petra.cli.app import ANALYSIS, app, console

DEFAULT_PRINTED = ("word_order.wasserstein", "head_direction.js", "dependency_length.wasserstein", "upos_bigram.js")


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _matrix_table(title: str, matrix: pd.DataFrame) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for column in matrix.columns:
        table.add_column(str(column), justify="right", overflow="fold")  # long names wrap, not "…"
    for name, row in matrix.iterrows():
        table.add_row(str(name), *(_fmt(v) for v in row))
    return table


@app.command(rich_help_panel=ANALYSIS)
def similarity(
    languages: list[str] = typer.Argument(..., help="UD treebank names (English-EWT) or synthetic:ORDER[,key=value...]"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/ (default: $PETRA_DATA)"),
    output_dir: Path = typer.Option(Path("runs/similarity"), "--output-dir", "-o", help="CSV + heat-map PNG folder"),
    show: list[str] = typer.Option(
        list(DEFAULT_PRINTED), "--show", help="feature.measure matrices to print (all are written)"),
    max_sentences: Optional[int] = typer.Option(None, "--max-sentences", help="cap per treebank (default: all splits)"),
    sentences: int = typer.Option(2000, "--sentences", min=1, help="sentences generated per synthetic language"),
    uriel: list[str] = typer.Option(["syntactic"], "--uriel", help="URIEL distance kinds to print; 'none' to skip"),
) -> None:
    """Distance matrices between languages: structure profiles (KL, JS, Wasserstein, combined) and URIEL.

    Example: petra similarity English-EWT Turkish-IMST synthetic:SOV --data-dir ../shared/data
    """
    from petra.metrics.similarity import COMBINED, distance_matrices
    from petra.metrics.structure import language_profile
    from petra.results.writer import prepare_output_dir

    kinds = _check_similarity_options(languages, show, uriel)
    out = prepare_output_dir(output_dir)
    with console.status("profiling languages"):
        profiles = [
            language_profile(lang, str(data_dir) if data_dir else None, max_sentences, sentences) for lang in languages
        ]
    _print_profiles(profiles)
    matrices = distance_matrices(profiles)
    uriel_matrices = _uriel_matrices(languages, data_dir) if kinds else {}
    for name in (COMBINED, *show):
        console.print(_matrix_table(f"{name} (row = P, column = Q)", matrices[name]))
    for kind in kinds if uriel_matrices else []:
        console.print(_matrix_table(f"uriel.{kind} (angular distance, URIEL+)", uriel_matrices[f"uriel.{kind}"]))
    _write_similarity(out, matrices, uriel_matrices)
    console.print(f"matrices (CSV) and heat maps (PNG) in [bold]{out}[/bold]")


def _check_similarity_options(languages: list[str], show: list[str], uriel: list[str]) -> list[str]:
    """Validate before any work; returns the URIEL kinds to print."""
    from petra.errors import PetraError
    from petra.metrics.similarity import MEASURES, URIEL_KINDS
    from petra.metrics.structure import FEATURES

    if len(languages) < 2:
        raise PetraError("give at least two languages to compare")
    unknown = sorted(set(show) - {f"{f}.{m}" for f in FEATURES for m in MEASURES})
    if unknown:
        raise PetraError(f"--show: unknown matrix {unknown}; use FEATURE.MEASURE from {FEATURES} x {MEASURES}")
    kinds = [] if uriel == ["none"] else uriel
    bad = sorted(set(kinds) - set(URIEL_KINDS))
    if bad:
        raise PetraError(f"--uriel: unknown kind {bad}; expected 'none' or any of {', '.join(URIEL_KINDS)}")
    return kinds


def _uriel_matrices(languages: list[str], data_dir: Path | None) -> dict[str, pd.DataFrame]:
    """Every URIEL kind between the real languages (synthetic ones have no URIEL entry)."""
    from petra.errors import PetraError
    from petra.metrics.similarity import URIEL_KINDS, uriel_matrix
    from petra.metrics.structure import SYNTHETIC_PREFIX

    real = [lang for lang in languages if not lang.startswith(SYNTHETIC_PREFIX)]
    if len(real) < len(languages):
        console.print("URIEL: synthetic languages have no URIEL entry; comparing the real ones only")
    if len(real) < 2:
        return {}
    try:
        return {f"uriel.{k}": uriel_matrix(real, k, data_dir) for k in URIEL_KINDS}
    except PetraError as exc:
        raise PetraError(f"{exc} (or pass --uriel none)") from None


def _write_similarity(out: Path, matrices: dict[str, pd.DataFrame], uriel_matrices: dict[str, pd.DataFrame]) -> None:
    from petra.metrics.similarity import COMBINED, MEASURES
    from petra.metrics.structure import FEATURES
    from petra.results.figures import heatmaps, save

    for name, matrix in {**matrices, **uriel_matrices}.items():
        matrix.to_csv(out / f"{name}.csv")
    for feature in FEATURES:
        save(heatmaps({m: matrices[f"{feature}.{m}"] for m in MEASURES}, feature, _fmt), out / f"{feature}.png")
    save(heatmaps({COMBINED: matrices[COMBINED]}, "combined (mean JS distance)", _fmt), out / "combined.png")
    if uriel_matrices:
        save(heatmaps(uriel_matrices, "URIEL+ angular distances", _fmt), out / "uriel.png")


def _print_profiles(profiles) -> None:
    table = Table(title="structure profiles", title_justify="left")
    for column in ("language", "sentences", "tokens", "S-V-O clauses", "dominant", "order shares", "mean dep. length"):
        table.add_column(column, justify="left" if column in ("language", "dominant", "order shares") else "right")
    for p in profiles:
        ranked = sorted(p.order_shares().items(), key=lambda x: -x[1])
        shares = ", ".join(f"{o} {s:.2f}" for o, s in ranked if s >= 0.01)
        table.add_row(p.name, str(p.sentences), str(p.tokens), str(p.clauses), p.dominant_order() or "—",
                      shares, f"{p.mean_dependency_length():.2f}")
    console.print(table)


@app.command(rich_help_panel=ANALYSIS)
def diversity(
    config: Path = typer.Argument(..., help="transfer config YAML (source + targets) or a list of UD treebanks"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/ (default: $PETRA_DATA)"),
) -> None:
    """Diversity of a training mix: language entropy, effective number of languages, MI, coverage.

    Example: petra diversity configs/multilingual.yaml
    """
    from petra.metrics.diversity import diversity as measure
    from petra.metrics.diversity import load_mix

    with console.status("profiling the mix"):
        mix = load_mix(config, str(data_dir) if data_dir else None)
    d = measure(mix)
    _print_profiles(mix)
    total = sum(d.tokens)
    table = Table(title=f"diversity of {config}", title_justify="left")
    table.add_column("statistic")
    table.add_column("value")
    rows = [
        ("languages", str(len(d.languages))),
        ("token shares", ", ".join(f"{n} {t / total:.2f}" for n, t in zip(d.languages, d.tokens))),
        ("entropy H(L) by tokens", f"{d.entropy_bits:.3f} bits (max {d.max_entropy_bits:.3f})"),
        ("effective number of languages 2^H", f"{d.effective_languages:.2f}"),
        ("I(language; basic order)",
         f"{d.word_order_mi_bits:.3f} bits (plug-in bias ≈ {d.word_order_mi_bias_bits:.3f})"),
        ("I(language; head direction | relation)", f"{d.head_direction_mi_bits:.3f} bits"),
        ("dominant orders", ", ".join(f"{n} {o or '—'}" for n, o in zip(d.languages, d.dominant_orders))),
        ("order types covered (dominant)", f"{len(d.covered_orders)}/6 {' '.join(d.covered_orders)}"),
        ("order types attested (≥10% of a language)", f"{len(d.attested_orders)}/6 {' '.join(d.attested_orders)}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


@app.command("transfer-link", rich_help_panel=ANALYSIS)
def transfer_link(
    results: Path = typer.Argument(..., help="results folder with runs.csv and config.yaml"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder holding ud/ (UD results)"),
    source: Optional[str] = typer.Option(None, "--source", help="source treebank (default: from config.yaml)"),
    encoding: Optional[list[str]] = typer.Option(None, "--encoding", help="only these PEs (default: all)"),
    recipe: Optional[list[str]] = typer.Option(None, "--recipe", help="only these recipes (default: all)"),
    shots: Optional[int] = typer.Option(
        None, "--shots", help="UD-POS results: the k whose gain is used (default: smallest k > 0)"),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="default: the results folder"),
) -> None:
    """Spearman ρ (bootstrap CI) of each source→target distance with gain, seed variance, zero-shot accuracy.

    Example: petra transfer-link runs/ud_lowres --data-dir ../shared/data
    """
    from petra.results.transfer_link import PLOTTED, write_link
    from petra.results.writer import prepare_output_dir

    out = prepare_output_dir(output_dir or results)
    with console.status("profiling languages and correlating"):
        result = write_link(results, out, str(data_dir) if data_dir else None, source, encoding, recipe, shots)
    plotted = [c for c in PLOTTED if c in result.languages.columns]
    console.print(_languages_table(result.languages, plotted, result.source))
    console.print(_correlation_table(result.correlations))
    console.print(f"tables and distance_vs_gain.png in [bold]{out}[/bold]")


def _languages_table(languages: pd.DataFrame, distances: list[str], source: str) -> Table:
    table = Table(title=f"per (source, target) pair (sources: {source}): gain mean ± std across seeds", title_justify="left")
    for column in ("source", "target", "seeds", "gain", "seed var", "zero-shot", *distances):
        table.add_column(column, justify="left" if column in ("source", "target") else "right", overflow="fold")
    for _, row in languages.iterrows():
        gain = "—" if math.isnan(row["gain_mean"]) else f"{row['gain_mean']:+.3f}±{row['gain_std']:.3f}"
        table.add_row(str(row["source"]), str(row["target"]), str(row["seeds"]), gain, _fmt(row["seed_variance"], 5),
                      _fmt(row["zero_shot_mean"]), *(_fmt(row[d]) for d in distances))
    return table


def _correlation_table(correlations: pd.DataFrame) -> Table:
    from petra.metrics.transfer_link import OUTCOMES

    table = Table(title="Spearman ρ over (source, target) pairs [95% bootstrap CI] (n pairs)", title_justify="left")
    table.add_column("distance")
    for outcome in OUTCOMES:
        table.add_column(f"ρ(distance, {outcome.replace('_', ' ')})", justify="right")
    for distance, rows in correlations.groupby("distance", sort=False):
        cells = []
        for outcome in OUTCOMES:
            r = rows[rows["outcome"] == outcome].iloc[0]
            cells.append(f"{_fmt(r['rho'], 2)} [{_fmt(r['ci_low'], 2)}, {_fmt(r['ci_high'], 2)}] ({r['pairs']})")
        table.add_row(distance, *cells)
    return table
