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


def _panels(runs: pd.DataFrame) -> list[tuple[str, int]]:
    """(target, k) of every fine-tuned cell, in the runs' order; zero-shot rows have no bars."""
    tuned = runs[runs["shots"] > 0] if "shots" in runs else runs.assign(shots=-1)
    return list(dict.fromkeys(zip(tuned["target"], tuned["shots"])))


def _cell(frame: pd.DataFrame, target: str, k: int) -> pd.DataFrame:
    return frame[(frame["target"] == target) & (frame["shots"] == k)] if k >= 0 else frame[frame["target"] == target]


def accuracy_with_ci(runs: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Per target and k: mean accuracy per (PE, recipe) with its 95% bootstrap CI, every seed as a
    dot, and the scratch baseline; a red edge marks a negative-transfer alarm."""
    panels = _panels(runs)
    encodings = _order(runs["encoding"])
    recipes = _order(runs[runs["scratch_accuracy"].notna()]["recipe"])
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.8 * max(1, len(panels)), 3.8), sharey=True, squeeze=False)
    width = 0.8 / (len(recipes) + 1)
    x = np.arange(len(encodings))
    for ax, (target, k) in zip(axes[0], panels):
        cell, seeds_of = _cell(summary, target, k), _cell(runs, target, k)
        for i, recipe in enumerate(recipes):
            rows = cell[cell["recipe"] == recipe].set_index("encoding").reindex(encodings)
            pos = x + (i - len(recipes) / 2) * width
            err = [rows["accuracy_mean"] - rows["accuracy_ci_low"], rows["accuracy_ci_high"] - rows["accuracy_mean"]]
            edges = ["red" if pd.notna(flag) and bool(flag) else (0, 0, 0, 0) for flag in rows["negative_transfer"]]
            ax.bar(pos, rows["accuracy_mean"], width, yerr=err, capsize=3, label=recipe, alpha=0.8,
                   edgecolor=edges, linewidth=2)
            seeds = seeds_of[seeds_of["recipe"] == recipe]
            for j, e in enumerate(encodings):
                values = seeds[seeds["encoding"] == e]["accuracy"]
                ax.scatter(np.full(len(values), pos[j]), values, s=10, color="black", zorder=3)
        scratch = seeds_of[seeds_of["recipe"] == recipes[0]] if recipes else seeds_of
        means = [scratch[scratch["encoding"] == e]["scratch_accuracy"].mean() for e in encodings]
        ax.bar(x + (len(recipes) / 2) * width, means, width, label="scratch", color="lightgray")
        ax.set_title(f"target: {target}" + (f", k = {k}" if k >= 0 else ""))
        ax.set_xticks(x, encodings, rotation=20)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("target test accuracy (95% CI)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def accuracy_vs_shots(runs: pd.DataFrame, recipe: str) -> Figure:
    """One panel per target: accuracy against k per PE (solid, mean ± std over seeds; k = 0 is
    zero-shot) and the scratch model on the same k sentences (dashed)."""
    targets, encodings = _order(runs["target"]), _order(runs["encoding"])
    cols = min(len(targets), 5)
    rows_n = -(-len(targets) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.6 * cols, 3.0 * rows_n), sharey=True, squeeze=False)
    for ax, target in zip(axes.flat, targets):
        sub = runs[(runs["target"] == target) & runs["recipe"].isin([recipe, "zero_shot"])]
        for i, encoding in enumerate(encodings):
            stats = sub[sub["encoding"] == encoding].groupby("shots")[["accuracy", "scratch_accuracy"]].agg(["mean", "std"])
            ks = [str(k) for k in stats.index]
            ax.errorbar(ks, stats["accuracy"]["mean"], yerr=stats["accuracy"]["std"].fillna(0), color=f"C{i}",
                        marker="o", ms=3, capsize=2, label=encoding)
            # markers too: scratch has no k = 0 point, so with one k > 0 a bare line would not show
            ax.plot(ks, stats["scratch_accuracy"]["mean"], color=f"C{i}", ls="--", lw=1, marker="x", ms=5)
        ax.set_title(str(target), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(targets):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, title="dashed / x: scratch", title_fontsize=7)
    fig.supxlabel("k target training sentences")
    fig.supylabel("target test accuracy")
    fig.tight_layout()
    return fig


def learning_curves(curves: pd.DataFrame, kind: str = "accuracy", phase: str | None = "full") -> Figure:
    """Mean curve over seeds per PE (shaded: min–max over seeds), one panel per target."""
    rows = curves[curves["kind"] == kind]
    encodings = _order(curves["encoding"])  # same colour per PE in every panel and figure
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if "shots" in rows and len(rows):  # one curve per target: its largest k
        rows = rows[rows["shots"] == rows.groupby("target")["shots"].transform("max")]
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
    cells = list(rows.groupby(["encoding", "recipe", "target"], sort=False))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(cells)), 4.2))
    labels = []
    for i, ((encoding, recipe, target), group) in enumerate(cells):
        ax.scatter(np.full(len(group), i), group["pe_drift"], color="black", s=12, zorder=3)
        ax.bar(i, group["pe_drift"].mean(), alpha=0.6)
        labels.append(f"{encoding} {recipe} {target}")
    ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=90)
    ax.set_ylabel("‖P_ft − P_pre‖ / ‖P_pre‖")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
