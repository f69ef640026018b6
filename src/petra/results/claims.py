"""What a run lets one claim: per target and k, which (source, PE, recipe) is ahead and whether the
lead is real (a paired comparison with the runner-up, petra.metrics.compare), and per
configuration the break-even k where training from scratch catches up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from petra.metrics.compare import PairedDifference, SeedScores, paired_difference, seed_paired_difference

FEW_TEST_SENTENCES = 100  # below this many scored test sentences, a target's numbers are flagged
ONE_SEED = "1 seed"  # the mark of a cell's top configuration when no seed-level evidence can say it is best


@dataclass(frozen=True)
class Claim:
    target: str
    shots: int
    best: dict  # source, encoding, recipe, accuracy_mean
    runner_up: dict | None  # None: the cell has one configuration
    difference: PairedDifference | None  # best - runner-up, paired
    tied: list[str]  # every other configuration whose difference to the best has a CI containing 0
    marks: dict[tuple[str, str, str], str]  # (source, encoding, recipe) -> 'best' | 'tie'

    @property
    def tie(self) -> bool:
        return self.difference is not None and self.difference.tie

    @property
    def has_interval(self) -> bool:
        d = self.difference
        return d is not None and (d.sentences > 0 or d.seeds > 1)


def describe(row, with_source: bool = True) -> str:
    """How a configuration reads in a sentence: 'rope + full (from English-EWT)'."""
    source = row.get("source")
    base = f"{row['encoding']} zero-shot" if row["recipe"] == "zero_shot" else f"{row['encoding']} + {row['recipe']}"
    return f"{base} (from {source})" if with_source and source and isinstance(source, str) else base


def by_seed(scores: pd.DataFrame | None) -> dict[tuple, dict[int, tuple]]:
    """(source, target, encoding, recipe, shots) -> seed -> (sentence rows, correct, total)."""
    out: dict[tuple, dict[int, tuple]] = {}
    if scores is None or scores.empty:  # results written before per-sentence scores were kept
        return out
    for r in scores.itertuples(index=False):
        key = (r.source, r.target, r.encoding, r.recipe, int(r.shots))
        out.setdefault(key, {})[int(r.seed)] = (np.asarray(r.sentence), np.asarray(r.correct), np.asarray(r.total))
    return out


def paired_scores(a: dict[int, tuple], b: dict[int, tuple]) -> list[SeedScores]:
    """Seed by seed, both sides' scores on the sentences both scored at every seed, in one order
    (seeds and sentences are crossed: petra.metrics.compare)."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return []
    common = a[seeds[0]][0]
    for seed in seeds:
        common = np.intersect1d(np.intersect1d(common, a[seed][0]), b[seed][0])
    if not len(common):
        return []
    out = []
    for seed in seeds:
        (rows_a, ca, ta), (rows_b, cb, _) = a[seed], b[seed]
        ia, ib = _positions(rows_a, common), _positions(rows_b, common)
        out.append(SeedScores(ca[ia], cb[ib], ta[ia]))
    return out


