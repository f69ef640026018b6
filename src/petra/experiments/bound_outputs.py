"""The analysis and results folder of ``petra bound``: each (encoding, scheme) judged pooled over
seeds and per model (:func:`analyse`), the verdict and curve tables, and the two figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from petra.data.batches import EncodedCorpus
from petra.experiments.bound import BoundConfig, BoundResults, DrawRecord, GapDataset
from petra.metrics.bound import BoundCheck, bounded_difference_sigma2, check_bounds
from petra.results.figures import plt
from petra.results.writer import records as json_rows
from petra.results.writer import write_results
from petra.tasks import Task, get_task


def example_weights(corpus: EncodedCorpus, task: Task) -> np.ndarray:
    """Each sentence's share of its split's mean loss (1/n per sentence, or its labels / all labels)."""
    counts = task.scored_per_sentence(corpus)
    return counts / counts.sum()


@dataclass(frozen=True)
class Setting:
    """One set of gap samples judged together: a model's draws (``seed``) or all seeds pooled (None)."""

    encoding: str
    scheme: str
    seed: int | None
    check: BoundCheck


def analyse(records: list[DrawRecord], data: GapDataset, config: BoundConfig) -> list[Setting]:
    """Judge every (encoding, scheme) pooled over seeds, then every single model with >= 2 draws.

    Textbook σ²: McDiarmid with per-example weights for one model's ``per_example`` draws (the only
    case where Δ is a function of independent per-example variables); B² (Hoeffding's lemma, valid
    for any bounded Δ) everywhere else, including pools over seeds (a mixture of models).
    """
    g, bound, task = config.gap, config.gap.bound, get_task(config.task)
    per_example = bounded_difference_sigma2(
        bound, example_weights(data.train, task), example_weights(data.test, task)
    )
    groups: dict[tuple[str, str], dict[int, list[float]]] = {}
    for r in records:
        groups.setdefault((r.encoding, r.scheme), {}).setdefault(r.seed, []).append(r.gap)
    settings = []
    for (encoding, scheme), by_seed in groups.items():
        pooled = [x for gaps in by_seed.values() for x in gaps]
        if len(pooled) >= 2:
            settings.append(Setting(encoding, scheme, None, check_bounds(pooled, bound**2, g.confidence, g.grid_points)))
        for seed, gaps in by_seed.items():
            if len(gaps) >= 2:
                sigma2 = per_example if scheme == "per_example" else bound**2
                settings.append(Setting(encoding, scheme, seed, check_bounds(gaps, sigma2, g.confidence, g.grid_points)))
    return settings


def verdict_rows(settings: list[Setting]) -> list[dict]:
    rows = []
    for s in settings:
        c = s.check
        rows.append({
            "encoding": s.encoding, "scheme": s.scheme, "seed": "all" if s.seed is None else s.seed, "n": c.n,
            "mean_gap": c.mean_gap, "sigma2_hat": c.sigma2, "textbook_sigma2": c.textbook_sigma2,
            "seed_bound_on_gap": c.seed_raw_verdict.text, "seed_bound_on_gap_first_eps": c.seed_raw_verdict.first_violation,
            "seed_bound_on_gap_max_excess": c.seed_raw_verdict.max_excess,
            "seed_bound_centred": c.seed_centred_verdict.text, "seed_bound_centred_max_excess": c.seed_centred_verdict.max_excess,
            "textbook_centred": c.textbook_verdict.text, "textbook_centred_max_excess": c.textbook_verdict.max_excess,
            "textbook_at_max_deviation": c.textbook_verdict.bound_at_max,
        })
    return rows


def curve_rows(settings: list[Setting]) -> list[dict]:
    """Every pooled setting's curves on its grids, for re-plotting without rerunning."""
    rows = []
    for s in (s for s in settings if s.seed is None):
        c = s.check
        for which, tail, curves in (("gap", c.raw, {"seed_bound": c.seed_raw}),
                                    ("centred_gap", c.centred, {"seed_bound": c.seed_centred, "textbook": c.textbook})):
            for i, eps in enumerate(tail.eps):
                rows.append({"encoding": s.encoding, "scheme": s.scheme, "variable": which, "eps": eps,
                             "tail": tail.p_hat[i], "tail_low": tail.low[i], "tail_high": tail.high[i],
                             **{name: float(curve[i]) for name, curve in curves.items()}})
    return rows


