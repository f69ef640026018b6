"""`petra advise`: which source to transfer from, learned from transfer petra measured.

* :func:`matrix_table` turns a source × target run (``configs/source_matrix.yaml``) into the
  ranker's training table: per (source, target) pair its features (petra.metrics.advice_features)
  and its measured transfer (mean over PEs and seeds; per PE too).
* :func:`advise` ranks candidate sources for a new target with a ranker fitted on that table, and
  predicts each one's transfer (following the ranker's order; petra.metrics.ranking.Calibration)
  with a 90% interval from the table's leave-one-target-out errors.
* :func:`evidence` says what result stores measured on the target (or its nearest measured target):
  the PE and recipe their claims support, or that they hold no evidence.
* :func:`evaluate` is the leave-one-target-out table of every ranker and baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from petra.data.sentence import Sentence
from petra.errors import PetraError
from petra.tasks import get_task
from petra.metrics.advice_features import (ALL_FEATURES, HIGHER_IS_CLOSER, STRUCTURE_FEATURES, URIEL_FEATURES,
                                          AdviceLanguage, describe, pair_features)
from petra.metrics.stability import mean_ci
from petra.metrics.ranking import (EnglishFirst, LambdaRank, Random, Ridge, SingleFeature, calibrate,
                                   leave_one_target_out)

OUTCOMES = ("k_shot", "zero_shot")  # the mean fine-tuned accuracy at the matrix's smallest k > 0; zero-shot accuracy
INTERVAL = 0.9
MIN_SOURCE_SENTENCES = 200  # a treebank with fewer train (else dev) sentences is no candidate source
MIN_COVERAGE = 0.5  # a source whose scripts write less of the target's letters shares no script with it


# --- the training table --------------------------------------------------------------------------

def measured_transfer(runs: pd.DataFrame, recipe: str = "full") -> pd.DataFrame:
    """Per (source, target): mean zero-shot accuracy and mean ``recipe`` accuracy at the smallest k > 0,
    over PEs and seeds, and the k-shot mean per PE (``k_shot.<pe>``)."""
    ks = sorted(k for k in runs["shots"].unique() if k > 0)
    if not ks:
        raise PetraError("the matrix has no fine-tuned runs (k > 0)")
    pair = ["source", "target"]
    tuned = runs[(runs["shots"] == ks[0]) & (runs["recipe"] == recipe)]
    zero = runs.drop_duplicates([*pair, "encoding", "seed"])
    table = pd.DataFrame({
        "k_shot": tuned.groupby(pair)["accuracy"].mean(),
        "k_shot_std": tuned.groupby([*pair, "seed"])["accuracy"].mean().groupby(pair).std(ddof=1),
        "zero_shot": zero.groupby(pair)["zero_shot_accuracy"].mean(),
        "seeds": tuned.groupby(pair)["seed"].nunique(),
    })
    per_pe = tuned.groupby([*pair, "encoding"])["accuracy"].mean().unstack("encoding")
    table = table.join(per_pe.add_prefix("k_shot."))
    return table.reset_index().assign(shots=ks[0])


def _language(entry, data_dir: str | None, role: str, cap: int | None) -> AdviceLanguage:
    splits = entry.read(data_dir, cap, None, 0, ("train", "dev", "test"))
    return language_from_splits(entry.name, splits, role, entry.name if entry.kind == "treebank" else None, cap)


def language_from_splits(name: str, splits: dict[str, list[Sentence]], role: str, uriel_name: str | None,
                         cap: int | None = None) -> AdviceLanguage:
    """A source is measured on what it trains on (train, else dev); a target on all it has but test, else test."""
    if role == "source":
        text = splits.get("train") or splits.get("dev") or []
        if not text:
            raise PetraError(f"{name}: a source needs a train or dev split")
        return describe(name, text, min(len(text), cap or len(text)), uriel_name)
    text = [s for split, part in splits.items() if split != "test" for s in part] or splits.get("test", [])
    return describe(name, text, len(text), uriel_name)


def matrix_table(results: Path, data_dir: str | None = None) -> pd.DataFrame:
    """Features and measured transfer of every (source, target) pair of a finished source × target run."""
    from petra.config import load_config
    from petra.results.report import read_runs

    config = load_config(results / "config.yaml")
    generated = [e.name for e in config.languages() if e.kind == "synthetic"]
    if generated:
        raise PetraError(f"{results}: advice learns from real languages; {', '.join(generated)} are synthetic")
    runs = read_runs(results)
    measured = measured_transfer(runs)
    sources = {e.name: _language(e, data_dir, "source", config.data.source_train) for e in config.data.sources}
    targets = {e.name: _language(e, data_dir, "target", None) for e in config.data.targets}
    features = pd.DataFrame([{"source": s, "target": t, **pair_features(sources[s], targets[t], data_dir)}
                             for s, t in zip(measured["source"], measured["target"])])
    task = get_task(config.task).predicts  # upos, deprel, parse, feats, ...
    return measured.merge(features, on=["source", "target"]).assign(task=task, source_cap=config.data.source_train)


# --- advice --------------------------------------------------------------------------------------

def make_ranker(name: str, features=ALL_FEATURES):
    """A fresh ranker by name (``lambdarank``, ``ridge``, ``feature:<name>``, ``english``, ``random``)."""
    if name == "lambdarank":
        return lambda seed=0: LambdaRank(features)
    if name == "ridge":
        return lambda seed=0: Ridge(features)
    if name.startswith("feature:"):
        return lambda seed=0: SingleFeature(name.removeprefix("feature:"))
    if name in ("english", "random"):
        return lambda seed=0: (EnglishFirst if name == "english" else Random)(seed)
    raise PetraError(f"unknown ranker {name!r}: lambdarank, ridge, feature:<name>, english or random")


@dataclass(frozen=True)
class Advice:
    target: str
    ranking: pd.DataFrame  # one row per candidate, best first: rank, score, predicted outcome and interval, features
    outcome: str
    ranker: str
    notes: list[str]


def usable(rows: pd.DataFrame) -> pd.Series:
    """A candidate is usable when it shares the target's script or there are trees on both sides to compare."""
    structure = rows[list(STRUCTURE_FEATURES)].notna().any(axis=1)
    return (rows["script_overlap"] >= MIN_COVERAGE) | structure


