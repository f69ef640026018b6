"""Would a rerun with new seeds say the same? A config's ``replicate`` seeds (``petra replicate RESULTS
--seeds 3,4,5``) run the experiment again into the same store; the claims are made on ``seeds`` alone and
each is then checked on the replication seeds alone:

* a ``best`` claim replicated when the replication names the same configuration ``best`` of its cell;
  otherwise its difference to the runner-up kept its sign (``same sign``) or turned (``reversed``);
* a ``tie`` replicated when the same two configurations are tied again; otherwise the new seeds
  ``separated`` them;
* a ``1 seed`` lead (no seed-level evidence) can only keep its sign or turn.

This module is also where a results folder's tables come from (summary, claims, the verdict across
targets, replication), so ``petra run``, ``petra report`` and :func:`petra.load_results` read a folder
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from petra.results.across import across_table
from petra.results.claims import ONE_SEED, Claim, by_seed, claims, difference, marks
from petra.results.summary import summary_frame

REPLICATION_FILE = "replication.csv"


@dataclass(frozen=True)
class Tables:
    summary: pd.DataFrame  # over the claims' seeds, with the `claim` column (and `replication`: the new seeds' marks)
    claims: list[Claim]
    across: pd.DataFrame  # per pair of PEs (recipes, sources) and k: the verdict across targets (petra.results.across)
    replication: pd.DataFrame  # one row per (target, k) with a comparison; empty without replication seeds


def summarise(runs: pd.DataFrame, scores: pd.DataFrame | None, replicate: Sequence[int] = ()) -> Tables:
    """The summary and claims of the runs whose seed is not in ``replicate``, and how each claim fared
    on the runs whose seed is."""
    again = runs["seed"].isin(list(replicate))
    summary, found, scored = _claimed(runs[~again], scores, ~_in(scores, replicate))
    across = across_table(summary, runs[~again], by_seed(scored))
    if not again.any():
        return Tables(summary, found, across, pd.DataFrame())
    summary_again, found_again, scored_again = _claimed(runs[again], scores, _in(scores, replicate))
    summary["replication"] = marks(summary, found_again)
    cells, scored_again = {(c.target, c.shots): c for c in found_again}, by_seed(scored_again)
    rows = [_checked(c, cells[(c.target, c.shots)], runs[again], scored_again) for c in found
            if c.runner_up is not None and (c.target, c.shots) in cells]
    return Tables(summary, found, across, pd.DataFrame(rows))


def replication_seeds(directory: Path) -> list[int]:
    """The replication seeds of the results folder's config (none for folders written before replication)."""
    config = Path(directory) / "config.yaml"
    return list((yaml.safe_load(config.read_text()) or {}).get("replicate", [])) if config.is_file() else []


def _in(scores: pd.DataFrame | None, seeds: Sequence[int]) -> pd.Series | bool:
    return scores["seed"].isin(list(seeds)) if scores is not None and not scores.empty else False


def _claimed(runs: pd.DataFrame, scores: pd.DataFrame | None, rows) -> tuple[pd.DataFrame, list[Claim], pd.DataFrame | None]:
    scored = scores[rows] if scores is not None and not scores.empty else None
    summary = summary_frame(runs)
    found = claims(summary, runs, scored)
    summary["claim"] = marks(summary, found)
    return summary, found, scored


def _checked(claim: Claim, again: Claim, runs: pd.DataFrame, scored: dict) -> dict:
    """One cell: the claim, the same two configurations compared on the new seeds, and the verdict."""
    lead = "tie" if claim.tie else "best" if claim.difference.seed_evidence else ONE_SEED
    first = lambda row: {**row, "recipe": row["recipes"][0]}  # noqa: E731  (merged recipes trained one model)
    d = difference(first(claim.best), first(claim.runner_up), runs, scored)
    if lead == "best":
        same = again.marks.get(_identity(claim.best)) == "best"
        verdict = "replicated" if same else "same sign" if d.difference > 0 else "reversed"
    elif lead == "tie":
        verdict = "replicated" if d.tie else "separated"
    else:
        verdict = "same sign" if d.difference > 0 else "reversed"
    return {
        "target": claim.target, "shots": claim.shots, "claim": lead, "best": claim.best["label"],
        "runner_up": claim.runner_up["label"], "difference": claim.difference.difference,
        "ci_low": claim.difference.ci_low, "ci_high": claim.difference.ci_high,
        "seeds": claim.difference.seeds, "again_difference": d.difference, "again_ci_low": d.ci_low,
        "again_ci_high": d.ci_high, "again_seeds": d.seeds, "again_best": again.best["label"],
        "again_claim": again.marks.get(_identity(again.best), ""), "verdict": verdict,
    }


def _identity(row: dict) -> tuple[str, str, str]:
    return row["source"], row["encoding"], row["recipes"][0]


def replication_lines(table: pd.DataFrame, seeds: Sequence[int]) -> list[str]:
    """What the replication says, in a few sentences (terminal and report)."""
    if table.empty:
        return []
    said = f"with seeds {', '.join(map(str, seeds))}" if seeds else "with the new seeds"
    lines = []
    for lead in ("best", "tie", ONE_SEED):
        rows = table[table["claim"] == lead]
        if rows.empty:
            continue
        counts = ", ".join(f"{n} {verdict}" for verdict, n in rows["verdict"].value_counts().items())
        noun = {"best": "'best' claims", "tie": "ties", ONE_SEED: "one-seed leads"}[lead]
        lines.append(f"replication {said}, {noun} ({len(rows)}): {counts}")
    for row in table[(table["claim"] == "best") & (table["verdict"] != "replicated")].itertuples():
        lines.append(f"not replicated: {row.target} k = {row.shots}: {row.best} ahead of {row.runner_up} by "
                     f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}], again {row.again_difference:+.3f} "
                     f"[{row.again_ci_low:+.3f}, {row.again_ci_high:+.3f}]; the new seeds' best: {row.again_best}")
    return lines
