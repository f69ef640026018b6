"""Report figures: accuracy with CIs and seeds, learning curves, PE drift. Each returns a Figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _order(values: pd.Series) -> list:
    return list(dict.fromkeys(values))


def accuracy_with_ci(runs: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Per target: mean accuracy per (PE, recipe) with its 95% bootstrap CI, every seed as a dot,
    and the scratch baseline; a red edge marks a negative-transfer alarm."""
    targets, encodings, recipes = _order(runs["target"]), _order(runs["encoding"]), _order(runs["recipe"])
    fig, axes = plt.subplots(1, len(targets), figsize=(4.8 * len(targets), 3.8), sharey=True, squeeze=False)
    width = 0.8 / (len(recipes) + 1)
    x = np.arange(len(encodings))
    for ax, target in zip(axes[0], targets):
        for i, recipe in enumerate(recipes):
            rows = summary[(summary["target"] == target) & (summary["recipe"] == recipe)].set_index("encoding")
            rows = rows.reindex(encodings)
            pos = x + (i - len(recipes) / 2) * width
            err = [rows["accuracy_mean"] - rows["accuracy_ci_low"], rows["accuracy_ci_high"] - rows["accuracy_mean"]]
            edges = ["red" if flag else (0, 0, 0, 0) for flag in rows["negative_transfer"].fillna(False)]
            ax.bar(pos, rows["accuracy_mean"], width, yerr=err, capsize=3, label=recipe, alpha=0.8,
                   edgecolor=edges, linewidth=2)
            seeds = runs[(runs["target"] == target) & (runs["recipe"] == recipe)]
            for j, e in enumerate(encodings):
                values = seeds[seeds["encoding"] == e]["accuracy"]
                ax.scatter(np.full(len(values), pos[j]), values, s=10, color="black", zorder=3)
        scratch = runs[(runs["target"] == target) & (runs["recipe"] == recipes[0])]
        means = [scratch[scratch["encoding"] == e]["scratch_accuracy"].mean() for e in encodings]
        ax.bar(x + (len(recipes) / 2) * width, means, width, label="scratch", color="lightgray")
        ax.set_title(f"target: {target}")
        ax.set_xticks(x, encodings, rotation=20)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("target test accuracy (95% CI)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def learning_curves(curves: pd.DataFrame, kind: str = "accuracy", phase: str | None = "full") -> Figure:
    """Mean curve over seeds per PE (shaded: min–max over seeds), one panel per target."""
    rows = curves[curves["kind"] == kind]
    encodings = _order(curves["encoding"])  # same colour per PE in every panel and figure
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if kind == "loss":  # per-step losses are noisy: show a running mean per seed
        window = max(1, rows["step"].max() // 50) if len(rows) else 1
        rows = rows.sort_values("step").assign(value=lambda r: r.groupby(["encoding", "seed", "target"])["value"]
                                                 .transform(lambda v: v.rolling(window, min_periods=1).mean()))
    targets = _order(rows["target"])
    fig, axes = plt.subplots(1, max(1, len(targets)), figsize=(4.8 * max(1, len(targets)), 3.4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        panel = rows[rows["target"] == target]
        for colour, encoding in enumerate(encodings):
            stats = panel[panel["encoding"] == encoding].groupby("step")["value"].agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], label=encoding, color=f"C{colour}")
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15, color=f"C{colour}")
        ax.set_title(f"{phase} on {target}" if phase else target)
        ax.set_xlabel("step")
        ax.set_ylabel("loss" if kind == "loss" else "target accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pe_drift(runs: pd.DataFrame) -> Figure | None:
    """Relative change of trainable PE parameters during fine-tuning, per seed."""
    rows = runs.dropna(subset=["pe_drift"]) if "pe_drift" in runs else runs.iloc[0:0]
    if rows.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    labels = []
    for i, ((encoding, recipe, target), group) in enumerate(rows.groupby(["encoding", "recipe", "target"], sort=False)):
        ax.scatter(np.full(len(group), i), group["pe_drift"], color="black", s=12, zorder=3)
        ax.bar(i, group["pe_drift"].mean(), alpha=0.6)
        labels.append(f"{encoding}\n{recipe}\n{target}")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("‖P_ft − P_pre‖ / ‖P_pre‖")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
