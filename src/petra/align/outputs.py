"""The results folder of ``petra align``: resolved config, every record, a summary table."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import yaml

from petra.align.experiment import AlignConfig, AlignRecord

KEYS = ["vectors", "method", "retrieval"]


def records_frame(records: list[AlignRecord]) -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in records])


def summary_frame(records: list[AlignRecord]) -> pd.DataFrame:
    """Mean and std over seeds of P@1, P@5 and POS@1 per (vectors, method, retrieval)."""
    frame = records_frame(records)
    grouped = frame.groupby(KEYS, sort=False)
    out = grouped.agg(
        seeds=("seed", "nunique"), seed_pairs=("seed_pairs", "first"), test_pairs=("test_pairs", "mean"),
        p_at_1=("p_at_1", "mean"), p_at_1_std=("p_at_1", "std"), p_at_5=("p_at_5", "mean"),
        p_at_5_std=("p_at_5", "std"), pos_at_1=("pos_at_1", "mean"), seconds=("seconds", "mean"),
    ).reset_index()
    return out.fillna({"p_at_1_std": 0.0, "p_at_5_std": 0.0})


def _json_safe(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_outputs(
    out: Path, cfg: AlignConfig, records: list[AlignRecord], trainings: list[dict], wall_seconds: float,
) -> pd.DataFrame:
    """config.yaml, results.json (records, summary, training, wall time), results.csv, summary.csv."""
    summary = summary_frame(records)
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    records_frame(records).to_csv(out / "results.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    payload = {
        "config": cfg.model_dump(mode="json"), "wall_seconds": wall_seconds, "training": trainings,
        "records": [asdict(r) for r in records], "summary": summary.to_dict(orient="records"),
    }
    (out / "results.json").write_text(json.dumps(_json_safe(payload), indent=2))
    return summary
