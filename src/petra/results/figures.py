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


COLUMNS = 4  # panels per row: 20+ targets wrap into rows instead of one strip too wide to read


def _grid(panels: int, width: float, height: float, **shared) -> tuple[Figure, list]:
    """A figure of ``panels`` axes, at most COLUMNS a row; the unused axes of the last row are hidden."""
    cols = max(1, min(COLUMNS, panels))
    rows = max(1, math.ceil(panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, **shared)
    flat = list(axes.ravel())
    for ax in flat[panels:]:
        ax.set_visible(False)
    return fig, flat[:max(1, panels)]


def _first_column(axes: list) -> list:
    return axes[::min(COLUMNS, len(axes))]


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
    fig, axes = _grid(len(panels), 4.8, 3.8, sharey=True)
    width = 0.8 / (len(recipes) + 1)
    x = np.arange(len(encodings))
    sources = len({p[0] for p in panels})
    for ax, (source, target, k) in zip(axes, panels):
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
    for ax in _first_column(axes):
        ax.set_ylabel("target test accuracy (95% CI)")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _spaced(ks: list[int]) -> list[int]:
    """Tick values that do not overlap on a log axis (100 and an 'all' of 102: the larger one)."""
    out: list[int] = []
    for k in ks:
        if out and out[-1] > 0 and k < 1.25 * out[-1]:
            out[-1] = k
        else:
            out.append(k)
    return out


LINE_STYLES = ["-", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]  # one per (source, recipe); colour: the PE


def sample_efficiency(summary: pd.DataFrame) -> Figure:
    """One panel per target, every PE overlaid (a colour each): accuracy against k on a log axis (k = 0,
    zero-shot, sits at the linear origin) with its 95% CI band, a line style per recipe (and source);
    scratch thin dashed in the PE's colour; a dotted vertical line at each break-even k."""
    from petra.results.claims import break_even

    targets, encodings = _order(summary["target"]), _order(summary["encoding"])
    lines = [(s, r) for s, r in _order(zip(summary["source"], summary["recipe"])) if r != "zero_shot"]
    several_sources = len({s for s, _ in lines}) > 1
    even = break_even(summary).set_index(["source", "target", "encoding", "recipe"])["break_even_k"]
    smallest = float(summary.loc[summary["shots"] > 0, "shots"].min())  # linear below it, so k = 0 has a place
    fig, axes = _grid(len(targets), 4.0, 3.0, sharey=True)
    for ax, target in zip(axes, targets):
        for colour, encoding in enumerate(encodings):
            cell = summary[(summary["target"] == target) & (summary["encoding"] == encoding)]
            for i, (source, recipe) in enumerate(lines):
                own = cell[(cell["source"] == source) & (cell["recipe"] == recipe)]
                # k = 0 is the pretrained model's, unless the recipe has a zero-shot of its own (MAD-X)
                pretrained = cell[(cell["source"] == source) & (cell["recipe"] == "zero_shot")]
                zero = own.iloc[:0] if (own["shots"] == 0).any() else pretrained
                part = pd.concat([zero, own]).sort_values("shots")
                label = encoding + (f" · {recipe}" if len(lines) > 1 else "") + (f" ({source})" if several_sources else "")
                ax.plot(part["shots"], part["accuracy_mean"], marker="o", ms=3, color=f"C{colour}",
                        ls=LINE_STYLES[i % len(LINE_STYLES)], label=label)
                ax.fill_between(part["shots"], part["accuracy_ci_low"], part["accuracy_ci_high"], color=f"C{colour}", alpha=0.12)
                k = even.get((source, target, encoding, recipe))
                if k is not None and pd.notna(k):
                    ax.axvline(k, color=f"C{colour}", ls=":", lw=1)
            scratch = cell[cell["scratch_mean"].notna()].drop_duplicates("shots").sort_values("shots")
            ax.plot(scratch["shots"], scratch["scratch_mean"], color=f"C{colour}", ls="--", lw=0.8, marker="x", ms=3,
                    label=f"{encoding} · scratch")
        ticks = _spaced(sorted(int(k) for k in summary.loc[summary["target"] == target, "shots"].unique()))
        ax.set_xscale("symlog", linthresh=smallest, linscale=0.4)
        ax.set_xticks(ticks, [str(k) for k in ticks], fontsize=7)  # this target's k ('all': its pool size)
        ax.minorticks_off()
        ax.set_title(str(target), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.supxlabel("k target training sentences (log)")
    fig.supylabel("target test accuracy")
    fig.tight_layout()
    return fig


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
    fig, axes = _grid(len(targets), 4.8, 3.4)
    for ax, target in zip(axes, targets):
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


def _at_largest_k(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, int, pd.DataFrame, str | None]:
    """``target``'s rows, its largest k, the rows there, and the first recipe that is not scratch (a panel's)."""
    rows = table[table["target"] == target]
    k = rows["shots"].max()
    at_k = rows[rows["shots"] == k]
    return rows, k, at_k, next((r for r in _order(at_k["recipe"]) if r != "scratch"), None)


def arc_breakdown(table: pd.DataFrame) -> Figure:
    """Per target (panel): UAS by gold-arc direction and length at the largest k, a line per PE (the
    first recipe), scratch (mean over PEs) dashed gray, zero-shot (mean over PEs) dotted."""
    targets = _order(table["target"])
    fig, axes = _grid(len(targets), 4.2, 3.4, sharey=True)
    for ax, target in zip(axes, targets):
        rows, k, at_k, recipe = _at_largest_k(table, target)
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
    for ax in _first_column(axes):
        ax.set_ylabel("UAS (gold arcs of the bucket)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def feature_f1(table: pd.DataFrame, most: int = 12) -> Figure:
    """Per target (panel): F1 of its ``most`` most frequent features at the largest k, a bar per PE
    (the first recipe) and scratch (mean over PEs) in gray."""
    targets = _order(table["target"])
    fig, axes = _grid(len(targets), 5.0, 3.4, sharey=True)
    for ax, target in zip(axes, targets):
        _, k, at_k, recipe = _at_largest_k(table, target)
        names = at_k.groupby("feature")["support"].mean().sort_values(ascending=False).index[:most].tolist()
        bars = [(encoding, at_k[(at_k["encoding"] == encoding) & (at_k["recipe"] == recipe)])
                for encoding in _order(at_k["encoding"])] + [("scratch", at_k[at_k["recipe"] == "scratch"])]
        width = 0.8 / len(bars)
        for i, (label, part) in enumerate(bars):
            f1 = part.groupby("feature")["f1_mean"].mean().reindex(names).to_numpy()
            ax.bar(np.arange(len(names)) + i * width, f1, width, label=label, color="gray" if label == "scratch" else None)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{target} ({recipe}, k = {k})")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3, axis="y")
    for ax in _first_column(axes):
        ax.set_ylabel("F1 (gold occurrences)")
    axes[0].legend(fontsize=7, loc="lower left")
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
