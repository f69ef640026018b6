"""Results folder of a UD-POS run: resolved config, tokenizer, per-run and summary tables, a plot.

Same layout as ``petra.results.outputs`` (config.yaml, metrics.json, runs.csv, summary.csv, a PNG),
plus ``tokenizer/tokenizer.json`` so the sub-word vocabulary travels with the numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import pandas as pd
import yaml

from petra.experiments.udpos import UdPosConfig, UdPosRecord, UnitResult
from petra.experiments.udpos_data import UdPosData

GROUP = ["target", "encoding", "shots"]


@dataclass(frozen=True)
class UdPosOutputs:
    directory: Path
    source: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame


def records_frame(records: Sequence[UdPosRecord]) -> pd.DataFrame:
    columns = list(UdPosRecord.__dataclass_fields__)
    frame = pd.DataFrame([asdict(r) for r in records], columns=columns)
    frame["gain"] = frame["accuracy"] - frame["scratch_accuracy"]
    return frame


def summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds per (target, encoding, k); gain = transfer - scratch."""
    summary = runs.groupby(GROUP, sort=False).agg(
        seeds=("seed", "nunique"),
        accuracy_mean=("accuracy", "mean"),
        accuracy_std=("accuracy", "std"),
        scratch_mean=("scratch_accuracy", "mean"),
        scratch_std=("scratch_accuracy", "std"),
        gain_mean=("gain", "mean"),
        gain_std=("gain", "std"),
        source_accuracy_mean=("source_accuracy", "mean"),
        train_sentences=("train_sentences", "max"),
        pool_split=("pool_split", "first"),
    ).reset_index()
    stds = ["accuracy_std", "scratch_std", "gain_std"]
    summary[stds] = summary[stds].where(summary["seeds"] > 1, 0.0)
    return summary.sort_values(["target", "shots"], kind="stable", ignore_index=True)


def plot_curves(runs: pd.DataFrame, path: Path) -> Path:
    """One panel per target: accuracy vs k per PE (solid, mean ± std), scratch (dashed)."""
    targets = list(dict.fromkeys(runs["target"]))
    encodings = list(dict.fromkeys(runs["encoding"]))
    cols = min(len(targets), 5)
    rows = math.ceil(len(targets) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), sharey=True, squeeze=False)
    for ax, target in zip(axes.flat, targets):
        sub = runs[runs["target"] == target]
        for i, encoding in enumerate(encodings):
            stats = sub[sub["encoding"] == encoding].groupby("shots")[["accuracy", "scratch_accuracy"]].agg(["mean", "std"])
            x = [str(k) for k in stats.index]
            color = f"C{i}"
            ax.errorbar(x, stats["accuracy"]["mean"], yerr=stats["accuracy"]["std"].fillna(0), color=color,
                        marker="o", ms=3, capsize=2, label=encoding)
            # markers too: scratch has no k = 0 point, so with one k > 0 a bare line would not show
            ax.plot(x, stats["scratch_accuracy"]["mean"], color=color, ls="--", lw=1, marker="x", ms=5)
        ax.set_title(target.removeprefix("UD_"), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(targets):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("POS accuracy")
    axes.flat[0].legend(fontsize=7, title="dashed / x: scratch", title_fontsize=7)
    fig.supxlabel("k target training sentences")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def target_table(data: UdPosData) -> pd.DataFrame:
    """What each target offered: test size, k-shot pool, measured order, truncated test words."""
    return pd.DataFrame([
        {"target": t.name, "test_sentences": len(t.test), "test_words": t.test_words, "pool_split": t.pool_split or "-",
         "pool_sentences": len(t.pool), "dominant_order": t.order or "-", "test_truncated_words": t.truncation.words}
        for t in data.targets
    ])


def write_outputs(
    directory: Path, config: UdPosConfig, data: UdPosData, results: Sequence[UnitResult], seconds: float
) -> UdPosOutputs:
    source = pd.DataFrame([asdict(r.source) for r in results])
    runs = records_frame([record for r in results for record in r.targets])
    summary = summary_frame(runs)
    (directory / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    data.tokenizer.save(directory / "tokenizer")
    targets = target_table(data) if data.targets else pd.DataFrame()
    metrics = {
        "name": config.name,
        "wall_seconds": round(seconds, 2),
        "data": data.stats,
        "source": source.to_dict(orient="records"),
        "targets": targets.to_dict(orient="records"),
        "runs": runs.to_dict(orient="records"),
        "summary": summary.to_dict(orient="records"),
    }
    # NaN (scratch at k = 0) is not JSON: write null.
    (directory / "metrics.json").write_text(json.dumps(_nan_to_none(metrics), indent=2))
    source.to_csv(directory / "source.csv", index=False)
    runs.to_csv(directory / "runs.csv", index=False)
    summary.to_csv(directory / "summary.csv", index=False)
    if data.targets:
        targets.to_csv(directory / "targets.csv", index=False)
        plot_curves(runs, directory / "accuracy.png")
    return UdPosOutputs(directory, source, runs, summary)


def _nan_to_none(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