def advise(target: AdviceLanguage, candidates: dict[str, AdviceLanguage], table: pd.DataFrame,
           outcome: str = "k_shot", ranker: str = "lambdarank", data_dir: str | None = None) -> Advice:
    """Every candidate source for ``target``, ranked by ``ranker`` fitted on ``table``."""
    if not candidates:
        raise PetraError("no candidate source: the data folder has no treebank with a train or dev split of "
                         f"{MIN_SOURCE_SENTENCES}+ sentences")
    rows = pd.DataFrame([{"source": name, "target": target.name, **pair_features(lang, target, data_dir)}
                         for name, lang in candidates.items()])
    ok = usable(rows)
    if not ok.any():
        best = rows.loc[rows["script_overlap"].idxmax()]
        raise PetraError(
            f"no usable source for {target.name}: no candidate shares its script (the most of its letters in a "
            f"script a candidate writes: {best['script_overlap']:.0%}, by {best['source']}) and {target.name} has no "
            "dependency trees to compare structure on; give a CoNLL-U file with HEAD and UPOS, or add a treebank in its script to the data folder")
    notes = []
    if target.name in set(table["target"]):  # its own measured transfer must not tell the ranker the answer
        table = table[table["target"] != target.name]
        notes.append(f"{target.name} is a target of the matrix: left out of the ranker's data (its measured "
                     "transfer is evidence below, not training)")
    make = make_ranker(ranker)
    scores = make().fit(table, outcome).score(rows)
    calibration = calibrate(table, make, outcome, ALL_FEATURES, INTERVAL)
    predicted = calibration.predict(scores, Ridge(ALL_FEATURES).fit(table, outcome).score(rows))
    rows = rows.assign(score=scores, predicted=predicted, predicted_low=predicted - calibration.half_width,
                       predicted_high=predicted + calibration.half_width, usable=ok)
    rows = rows.sort_values(["usable", "score"], ascending=False, kind="stable").reset_index(drop=True)
    rows.insert(0, "rank", np.arange(1, len(rows) + 1))
    top = rows.iloc[0]
    close = int((rows["predicted"] >= top["predicted_low"]).sum()) - 1
    if close:
        notes.append(f"{close} of the other {len(rows) - 1} candidates are predicted within the top one's 90% interval: "
                     "the order is the ranker's preference, not a measured difference")
    if (~ok).any():
        notes.append(f"{(~ok).sum()} candidate(s) share neither script nor trees with {target.name}: ranked last")
    if target.profile is None:
        notes.append(f"{target.name} has no dependency trees: structure distances are missing, text and URIEL decide")
    if target.uriel_name is None:
        notes.append(f"{target.name}: no language named for URIEL (--language): URIEL distances are missing")
    return Advice(target.name, rows, outcome, ranker, notes)


# --- evaluation ----------------------------------------------------------------------------------

def baselines(table: pd.DataFrame) -> list[str]:
    """Every ranker the learned ones are compared with: English first, random, each single feature."""
    # target_ttr is the same for every source of a target: it cannot order them
    features = [f for f in ALL_FEATURES if f in table.columns and table[f].notna().any() and table[f].nunique() > 1
                and f != "target_ttr"]
    return ["english", "random", *(f"feature:{f}" for f in features)]