def write_outputs(directory: Path, config: BoundConfig, result: BoundResults, seconds: float):
    """config.yaml, draws.csv, verdicts.csv, curves.csv, metrics.json and the figures: tail_vs_bound.png
    (seeds pooled), tail_vs_bound_per_model.png (each model with >= 2 draws), gap_by_pe.png."""
    settings = analyse(result.records, result.data, config)
    draws = pd.DataFrame([{**asdict(r), "gap": r.gap} for r in result.records])
    verdicts = pd.DataFrame(verdict_rows(settings))
    per_model = draws.groupby(["encoding", "scheme", "seed"], sort=False).agg(
        gap=("gap", "mean"), gap_sd=("gap", "std"), train_accuracy=("train_accuracy", "mean"),
        test_accuracy=("test_accuracy", "mean"), train_seconds=("train_seconds", "first"), draws=("draw", "count"),
    ).reset_index()
    metrics = {"wall_seconds": round(seconds, 2), "loss": config.gap.loss, "loss_bound": config.gap.bound,
               "per_model": json_rows(per_model), "verdicts": json_rows(verdicts), "failures": result.failures}
    figures = {"tail_vs_bound.png": plot_tails([s for s in settings if s.seed is None], config.gap.confidence)}
    single = [s for s in settings if s.seed is not None]  # one model's draws: where McDiarmid applies
    if single:
        figures["tail_vs_bound_per_model.png"] = plot_tails(single, config.gap.confidence)
    figures["gap_by_pe.png"] = plot_gaps(per_model)
    tables = {"draws.csv": draws, "verdicts.csv": verdicts, "curves.csv": pd.DataFrame(curve_rows(settings))}
    write_results(directory, config, metrics, tables, figures)
    return verdicts, per_model


def plot_tails(settings: list[Setting], confidence: float) -> Figure:
    """Row 1: P̂(Δ ≥ ε) with its band vs the seed's bound. Row 2: the centred gap vs both bounds."""
    fig, axes = plt.subplots(2, len(settings), figsize=(3.6 * len(settings), 6.4), squeeze=False)
    for col, s in enumerate(settings):
        c = s.check
        panels = ((c.raw, {"seed: exp(-ε²/2σ̂²)": c.seed_raw}, "ε  (Δ ≥ ε)"),
                  (c.centred, {"seed: exp(-ε²/2σ̂²)": c.seed_centred, "textbook (McDiarmid/Hoeffding)": c.textbook},
                   "ε  (Δ − mean Δ ≥ ε)"))
        for row, (tail, curves, xlabel) in enumerate(panels):
            ax = axes[row][col]
            floor = 0.5 / tail.n
            ax.fill_between(tail.eps, np.maximum(tail.low, floor), tail.high, alpha=0.25, label=f"{confidence:.0%} Clopper-Pearson")
            ax.step(tail.eps, np.maximum(tail.p_hat, floor), where="post", color="black", lw=1.2, label="empirical tail")
            for (name, curve), style in zip(curves.items(), ("--", ":")):
                ax.plot(tail.eps, np.maximum(curve, floor), style, lw=1.5, label=name)
            ax.set_yscale("log")
            ax.set_ylim(floor, 1.5)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if row == 0:
                who = "seeds pooled" if s.seed is None else f"seed {s.seed}"
                ax.set_title(f"{s.encoding} / {s.scheme} / {who}\nn={c.n}, mean Δ={c.mean_gap:.3f}, σ̂²={c.sigma2:.2g}",
                             fontsize=9)
    axes[0][0].set_ylabel("P(Δ ≥ ε)")
    axes[1][0].set_ylabel("P(Δ − mean ≥ ε)")
    axes[1][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_gaps(per_model: pd.DataFrame) -> Figure:
    """Mean gap per (PE, scheme): bar = mean over seeds, dots = seeds, whiskers = spread over draws."""
    keys = list(dict.fromkeys(zip(per_model["encoding"], per_model["scheme"])))
    fig, ax = plt.subplots(figsize=(1.4 * len(keys) + 2, 3.6))
    for i, (encoding, scheme) in enumerate(keys):
        rows = per_model[(per_model["encoding"] == encoding) & (per_model["scheme"] == scheme)]
        ax.bar(i, rows["gap"].mean(), 0.6, alpha=0.6)
        ax.errorbar(np.full(len(rows), i), rows["gap"], yerr=rows["gap_sd"].fillna(0), fmt="o", color="black", ms=3, capsize=2)
    ax.set_xticks(range(len(keys)), [f"{e}\n{s}" for e, s in keys], fontsize=8)
    ax.set_ylabel("gap  L_test − L_train")
    ax.axhline(0, color="grey", lw=0.8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