def _positions(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` (sorted, all present) stands in ``rows``."""
    order = np.argsort(rows)
    return order[np.searchsorted(rows, wanted, sorter=order)]


def difference(best: pd.Series | dict, other: pd.Series | dict, runs: pd.DataFrame, scored: dict) -> PairedDifference:
    """best - other, paired on seeds and sentences (``scored``: :func:`by_seed`), or on seeds alone."""
    key = lambda r: (r["source"], r["target"], r["encoding"], r["recipe"], int(r["shots"]))  # noqa: E731
    seeds = paired_scores(scored.get(key(best), {}), scored.get(key(other), {}))
    if seeds:
        return paired_difference(seeds)
    # no per-sentence scores (results written before they were kept): pair on seeds only
    cell = runs[(runs["target"] == best["target"]) & (runs["shots"] == best["shots"])]
    side = lambda r: cell[(cell["source"] == r["source"]) & (cell["encoding"] == r["encoding"])  # noqa: E731
                          & (cell["recipe"] == r["recipe"])].set_index("seed")["accuracy"]
    a, b = side(best), side(other)
    common = a.index.intersection(b.index)
    return seed_paired_difference(a[common], b[common])


def _distinct(ranked: pd.DataFrame, runs: pd.DataFrame) -> list[tuple[pd.Series, list[str]]]:
    """The cell's configurations, best first, with recipes that trained the same model merged
    (frozen_pe on a PE without parameters is full fine-tuning: the same numbers at every seed),
    so a configuration is never 'tied' with itself."""
    def per_seed(r: pd.Series) -> tuple:
        rows = runs[(runs["source"] == r["source"]) & (runs["target"] == r["target"]) & (runs["shots"] == r["shots"])
                    & (runs["encoding"] == r["encoding"]) & (runs["recipe"] == r["recipe"])]
        return tuple(rows.sort_values("seed")["accuracy"])

    groups: list[tuple[pd.Series, list[str], tuple]] = []
    for _, r in ranked.iterrows():
        same = next((g for g in groups if g[0]["source"] == r["source"] and g[0]["encoding"] == r["encoding"]
                     and g[2] == per_seed(r)), None)
        if same is not None:
            same[1].append(r["recipe"])
        else:
            groups.append((r, [r["recipe"]], per_seed(r)))
    return [(r, recipes) for r, recipes, _ in groups]


def shown_once(summary: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """``summary`` for reading: recipes that trained the same model (frozen_pe on a PE without
    parameters) become one row, its recipe 'full = frozen_pe'."""
    names = {}
    for _, cell in summary.groupby(["target", "shots"], sort=False):
        names.update({r.name: " = ".join(recipes) for r, recipes in _distinct(cell, runs)})
    out = summary.loc[[i for i in summary.index if i in names]].copy()
    out["recipe"] = [names[i] for i in out.index]
    return out


def claims(summary: pd.DataFrame, runs: pd.DataFrame, scores: pd.DataFrame | None) -> list[Claim]:
    """One claim per (target, k) cell of ``summary``, in its order."""
    scored = by_seed(scores)
    several = summary["source"].nunique() > 1
    out = []
    for (target, k), cell in summary.groupby(["target", "shots"], sort=False):
        ranked = _distinct(cell.sort_values("accuracy_mean", ascending=False, kind="stable"), runs)
        (best, best_recipes), others = ranked[0], []
        for r, recipes in ranked[1:]:
            others.append((r, recipes, difference(best, r, runs, scored)))
        def label(r: pd.Series, recipes: list[str]) -> dict:
            row = {**r.to_dict(), "recipe": " = ".join(recipes), "recipes": recipes}
            return {**row, "label": describe(row, several)}

        tied = [label(r, recipes) for r, recipes, d in others if d.tie]
        lead = "tie" if tied[:1] and others[0][2].tie else "best" if others and others[0][2].seed_evidence else ONE_SEED
        mark = {(best["source"], best["encoding"], recipe): lead for recipe in best_recipes}
        mark.update({(r["source"], r["encoding"], recipe): "tie" for r, recipes, d in others if d.tie for recipe in recipes})
        runner_up, gap = (label(others[0][0], others[0][1]), others[0][2]) if others else (None, None)
        out.append(Claim(str(target), int(k), label(best, best_recipes), runner_up, gap,
                         [t["label"] for t in tied], mark if others else {}))
    return out


def marks(summary: pd.DataFrame, found: list[Claim]) -> list[str]:
    """Per summary row: 'best', 'tie' (its difference to the best has a CI containing 0) or ''."""
    by_cell = {(c.target, c.shots): c for c in found}
    return [by_cell[(str(r["target"]), int(r["shots"]))].marks.get((r["source"], r["encoding"], r["recipe"]), "")
            for _, r in summary.iterrows()]


def claim_text(claim: Claim) -> str:
    """The claim in words: 'tie: X ≈ Y (difference d, CI [a, b])' or 'best is X, ahead of Y by ...'."""
    best = claim.best["label"]
    if claim.runner_up is None:
        return f"only {best} ran (accuracy {claim.best['accuracy_mean']:.3f}): nothing to compare"
    d, other = claim.difference, claim.runner_up["label"]
    interval = f"difference {d.difference:+.3f}, 95% CI [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"
    if not claim.has_interval:
        return f"{best} ahead of {other} with one seed and no per-sentence scores ({interval.split(',')[0]}): no interval"
    if claim.tie:
        more = len(claim.tied) - 1
        text = f"tie: {best} ≈ {other} ({interval})" + (f", and {more} more within the interval" if more > 0 else "")
    else:
        text = f"best is {best}, ahead of {other} ({interval})"
    if not d.seed_evidence:  # the interval holds the test sentences only: another seed may reorder them
        return f"{ONE_SEED}: no seed-level evidence; " + text.replace("best is ", "highest is ", 1) + " over test sentences only"
    return text


def break_even(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (source, target, PE, recipe): the smallest k where scratch's 95% CI reaches the
    transfer CI (scratch's upper bound >= transfer's lower bound), or NaN when it is not reached
    within the k that ran (the largest is the pool's limit when `shots` holds 'all')."""
    tuned = summary[(summary["shots"] > 0) & summary["scratch_mean"].notna()]
    rows = []
    for (source, target, encoding, recipe), cell in tuned.groupby(["source", "target", "encoding", "recipe"], sort=False):
        cell = cell.sort_values("shots")
        caught = cell[cell["scratch_ci_high"] >= cell["accuracy_ci_low"]]
        rows.append({"source": source, "target": target, "encoding": encoding, "recipe": recipe,
                     "largest_k": int(cell["shots"].max()),
                     "break_even_k": int(caught["shots"].iloc[0]) if len(caught) else np.nan})
    return pd.DataFrame(rows)
