"""The one figure helper: matplotlib set up for files (import ``plt`` from here), :func:`save`, and
the figures of the report and of `petra similarity`: accuracy with CIs and seeds, sample efficiency,
learning curves, PE drift, distance vs gain, heat maps. Each returns a Figure."""

from __future__ import annotations

import math
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


def _panels(runs: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(source, target, k) of every fine-tuned cell, in the runs' order; zero-shot rows have no bars."""
    tuned = runs[runs["shots"] != 0]
    return list(dict.fromkeys(zip(tuned["source"], tuned["target"], tuned["shots"])))


def _cell(frame: pd.DataFrame, source: str, target: str, k: int) -> pd.DataFrame:
    return frame[(frame["source"] == source) & (frame["target"] == target) & (frame["shots"] == k)]


def accuracy_with_ci(runs: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Per target and k: mean accuracy per (PE, recipe) with its 95% t interval over seeds, every seed as a
    dot, and the scratch baseline; a red edge marks a negative-transfer alarm."""
    panels = _panels(runs)
    encodings = _order(runs["encoding"])
    recipes = _order(runs[runs["scratch_accuracy"].notna()]["recipe"])
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.8 * max(1, len(panels)), 3.8), sharey=True, squeeze=False)
    width = 0.8 / (len(recipes) + 1)
    x = np.arange(len(encodings))
    sources = len({p[0] for p in panels})
    for ax, (source, target, k) in zip(axes[0], panels):
        cell, seeds_of = _cell(summary, source, target, k), _cell(runs, source, target, k)
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
        ax.set_title(f"{source} → " * (sources > 1) + f"target: {target}" + (f", k = {k}" if k >= 0 else ""))
        ax.set_xticks(x, encodings, rotation=20)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("target test accuracy (95% CI)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


MAX_EFFICIENCY_ROWS = 12  # targets shown in the sample-efficiency grid (rows x PEs panels)


def _spaced(ks: list[int]) -> list[int]:
    """Tick values that do not overlap on a log axis (100 and an 'all' of 102: the larger one)."""
    out: list[int] = []
    for k in ks:
        if out and out[-1] > 0 and k < 1.25 * out[-1]:
            out[-1] = k
        else:
            out.append(k)
    return out


def sample_efficiency(summary: pd.DataFrame) -> tuple[Figure, int]:
    """One panel per (target, PE): accuracy against k on a log axis (k = 0, zero-shot, sits at the
    linear origin) with its 95% CI band per recipe and source; scratch dashed with its CI; a dotted
    vertical line at each break-even k. Returns the figure and how many targets it shows."""
    from petra.results.claims import break_even

    targets, encodings = _order(summary["target"])[:MAX_EFFICIENCY_ROWS], _order(summary["encoding"])
    lines = _order(zip(summary["source"], summary["recipe"]))
    lines = [(s, r) for s, r in lines if r != "zero_shot"]
    even = break_even(summary).set_index(["source", "target", "encoding", "recipe"])["break_even_k"]
    smallest = float(summary.loc[summary["shots"] > 0, "shots"].min())  # linear below it, so k = 0 has a place
    fig, axes = plt.subplots(len(targets), len(encodings), figsize=(3.2 * len(encodings), 2.6 * len(targets)),
                             sharey="row", squeeze=False)
    for row, target in enumerate(targets):
        for col, encoding in enumerate(encodings):
            ax, cell = axes[row][col], summary[(summary["target"] == target) & (summary["encoding"] == encoding)]
            for i, (source, recipe) in enumerate(lines):
                zero = cell[(cell["source"] == source) & (cell["recipe"] == "zero_shot")]
                part = pd.concat([zero, cell[(cell["source"] == source) & (cell["recipe"] == recipe)]]).sort_values("shots")
                label = f"{recipe}" + (f" ({source})" if len({s for s, _ in lines}) > 1 else "")
                ax.plot(part["shots"], part["accuracy_mean"], marker="o", ms=3, color=f"C{i}", label=label)
                ax.fill_between(part["shots"], part["accuracy_ci_low"], part["accuracy_ci_high"], color=f"C{i}", alpha=0.15)
                k = even.get((source, target, encoding, recipe))
                if k is not None and pd.notna(k):
                    ax.axvline(k, color=f"C{i}", ls=":", lw=1)
            scratch = cell[cell["scratch_mean"].notna()].drop_duplicates("shots").sort_values("shots")
            ax.plot(scratch["shots"], scratch["scratch_mean"], color="gray", ls="--", marker="x", ms=4, label="scratch")
            ax.fill_between(scratch["shots"], scratch["scratch_ci_low"], scratch["scratch_ci_high"], color="gray", alpha=0.12)
            ax.set_xscale("symlog", linthresh=smallest, linscale=0.4)
            ks = _spaced(sorted(int(k) for k in cell["shots"].unique()))  # this target's k ('all': its pool size)
            ax.set_xticks(ks, [str(k) for k in ks], fontsize=7)
            ax.minorticks_off()
            ax.set_title(f"{target} · {encoding}", fontsize=8)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.supxlabel("k target training sentences (log)")
    fig.supylabel("target test accuracy")
    fig.tight_layout()
    return fig, len(targets)


def learning_curves(curves: pd.DataFrame, kind: str = "accuracy", phase: str | None = "full") -> Figure:
    """Mean curve over seeds per PE (shaded: min–max over seeds), one panel per target."""
    rows = curves[curves["kind"] == kind]
    encodings = _order(curves["encoding"])  # same colour per PE in every panel and figure
    if phase is not None:
        rows = rows[rows["phase"] == phase]
    if phase != "pretrain" and "source" in rows and len(rows):  # several sources: the first one's curves
        rows = rows[rows["source"] == rows["source"].iloc[0]]
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


def distance_vs_gain(table: pd.DataFrame, distances: list[str], source: str) -> Figure:
    """One panel per distance: one point per (source, target) pair, error bars = std of gain across seeds."""
    fig, axes = plt.subplots(1, len(distances), figsize=(4.2 * len(distances), 3.6), squeeze=False)
    several = table["source"].nunique() > 1
    for ax, column in zip(axes[0], distances):
        ax.errorbar(table[column], table["gain_mean"], yerr=table["gain_std"], fmt="o", capsize=3)
        for _, row in table[table["gain_mean"].notna()].iterrows():
            label = str(row["target"]).removeprefix("UD_")
            if several:
                label = f"{str(row['source']).removeprefix('UD_')}→{label}"
            ax.annotate(label, (row[column], row["gain_mean"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(f"{column} distance, source → target" if several else f"{column} distance from {source}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("transfer gain (fine-tuned − scratch)")
    fig.tight_layout()
    return fig


def arc_breakdown(table: pd.DataFrame) -> Figure:
    """Per target (panel): UAS by gold-arc direction and length at the largest k, a line per PE (the
    first recipe), scratch (mean over PEs) dashed gray, zero-shot (mean over PEs) dotted."""
    targets = _order(table["target"])
    fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 3.4), squeeze=False, sharey=True)
    for ax, target in zip(axes[0], targets):
        rows = table[table["target"] == target]
        k = rows["shots"].max()
        at_k = rows[rows["shots"] == k]
        recipe = next(r for r in _order(at_k["recipe"]) if r != "scratch")
        buckets = list(rows["bucket"].cat.categories)
        for encoding in _order(at_k["encoding"]):
            line = at_k[(at_k["encoding"] == encoding) & (at_k["recipe"] == recipe)].groupby("bucket", observed=False)["uas_mean"].mean()
            ax.plot(buckets, line.reindex(buckets).to_numpy(), marker="o", label=encoding)
        for recipe_name, style, label in (("scratch", "--", f"scratch (k = {k})"), ("zero_shot", ":", "zero-shot")):
            base = rows[rows["recipe"] == recipe_name].groupby("bucket", observed=False)["uas_mean"].mean()
            if base.notna().any():
                ax.plot(buckets, base.reindex(buckets).to_numpy(), style, color="gray", label=label)
        ax.set_title(f"{target} ({recipe}, k = {k})")
        ax.tick_params(axis="x", rotation=60)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("UAS (gold arcs of the bucket)")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def heatmaps(matrices: dict[str, pd.DataFrame], title: str, fmt) -> Figure:
    """One heat-map panel per matrix, values written in the cells (``fmt(value, digits)``)."""
    n = len(matrices)
    cols = n if n <= 3 else math.ceil(n / 2)  # 4 -> 2 x 2, 6 -> 2 x 3
    rows = math.ceil(n / cols)
    size = max(3.2, 0.55 * len(next(iter(matrices.values()))) + 1.6)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax, (name, matrix) in zip(axes.ravel(), matrices.items()):
        image = ax.imshow(matrix.to_numpy(dtype=float), cmap="viridis")
        ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(matrix.index)), matrix.index, fontsize=7)
        values = matrix.to_numpy(dtype=float)
        middle = (np.nanmin(values) + np.nanmax(values)) / 2
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                ax.text(j, i, fmt(values[i, j], 2), ha="center", va="center", fontsize=6,
                        color="black" if values[i, j] > middle else "white")  # legible on viridis
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
