"""The results folder of ``petra align``: resolved config, every record, a summary table."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from petra.experiments.align import AlignConfig, AlignRecord, AlignResults
from petra.results.writer import records, write_results

KEYS = ["encoding", "vectors", "method", "retrieval"]


def records_frame(records: list[AlignRecord]) -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in records])


def summary_frame(records: list[AlignRecord]) -> pd.DataFrame:
    """Mean and std over seeds of P@1, P@5 and POS@1 per (encoding, vectors, method, retrieval)."""
    frame = records_frame(records)
    grouped = frame.groupby(KEYS, sort=False)
    out = grouped.agg(
        seeds=("seed", "nunique"), seed_pairs=("seed_pairs", "first"), test_pairs=("test_pairs", "mean"),
        p_at_1=("p_at_1", "mean"), p_at_1_std=("p_at_1", "std"), p_at_5=("p_at_5", "mean"),
        p_at_5_std=("p_at_5", "std"), pos_at_1=("pos_at_1", "mean"), seconds=("seconds", "mean"),
    ).reset_index()
    return out.fillna({"p_at_1_std": 0.0, "p_at_5_std": 0.0})


def write_outputs(out: Path, cfg: AlignConfig, result: AlignResults, wall_seconds: float) -> pd.DataFrame:
    """config.yaml, metrics.json (records, summary, training, wall time, failures), results.csv, summary.csv."""
    summary = summary_frame(result.records)
    metrics = {"wall_seconds": round(wall_seconds, 2), "training": result.trainings,
               "records": [asdict(r) for r in result.records], "summary": records(summary), "failures": result.failures}
    write_results(out, cfg, metrics, {"results.csv": records_frame(result.records), "summary.csv": summary})
    return summary
