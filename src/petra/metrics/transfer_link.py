"""Link structural distance to measured transfer: does a target farther from the source gain less
from pretraining, vary more across seeds, and score lower zero-shot?

Input is a results folder of a transfer run (``runs.csv`` + the resolved ``config.yaml``): one row
per source, encoding, seed, target, recipe and ``shots`` k (k = 0: zero-shot), for languages of any
kind (synthetic ones are regenerated from their spec, treebanks and files are read again). A run
with several sources gives one point per (source, target) pair: which source transfers best?

Per (source, target) pair, three outcomes:

* **gain** (fine-tuned − scratch accuracy, at one k > 0, by default the smallest) averaged
  over the selected encodings and recipes within each seed, then over seeds (error bar: std
  across seeds);
* **seed variance**: the variance across seeds of the fine-tuned accuracy, averaged over the
  (encoding, recipe) groups;
* **zero-shot accuracy** (the source-trained model on the target, before any target data),
  averaged like the gain — defined for test-only targets too, which have no gain.

Each source→target distance is correlated with each outcome by Spearman's ρ (Spearman 1904) with
a 95% percentile bootstrap CI over pairs (Efron & Tibshirani 1993): pairs are resampled with
replacement, and resamples in which either variable is constant (ρ undefined) are dropped and
counted. Pairs missing an outcome are left out of that correlation only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy.stats import rankdata, spearmanr

from petra.errors import PetraError
from petra.metrics.similarity import (
    COMBINED, MEASURES, URIEL_KINDS, combined_distance, feature_distance, uriel_distance,
)
from petra.metrics.structure import FEATURES, StructureProfile, profile, treebank_profile

log = logging.getLogger(__name__)
PROFILE_SENTENCES = 2000  # synthetic languages: sentences generated to measure a profile
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class SpearmanCI:
    rho: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int  # languages
    resamples_used: int  # bootstrap resamples where rho was defined


def spearman_ci(x: np.ndarray, y: np.ndarray, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                seed: int = 0) -> SpearmanCI:
    """Spearman's ρ with a percentile bootstrap CI over paired (x, y) observations (NaN pairs
    dropped). Fewer than 3 pairs, or a constant variable, give NaN."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return SpearmanCI(float("nan"), float("nan"), float("nan"), float("nan"), n, 0)
    result = spearmanr(x, y)
    index = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    rx, ry = rankdata(x[index], axis=1), rankdata(y[index], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    defined = denominator > 0
    rhos = (rx * ry).sum(axis=1)[defined] / denominator[defined]  # Pearson on ranks = Spearman
    alpha = (1 - level) / 2
    low, high = np.quantile(rhos, [alpha, 1 - alpha]) if len(rhos) else (float("nan"), float("nan"))
    return SpearmanCI(float(result.statistic), float(result.pvalue), float(low), float(high), n, int(defined.sum()))


# --- outcomes per pair ------------------------------------------------------------------------

def _split_outcomes(runs: pd.DataFrame, shots: int | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(fine-tuned rows at one k, zero-shot rows, their zero-shot accuracy)."""
    if "shots" not in runs.columns:  # written before k-shot runs: one k
        if shots is not None:
            raise PetraError("--shots needs a 'shots' column in runs.csv; these results have none")
        runs = runs.assign(shots=1)
    available = sorted(k for k in runs["shots"].unique() if k > 0)
    if shots is None and available:
        shots = available[0]
    if shots is not None and shots not in available:
        raise PetraError(f"no {shots}-shot runs in runs.csv (k-shot runs present: {available or 'none'})")
    zero = runs.drop_duplicates(["source", "target", "seed", "encoding"]) if "zero_shot_accuracy" in runs else runs.iloc[:0]
    return runs[runs["shots"] == shots], zero, zero.get("zero_shot_accuracy", pd.Series(dtype=float))


def per_pair(runs: pd.DataFrame, shots: int | None = None) -> pd.DataFrame:
    """One row per (source, target): gain mean and std across seeds, seeds, seed variance of the
    fine-tuned accuracy, and zero-shot accuracy (NaN where a pair lacks that outcome)."""
    if "source" not in runs.columns:
        runs = runs.assign(source="")
    tuned, zero, zero_accuracy = _split_outcomes(runs, shots)
    tuned = tuned[tuned["gain"].notna()]
    pair, groups = ["source", "target"], [c for c in ("encoding", "recipe") if c in tuned.columns]
    per_seed = tuned.groupby([*pair, "seed"])["gain"].mean().groupby(pair)
    variance = tuned.groupby([*pair, *groups])["accuracy"].var(ddof=1).groupby(pair).mean()
    zero_per_seed = zero.assign(zero_shot=zero_accuracy).groupby([*pair, "seed"])["zero_shot"].mean()
    frame = pd.DataFrame({
        "seeds": per_seed.size(),
        "gain_mean": per_seed.mean(),
        "gain_std": per_seed.std(ddof=1),
        "seed_variance": variance,
        "zero_shot_mean": zero_per_seed.groupby(pair).mean(),
    })
    pairs = list(dict.fromkeys(zip(runs["source"], runs["target"])))  # first-seen order, every pair kept
    frame = frame.reindex(pd.MultiIndex.from_tuples(pairs, names=pair))
    frame["seeds"] = frame["seeds"].fillna(0).astype(int)
    frame["gain_std"] = frame["gain_std"].where(frame["seeds"] != 1, 0.0)
    return frame.reset_index()


def _read_config(results: Path) -> dict[str, Any]:
    path = results / "config.yaml"
    if not path.is_file():
        raise PetraError(f"no config.yaml in {results}: it names the source and the target languages")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise PetraError(f"{path}: expected a mapping")
    return data


@dataclass(frozen=True)
class Languages:
    sources: dict[str, StructureProfile]
    targets: dict[str, StructureProfile]
    real: bool  # every language is a real one (URIEL applies)


def _profile(entry: Any, data_dir: str | None, seed: int) -> StructureProfile:
    """Structure of a language from every split its source holds (synthetic: PROFILE_SENTENCES)."""
    from petra.data.languages import read_language

    splits = read_language(entry, entry.name, data_dir, PROFILE_SENTENCES, 0, seed)
    return profile([s for split in splits.values() for s in split], entry.name)


def resolve_languages(results: Path, pairs: pd.DataFrame, data_dir: str | None, source: str | None) -> Languages:
    """Profiles of the runs' sources and targets, read as the config names them; ``source``
    (a treebank name) replaces the source of a one-source run."""
    from petra.config import parse_config
    from petra.seeding import stage_seed

    data = parse_config(_read_config(results), str(results / "config.yaml")).data  # a transfer run's
    entries = {t.name: t for t in data.targets}
    unknown = sorted(set(pairs["target"]) - set(entries))
    if unknown:
        raise PetraError(f"{results / 'runs.csv'}: target(s) {unknown} are not languages of config.yaml")
    sources = {s.name: s for s in data.sources}
    if source is not None:
        if len(sources) > 1:
            raise PetraError(f"--source replaces the source of a one-source run; this one has {list(sources)}")
        profiles = {source: treebank_profile(source, data_dir)}
        real = True
    else:
        unknown = sorted(set(pairs["source"]) - set(sources))
        if unknown:
            raise PetraError(f"{results / 'runs.csv'}: source(s) {unknown} are not languages of config.yaml")
        profiles = {n: _profile(e, data_dir, stage_seed(data.seed, n)) for n, e in sources.items()}
        real = all(e.kind != "synthetic" for e in sources.values())
    real = real and all(entries[t].kind != "synthetic" for t in set(pairs["target"]))
    targets = {t: _profile(entries[t], data_dir, stage_seed(data.seed, t)) for t in dict.fromkeys(pairs["target"])}
    return Languages(profiles, targets, real)


# --- the link ------------------------------------------------------------------------------------

def distances(languages: Languages, pairs: pd.DataFrame, data_dir: str | None = None) -> pd.DataFrame:
    """One row per (source, target) pair, one column per distance (structure, and URIEL for UD)."""
    rows = []
    for source_name, name in zip(pairs["source"], pairs["target"]):
        source, target = languages.sources[source_name], languages.targets[name]
        row: dict[str, Any] = {"source": source_name, "target": name}
        for feature in FEATURES:
            for measure in MEASURES:
                row[f"{feature}.{measure}"] = feature_distance(source, target, feature, measure)
        row[COMBINED] = combined_distance(source, target)
        if languages.real:
            for kind in URIEL_KINDS:
                row[f"uriel.{kind}"] = _uriel_or_nan(source.name, name, kind, data_dir)
        rows.append(row)
    return pd.DataFrame(rows)


def _uriel_or_nan(source: str, target: str, kind: str, data_dir: str | None) -> float:
    try:
        return uriel_distance(source, target, kind, data_dir)
    except PetraError as exc:  # no ISO code, or a language URIEL lacks: no value in that column
        log.warning("no URIEL %s distance %s–%s: %s", kind, source, target, exc)
        return float("nan")


OUTCOMES = {"gain": "gain_mean", "seed_variance": "seed_variance", "zero_shot": "zero_shot_mean"}


@dataclass(frozen=True)
class TransferLink:
    languages: pd.DataFrame  # per (source, target) pair: outcomes and every distance
    correlations: pd.DataFrame  # per (distance, outcome): n pairs, Spearman rho, bootstrap CI, p
    source: str  # the source(s), for titles


def link(runs: pd.DataFrame, results: Path, data_dir: str | None = None, source: str | None = None,
         shots: int | None = None) -> TransferLink:
    """Every distance against every outcome of ``runs`` (the rows of a results folder ``results``, whose
    ``config.yaml`` names the languages)."""
    if source is not None:
        runs = runs.assign(source=source)
    elif not runs["source"].astype(bool).all():  # written before runs named their source: the config's one
        from petra.config import parse_config

        data = parse_config(_read_config(results), str(results / "config.yaml")).data
        runs = runs.assign(source=data.sources[0].name)
    outcomes = per_pair(runs, shots)
    languages = resolve_languages(results, outcomes, data_dir, source)
    table = outcomes.merge(distances(languages, outcomes, data_dir), on=["source", "target"])
    distance_columns = [c for c in table.columns if c not in outcomes.columns]
    rows = []
    for column in distance_columns:
        for outcome, values in OUTCOMES.items():
            r = spearman_ci(table[column], table[values])
            rows.append({"distance": column, "outcome": outcome, "pairs": r.n, "rho": r.rho,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p_value, "resamples": r.resamples_used})
    return TransferLink(table, pd.DataFrame(rows), ", ".join(languages.sources))
