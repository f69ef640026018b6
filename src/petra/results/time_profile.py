"""Where a run's time went: each part of its units (petra.timing, summed over the units this run
trained), the data preparation before them, the workers' time outside any unit, and the share
outside training steps."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

TIME_FILE = "time.csv"
TRAINING = ("pretraining", "readying per source", "fine-tuning", "scratch")  # parts that are training steps
PREPARATION = "data preparation"
IDLE = "workers outside units"  # starting, and waiting while the last units finish (9 units on 2 workers: one idles)


def time_table(profiles: pd.DataFrame, preparation_seconds: float, idle_seconds: float = 0.0) -> pd.DataFrame:
    """One row per part: seconds summed over the units (those stored earlier included), share of all,
    whether it is training; data preparation when this run prepared data, and the local workers' time
    outside units when this run measured it. Empty when no unit kept a profile (stores written
    before profiles were)."""
    if profiles.empty:
        return pd.DataFrame()
    parts = profiles.groupby("part", sort=False)["seconds"].sum()
    extra = {name: seconds for name, seconds in ((PREPARATION, preparation_seconds), (IDLE, idle_seconds)) if seconds > 0}
    if extra:
        parts = pd.concat([pd.Series(extra), parts])
    table = parts.rename("seconds").rename_axis("part").reset_index().sort_values("seconds", ascending=False)
    table["share"] = table["seconds"] / table["seconds"].sum()
    table["training"] = table["part"].isin(TRAINING)
    return table.reset_index(drop=True)


def time_lines(table: pd.DataFrame) -> list[str]:
    if table.empty:
        return []
    outside = table.loc[~table["training"], "share"].sum()
    parts = ", ".join(f"{r.part} {r.seconds:.0f} s ({r.share:.0%})" for r in table.itertuples())
    return [f"{table['seconds'].sum():.0f} s of work (summed over workers), {outside:.0%} of it outside training "
            f"steps: {parts}."]


def time_html(directory: Path) -> str:
    path = directory / TIME_FILE
    lines = time_lines(pd.read_csv(path)) if path.is_file() else []
    return f"<details><summary><b>Where the time went</b> ({TIME_FILE})</summary><p>{html.escape(lines[0])}</p></details>" if lines else ""


def time_md(directory: Path) -> list[str]:
    path = directory / TIME_FILE
    lines = time_lines(pd.read_csv(path)) if path.is_file() else []
    return ["## Where the time went\n", lines[0], ""] if lines else []