def evaluate(table: pd.DataFrame, outcome: str = "k_shot", k: int = 3) -> pd.DataFrame:
    """Leave-one-target-out NDCG@k and Spearman of every ranker: means over targets with 95% t intervals
    (targets the sampling unit; petra.metrics.stability.mean_ci)."""
    methods = {"lambdarank": make_ranker("lambdarank"), "ridge": make_ranker("ridge"),
               "lambdarank (URIEL only)": make_ranker("lambdarank", URIEL_FEATURES),
               "ridge (URIEL only)": make_ranker("ridge", URIEL_FEATURES),
               **{name: make_ranker(name) for name in baselines(table)}}
    rows = []
    for name, make in methods.items():
        draws = 50 if name in ("english", "random") else 1
        per_target = leave_one_target_out(table, make, outcome, k, draws)
        ndcg_low, ndcg_high = mean_ci(per_target["ndcg"].dropna())
        rho_low, rho_high = mean_ci(per_target["spearman"].dropna())
        rows.append({"ranker": name, "targets": len(per_target), f"ndcg@{k}": per_target["ndcg"].mean(),
                     f"ndcg@{k}_ci_low": ndcg_low, f"ndcg@{k}_ci_high": ndcg_high,
                     "spearman": per_target["spearman"].mean(), "spearman_ci_low": rho_low,
                     "spearman_ci_high": rho_high})
    return pd.DataFrame(rows).sort_values(f"ndcg@{k}", ascending=False, kind="stable").reset_index(drop=True)


def feature_signal(table: pd.DataFrame, outcome: str = "k_shot") -> pd.DataFrame:
    """Per feature: mean within-target Spearman with the outcome (signed so + = the feature helps rank),
    LambdaRank's split gain and ridge's standardised weight, fitted on the whole table."""
    from scipy.stats import spearmanr

    rows = []
    for feature in ALL_FEATURES:
        rhos = [spearmanr(g[feature], g[outcome]).statistic for _, g in table.groupby("target")
                if g[feature].notna().sum() > 2 and g[feature].nunique() > 1]
        sign = 1 if feature in HIGHER_IS_CLOSER else -1
        rows.append({"feature": feature, "within_target_rho": sign * float(np.nanmean(rhos)) if rhos else np.nan})
    frame = pd.DataFrame(rows).set_index("feature")
    frame["lambdarank_gain"] = LambdaRank(ALL_FEATURES).fit(table, outcome).importance()
    frame["ridge_weight"] = Ridge(ALL_FEATURES).fit(table, outcome).coefficients()
    return frame.sort_values("within_target_rho", ascending=False).reset_index()


# --- evidence from result stores -----------------------------------------------------------------

def _nearest(target: AdviceLanguage, measured: list[str], data_dir: str | None) -> tuple[str, float] | None:
    """The measured target nearest ``target`` by the combined structure distance (treebanks only)."""
    from petra.data.ud import find_treebank
    from petra.metrics.similarity import combined_distance

    if target.profile is None:
        return None
    found = []
    for name in measured:
        try:
            bank = find_treebank(name, data_dir)
        except PetraError:
            continue
        other = language_from_splits(name, {s: bank.read(s) for s in bank.splits}, "target", name)
        if other.profile is not None:
            found.append((name, combined_distance(other.profile, target.profile)))
    return min(found, key=lambda f: f[1]) if found else None


def evidence(target: AdviceLanguage, stores: list[Path], data_dir: str | None = None) -> list[str]:
    """What each result store's claims say about ``target`` (else its nearest measured target): which
    PE and recipe its numbers support, with their intervals; "no evidence" where none."""
    from petra.results.claims import claim_text
    from petra.results.replication import summarise
    from petra.results.report import load_run

    lines = []
    for store in stores:
        run = load_run(Path(store))
        found = summarise(run.runs, run.scores).claims
        measured = list(dict.fromkeys(c.target for c in found))
        about, prefix = target.name, ""
        if target.name not in measured:
            near = _nearest(target, measured, data_dir)
            if near is None:
                lines.append(f"{store}: no evidence (no runs on {target.name} or on a treebank to compare it with)")
                continue
            about, prefix = near[0], f"nearest measured target {near[0]} (combined distance {near[1]:.3f}): "
        for claim in sorted((c for c in found if c.target == about), key=lambda c: -c.shots):
            lines.append(f"{store}: {prefix}k = {claim.shots}: {claim_text(claim)}")
    return lines or [f"no evidence: no result store given (--results DIR) holds runs on {target.name}"]
