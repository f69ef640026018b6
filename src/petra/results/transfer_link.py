"""The transfer link of a results folder (petra.metrics.transfer_link), read and written: its runs
selected by encoding and recipe, the pair and correlation tables, and the distance-vs-gain figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from petra.errors import PetraError
from petra.metrics.transfer_link import TransferLink, link
from petra.results.figures import distance_vs_gain, save
from petra.results.report import read_runs

PLOTTED = ("combined", "word_order.wasserstein", "head_direction.wasserstein", "uriel.syntactic")


def load_runs(results: Path, encodings: list[str] | None = None, recipes: list[str] | None = None) -> pd.DataFrame:
    path, runs = results / "runs.csv", read_runs(results)
    if "gain" not in runs.columns:
        runs["gain"] = runs["accuracy"] - runs["scratch_accuracy"]
    for column, wanted in (("encoding", encodings), ("recipe", recipes)):
        if wanted:
            if column not in runs.columns:
                raise PetraError(f"{path}: no {column!r} column to select {wanted} from")
            runs = runs[runs[column].isin(wanted)]
    if runs.empty:
        raise PetraError(f"{path}: no runs left after selecting encodings={encodings} recipes={recipes}")
    return runs


def folder_link(results: Path, data_dir: str | None = None, source: str | None = None,
                encodings: list[str] | None = None, recipes: list[str] | None = None,
                shots: int | None = None) -> TransferLink:
    """The link of the results folder ``results`` (its runs of ``encodings`` and ``recipes``)."""
    return link(load_runs(results, encodings, recipes), results, data_dir, source, shots)


def write_link(results: Path, out: Path, data_dir: str | None = None, source: str | None = None,
               encodings: list[str] | None = None, recipes: list[str] | None = None,
               shots: int | None = None) -> TransferLink:
    """:func:`folder_link`, written into ``out``: the pair and correlation tables and distance_vs_gain.png."""
    result = folder_link(results, data_dir, source, encodings, recipes, shots)
    result.languages.to_csv(out / "transfer_link_languages.csv", index=False)
    result.correlations.to_csv(out / "transfer_link.csv", index=False)
    plotted = [c for c in PLOTTED if c in result.languages.columns]
    save(distance_vs_gain(result.languages, plotted, result.source), out / "distance_vs_gain.png")
    return result
