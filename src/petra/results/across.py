"""The answer across target languages: for each pair of PEs (and of recipes, and of sources) at each k,
the mean paired difference over targets with languages as the sampling unit (petra.metrics.across),
win / tie / loss counts over targets, and the languages on each side when the verdict depends on them.
Written as ``across_targets.csv``; its sentences open the report and follow the CLI table."""

from __future__ import annotations

import json
from itertools import combinations

import pandas as pd

from petra.metrics.across import DEPENDS, TIE, TargetDifference, across_targets, moderation
from petra.results.claims import difference
from petra.training.recipes import ZERO_SHOT

ACROSS_FILE = "across_targets.csv"
FACTORS = {"PE": "encoding", "recipe": "recipe", "source": "source"}  # what varies; the other two are held fixed


def across_table(summary: pd.DataFrame, runs: pd.DataFrame, scored: dict) -> pd.DataFrame:
    """One row per (factor, k, fixed context, pair) compared on two or more targets (``scored``: claims.by_seed)."""
    rows = []
    for factor, column in FACTORS.items():
        fixed = [c for c in FACTORS.values() if c != column]
        for (shots, *context), group in summary.groupby(["shots", *fixed], sort=False):
            levels = _ranked(group, column)
            for a, b in combinations(levels, 2):
                row = _compared(group, column, a, b, runs, scored)
                if row is not None:
                    held = dict(zip(fixed, context))
                    rows.append({"factor": factor, "shots": shots, "context": _context(held), **held, "a": a, "b": b, **row})
    return pd.DataFrame(rows)


def _ranked(group: pd.DataFrame, column: str) -> list[str]:
    """The levels of ``column``, best mean accuracy over targets first (so a difference reads 'a - b')."""
    return list(group.groupby(column, sort=False)["accuracy_mean"].mean().sort_values(ascending=False, kind="stable").index)


def _context(fixed: dict) -> str:
    """What was held fixed, as in 'full, from English-EWT' or 'rope + full' (the pretrained model's zero-shot
    has no recipe to name; a recipe's own zero-shot, MAD-X's, has)."""
    held = " + ".join(fixed[c] for c in ("encoding", "recipe") if c in fixed and fixed[c] != "zero_shot")
    source = f"from {fixed['source']}" if fixed.get("source") else ""
    return ", ".join(part for part in (held, source) if part)


def _compared(group: pd.DataFrame, column: str, a: str, b: str, runs: pd.DataFrame, scored: dict) -> dict | None:
    per_target, seeds = [], 10**9
    for target, cell in group.groupby("target", sort=False):
        rows = {level: r for level, r in zip(cell[column], cell.to_dict(orient="records"))}
        if a in rows and b in rows:
            d = difference(rows[a], rows[b], runs, scored)
            per_target.append(TargetDifference(str(target), d.difference, d.ci_low, d.ci_high))
            seeds = min(seeds, int(rows[a]["seeds"]), int(rows[b]["seeds"]))
    if len(per_target) < 2 or all(t.difference == 0 == t.ci_low == t.ci_high for t in per_target):
        return None  # one target is its cell's claim; identical numbers everywhere: the same model twice
    found = across_targets(per_target)
    return {
        "targets": len(per_target), "seeds": seeds, "mean": found.mean, "ci_low": found.ci_low, "ci_high": found.ci_high,
        "tau": found.tau, "i2": found.i2, "wins": found.wins, "ties": found.ties, "losses": found.losses,
        "verdict": found.verdict, "ahead_on": ", ".join(t.target for t in found.targets if t.side > 0),
        "behind_on": ", ".join(t.target for t in found.targets if t.side < 0),
        "per_target": json.dumps({t.target: [t.difference, t.ci_low, t.ci_high] for t in found.targets}),
    }


def across_lines(table: pd.DataFrame) -> list[str]:
    """The verdict in sentences: per factor, k and context, the leading level against each other."""
    if table.empty:
        return []
    lines = []
    for (factor, shots, context), group in table.groupby(["factor", "shots", "context"], sort=False):
        lead = group["a"].iloc[0]
        k = "zero-shot" if shots == 0 else f"k = {shots}"
        said = [_said(r) for r in group[group["a"] == lead].itertuples()]
        lines.append(f"{factor} across {group['targets'].max()} targets, {k} ({context}): " + "; ".join(said))
    return lines


def _named(level: str) -> str:
    """A compared level as a sentence says it (the zero_shot recipe is the pretrained model itself)."""
    return "the pretrained model" if level == ZERO_SHOT else level


def _said(r) -> str:
    a, b = _named(r.a), _named(r.b)
    interval = f"{r.mean:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], spread τ {r.tau:.3f}, I² {r.i2:.0%}"
    counts = f"ahead on {r.wins}, tied on {r.ties}, behind on {r.losses} of {r.targets}"
    if r.seeds == 1:  # each target's interval is over its test sentences only: a new seed may move it more
        interval += ", one seed per target"
    if r.verdict == DEPENDS:
        return f"{a} vs {b}: it depends on the language ({interval}; ahead on {r.ahead_on}; behind on {r.behind_on})"
    if r.verdict == TIE:
        return f"{a} ≈ {b}: tie across targets ({interval}; {counts})"
    return f"{a} ahead of {b} across targets ({interval}; {counts})"


DISTANCES = ("word_order.js", "head_direction.js", "combined", "uriel.syntactic")  # as transfer_link_languages.csv names them


def distance_table(across: pd.DataFrame, links: pd.DataFrame | None) -> pd.DataFrame:
    """Does a PE difference move with the target's distance to the source (the seeds' hypothesis that
    structural similarity decides which PE transfers)? Per PE pair, k > 0 and distance measure: the slope
    of the per-target differences on the distance (petra.metrics.across.moderation), three targets or more."""
    if across.empty or links is None or links.empty:
        return pd.DataFrame()
    rows = []
    for r in across[(across["factor"] == "PE") & (across["shots"] > 0) & (across["targets"] >= 3)].itertuples():
        per_target = {t: TargetDifference(t, *v) for t, v in json.loads(r.per_target).items()}
        pairs = links[links["source"].fillna("") == (r.source if isinstance(r.source, str) else "")].set_index("target")
        for measure in (m for m in DISTANCES if m in pairs):
            known = [t for t in per_target if t in pairs.index and pd.notna(pairs.at[t, measure])]
            found = moderation([per_target[t] for t in known], [pairs.at[t, measure] for t in known])
            if found is not None:
                rows.append({"shots": r.shots, "context": r.context, "a": r.a, "b": r.b, "distance": measure,
                             "targets": found.targets, "slope": found.slope, "ci_low": found.ci_low,
                             "ci_high": found.ci_high, "moves": found.moves})
    return pd.DataFrame(rows)


def distance_lines(table: pd.DataFrame) -> list[str]:
    if table.empty:
        return []
    return [f"{r.a} − {r.b} against {r.distance} distance to the source, k = {r.shots} ({r.context}, {r.targets} targets): "
            f"slope {r.slope:+.3f} per unit [{r.ci_low:+.3f}, {r.ci_high:+.3f}] — "
            + ("it moves with the distance" if r.moves else "no evidence that it moves with the distance")
            for r in table.itertuples()]
