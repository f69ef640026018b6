"""Figures: accuracy per PE with per-seed points, one panel per target language."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def plot_accuracy(runs: pd.DataFrame, path: Path) -> Path:
    """Bars = mean target accuracy per (PE, recipe); dots = seeds; dashed = scratch baseline."""
    targets = list(dict.fromkeys(runs["target"]))
    encodings = list(dict.fromkeys(runs["encoding"]))
    recipes = list(dict.fromkeys(runs["recipe"]))
    fig, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 3.8), sharey=True, squeeze=False)
    width = 0.8 / (len(recipes) + 1)
    x = np.arange(len(encodings))
    for ax, target in zip(axes[0], targets):
        sub = runs[runs["target"] == target]
        bars = [(r, "accuracy", sub[sub["recipe"] == r]) for r in recipes]
        bars.append(("scratch", "scratch_accuracy", sub[sub["recipe"] == recipes[0]]))
        for i, (label, column, rows) in enumerate(bars):
            offset = x + (i - len(recipes) / 2) * width
            means = [rows[rows["encoding"] == e][column].mean() for e in encodings]
            ax.bar(offset, means, width, label=label, alpha=0.75)
            for j, e in enumerate(encodings):
                values = rows[rows["encoding"] == e][column].to_numpy()
                ax.scatter(np.full(len(values), offset[j]), values, s=10, color="black", zorder=3)
        ax.set_title(f"target: {target}")
        ax.set_xticks(x, encodings, rotation=20)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("target test accuracy")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
