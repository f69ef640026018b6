"""`petra compare A B`: two runs of one experiment that differ in a setting (say shared against
language-specific positions), compared cell by cell and across targets with the intervals petra's
own claims use.

Both runs score the same test sentences (their ``data`` sections must be equal) and, at a seed,
fine-tune on the same k sentences (the draw depends on the seed and the target only), so every
(source, target, PE, recipe, k) cell the two share is paired on seeds and sentences
(petra.metrics.compare); each (source, PE, recipe, k) is then pooled over the targets with the
random-effects verdict of petra.metrics.across.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from petra.errors import PetraError
from petra.metrics.across import DEPENDS, TIE, TargetDifference, across_targets
from petra.metrics.compare import paired_difference
from petra.results.claims import by_seed, paired_scores

CELL = ["source", "target", "encoding", "recipe", "shots"]
POOLED = ["source", "encoding", "recipe", "shots"]
NOT_THE_EXPERIMENT = ("name", "run", "replicate")  # where results go and how they are scheduled


@dataclass(frozen=True)
class Versus:
    a: Path
    b: Path
    differs: dict[str, tuple[Any, Any]]  # config field -> (value in a, value in b)
    cells: pd.DataFrame  # per cell: accuracy of each, b - a with its interval
    across: pd.DataFrame  # per (source, PE, recipe, k): b - a across targets


def _flat(tree: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        out.update(_flat(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return out


def _config(directory: Path) -> dict[str, Any]:
    """The run's settings with today's defaults filled in (a setting added since it ran reads as its default)."""
    from petra.config import config_to_dict, load_config

    path = directory / "config.yaml"
    if not path.is_file():
        raise PetraError(f"{directory}: no config.yaml - not a folder written by `petra run`")
    resolved = config_to_dict(load_config(path))  # the experiment the file names
    return _flat({k: v for k, v in resolved.items() if k not in NOT_THE_EXPERIMENT})


def differences(a: Path, b: Path) -> dict[str, tuple[Any, Any]]:
    """The settings the two runs differ in; an error when their test sentences could differ."""
    ca, cb = _config(a), _config(b)
    differs = {k: (ca.get(k), cb.get(k)) for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)}
    data = [k for k in differs if k.startswith("data.")]
    if data:
        raise PetraError(f"{a} and {b} differ in {data[0]} ({differs[data[0]][0]!r} vs {differs[data[0]][1]!r}): "
                         "their test sentences are not the same, so no paired comparison")
    return differs


def compare_runs(a: Path, b: Path) -> Versus:
    """B against A in every cell both ran (positive: B ahead)."""
    from petra.results.report import load_run

    a, b = Path(a), Path(b)
    differs = differences(a, b)
    found = {side: load_run(side) for side in (a, b)}
    scored = {side: by_seed(run.scores) for side, run in found.items()}
    if not scored[a] or not scored[b]:
        raise PetraError("a run without per-sentence scores (scores.parquet): written before petra kept them")
    mean = {side: run.runs.groupby(CELL)["accuracy"].mean() for side, run in found.items()}
    rows = []
    for key in sorted(set(scored[a]) & set(scored[b]), key=str):
        seeds = paired_scores(scored[b][key], scored[a][key])
        if not seeds:
            continue
        d = paired_difference(seeds)
        rows.append({**dict(zip(CELL, key)), "accuracy_a": mean[a].get(key), "accuracy_b": mean[b].get(key),
                     "difference": d.difference, "ci_low": d.ci_low, "ci_high": d.ci_high, "seeds": d.seeds,
                     "sentences": d.sentences})
    cells = pd.DataFrame(rows)
    if cells.empty:
        raise PetraError(f"{a} and {b} share no (source, target, PE, recipe, k) cell scored at the same seeds")
    return Versus(a, b, differs, cells, _pooled(cells))


def _pooled(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in cells.groupby(POOLED, sort=False):
        found = across_targets([TargetDifference(r.target, r.difference, r.ci_low, r.ci_high)
                                for r in group.itertuples()])
        rows.append({**dict(zip(POOLED, key)), "targets": len(group), "seeds": int(group["seeds"].min()),
                     "mean": found.mean, "ci_low": found.ci_low, "ci_high": found.ci_high, "tau": found.tau,
                     "i2": found.i2, "wins": found.wins, "ties": found.ties, "losses": found.losses,
                     "verdict": found.verdict,
                     "ahead_on": ", ".join(t.target for t in found.targets if t.side > 0),
                     "behind_on": ", ".join(t.target for t in found.targets if t.side < 0)})
    return pd.DataFrame(rows)


def versus_lines(found: Versus, a_name: str = "A", b_name: str = "B") -> list[str]:
    """The verdict in sentences, B against A, per (PE, recipe, k, source)."""
    lines = []
    for r in found.across.itertuples():
        k = "zero-shot" if r.shots == 0 else f"k = {r.shots}"
        recipe = "" if r.recipe == "zero_shot" else f" + {r.recipe}"
        interval = f"{r.mean:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], τ {r.tau:.3f}, I² {r.i2:.0%}"
        where = f"{r.encoding}{recipe}, {k}, from {r.source}, {r.targets} target{'s' if r.targets > 1 else ''}"
        if r.verdict == DEPENDS:
            said = f"depends on the language ({interval}; {b_name} ahead on {r.ahead_on}; behind on {r.behind_on})"
        elif r.verdict == TIE:
            said = f"{b_name} ≈ {a_name}: tie ({interval}; ahead on {r.wins}, tied on {r.ties}, behind on {r.losses})"
        else:
            side = "ahead of" if r.mean > 0 else "behind"
            said = f"{b_name} {side} {a_name} ({interval}; ahead on {r.wins}, tied on {r.ties}, behind on {r.losses})"
        lines.append(f"{where}: {said}")
    return lines
