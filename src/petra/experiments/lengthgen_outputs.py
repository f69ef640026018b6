"""The results folder of ``petra lengthgen``: per-length accuracy, the unseen-length score per unit,
its summary over seeds, the paired comparison with the reference PE, and the accuracy-by-length figure."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from petra.experiments.lengthgen import LengthgenConfig, LengthgenResults
from petra.metrics.stability import SeedStats
from petra.results.figures import plt
from petra.results.writer import records, write_results


def scores_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (task, encoding, seed): mean accuracy over training lengths and over unseen lengths (the score)."""
    keys = ["task", "encoding", "seed"]
    in_dist = runs[runs["in_distribution"]].groupby(keys, sort=False)["accuracy"].mean().rename("in_distribution")
    unseen = runs[~runs["in_distribution"]].groupby(keys, sort=False)["accuracy"].mean().rename("unseen_lengths")
    seconds = runs.groupby(keys, sort=False)["train_seconds"].first()
    return pd.concat([in_dist, unseen, seconds], axis=1).reset_index()


def summary_frame(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (task, encoding), group in scores.groupby(["task", "encoding"], sort=False):
        group = group.sort_values("seed")
        unseen, seen = SeedStats.of(group["unseen_lengths"]), SeedStats.of(group["in_distribution"])
        rows.append({"task": task, "encoding": encoding, "seeds": unseen.n, "in_distribution_mean": seen.mean,
                     "in_distribution_std": seen.std, "unseen_mean": unseen.mean, "unseen_std": unseen.std,
                     "unseen_ci_low": unseen.ci_low, "unseen_ci_high": unseen.ci_high,
                     "unseen_per_seed": " ".join(f"{v:.3f}" for v in group["unseen_lengths"])})
    return pd.DataFrame(rows)


def comparison_frame(scores: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``reference`` minus every other PE on unseen lengths, paired by seed (same data stream)."""
    rows = []
    for task, group in scores.groupby("task", sort=False):
        ref = group[group["encoding"] == reference].set_index("seed")["unseen_lengths"]
        if ref.empty:
            continue
        for encoding in (e for e in dict.fromkeys(group["encoding"]) if e != reference):
            other = group[group["encoding"] == encoding].set_index("seed")["unseen_lengths"]
            diff = (ref - other).dropna()
            stats = SeedStats.of(diff)
            rows.append({"task": task, "reference": reference, "versus": encoding, "seeds": stats.n,
                         "difference_mean": stats.mean, "difference_std": stats.std, "ci_low": stats.ci_low,
                         "ci_high": stats.ci_high, "wins": int((diff > 0).sum())})
    return pd.DataFrame(rows)


def write_outputs(directory: Path, config: LengthgenConfig, result: LengthgenResults, seconds: float):
    """config.yaml, runs.csv (per length), scores.csv, summary.csv, comparison.csv, metrics.json, accuracy_by_length.png."""
    runs = pd.DataFrame([asdict(r) for r in result.records])
    scores = scores_frame(runs)
    summary, comparison = summary_frame(scores), comparison_frame(scores, config.compared_to)
    metrics = {"wall_seconds": round(seconds, 2), "summary": records(summary), "comparison": records(comparison),
               "failures": result.failures}
    tables = {"runs.csv": runs, "scores.csv": scores, "summary.csv": summary, "comparison.csv": comparison}
    write_results(directory, config, metrics, tables, {"accuracy_by_length.png": plot_lengths(runs, config)})
    return summary, comparison


def plot_lengths(runs: pd.DataFrame, config: LengthgenConfig) -> Figure:
    """Accuracy per input length: line = mean over seeds, band = min..max over seeds."""
    tasks = list(dict.fromkeys(runs["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for encoding, group in runs[runs["task"] == task].groupby("encoding", sort=False):
            by_length = group.groupby("length")["accuracy"]
            mean = by_length.mean()
            line = ax.plot(mean.index, mean.to_numpy(), lw=1.4, label=encoding)[0]
            ax.fill_between(mean.index, by_length.min().to_numpy(), by_length.max().to_numpy(), color=line.get_color(), alpha=0.15)
        ax.axvline(config.train_max_length + 0.5, color="grey", ls="--", lw=1)
        ax.axhline(1.0 / config.task(task).output_size, color="grey", ls=":", lw=1)
        ax.set_title(f"{task}: train lengths 1..{config.train_max_length} (left of dashed line)")
        ax.set_xlabel("input length")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("per-token accuracy")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
