"""Where a run's time went: each part of its units (petra.timing, summed over the units this run
trained), the data preparation before them, and the share outside training steps."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

TIME_FILE = "time.csv"
TRAINING = ("pretraining", "readying per source", "fine-tuning", "scratch")  # parts that are training steps
PREPARATION = "data preparation"


def time_table(profiles: pd.DataFrame, preparation_seconds: float) -> pd.DataFrame:
    """One row per part: seconds summed over the units (those stored earlier included), share of all,
    whether it is training; data preparation when this run prepared data. Empty when no unit kept a
    profile (stores written before profiles were)."""
    if profiles.empty:
        return pd.DataFrame()
    parts = profiles.groupby("part", sort=False)["seconds"].sum()
    if preparation_seconds > 0:
        parts = pd.concat([pd.Series({PREPARATION: preparation_seconds}), parts])
    table = parts.rename("seconds").rename_axis("part").reset_index().sort_values("seconds", ascending=False)
    table["share"] = table["seconds"] / table["seconds"].sum()
    table["training"] = table["part"].isin(TRAINING)
    return table.reset_index(drop=True)


def time_lines(table: pd.DataFrame) -> list[str]:
    if table.empty:
        return []
    outside = table.loc[~table["training"], "share"].sum()
    parts = ", ".join(f"{r.part} {r.seconds:.0f} s ({r.share:.0%})" for r in table.itertuples())
    return [f"{table['seconds'].sum():.0f} s of work (units summed over workers), {outside:.0%} of it outside training "
            f"steps: {parts}."]


def time_html(directory: Path) -> str:
    path = directory / TIME_FILE
    lines = time_lines(pd.read_csv(path)) if path.is_file() else []
    return f"<details><summary><b>Where the time went</b> ({TIME_FILE})</summary><p>{html.escape(lines[0])}</p></details>" if lines else ""


def time_md(directory: Path) -> list[str]:
    path = directory / TIME_FILE
    lines = time_lines(pd.read_csv(path)) if path.is_file() else []
    return ["## Where the time went\n", lines[0], ""] if lines else []
