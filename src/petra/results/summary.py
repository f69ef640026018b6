"""From run records to the tables a person reads: mean ± std per PE and recipe, gain vs scratch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import pandas as pd

from petra.experiments.transfer import RunRecord

GROUP = ["target", "encoding", "recipe"]


def records_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    frame = pd.DataFrame([asdict(r) for r in records])
    frame["gain"] = frame["accuracy"] - frame["scratch_accuracy"]
    return frame


def summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, encoding, recipe); std is the sample std over seeds (0 for one seed).

    ``negative_transfer`` flags a mean gain below zero: pretraining made the target worse than
    training from scratch on the same data and budget.
    """
    grouped = runs.groupby(GROUP, sort=False)
    summary = grouped.agg(
        seeds=("seed", "nunique"),
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        scratch_mean=("scratch_accuracy", "mean"),
        zero_shot_mean=("zero_shot_accuracy", "mean"),
        gain_mean=("gain", "mean"),
        gain_std=("gain", "std"),
        source_accuracy_mean=("source_accuracy", "mean"),
    ).reset_index()
    summary[["accuracy_std", "gain_std"]] = summary[["accuracy_std", "gain_std"]].fillna(0.0)
    summary["negative_transfer"] = summary["gain_mean"] < 0
    return summary.sort_values("target", kind="stable", ignore_index=True)
