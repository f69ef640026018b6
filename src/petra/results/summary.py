"""From run records to the tables a person reads: mean ± std per PE and recipe, t intervals over seeds,
gain vs scratch with the negative-transfer alarm, and the stability columns."""

from __future__ import annotations

import pandas as pd

from petra.metrics.stability import GainStats, SeedStats
from petra.tasks import run_metrics

GROUP = ["source", "target", "encoding", "recipe", "shots"]


def summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (source, target, encoding, recipe, k) over seeds (zero-shot rows have no scratch and no gain).

    ``negative_transfer`` is raised when the 95% t interval of the seed-paired gain lies wholly
    below zero: pretraining reliably made the target worse than scratch on the same data and budget.
    """
    group = [c for c in GROUP if c in runs.columns]  # older results have no 'shots' or 'source'
    rows = [_summarise(dict(zip(group, key)), part) for key, part in runs.groupby(group, sort=False)]
    targets = list(dict.fromkeys(runs["target"]))  # keep the runs' order (the config's)
    frame = pd.DataFrame(rows)
    return frame.sort_values("target", key=lambda t: t.map(targets.index), kind="stable", ignore_index=True)


def _summarise(key: dict, group: pd.DataFrame) -> dict:
    group = group.sort_values("seed")
    acc = SeedStats.of(group["accuracy"])
    gain = GainStats.of(group["accuracy"], group["scratch_accuracy"])
    scratch = SeedStats.of(group["scratch_accuracy"]) if group["scratch_accuracy"].notna().all() else None
    return {
        **key,
        "seeds": acc.n,
        "accuracy_mean": acc.mean, "accuracy_std": acc.std, "accuracy_ci_low": acc.ci_low,
        "accuracy_ci_high": acc.ci_high, "accuracy_cv": acc.cv, "accuracy_worst": acc.worst,
        "scratch_mean": group["scratch_accuracy"].mean(),
        "scratch_ci_low": scratch.ci_low if scratch else float("nan"),
        "scratch_ci_high": scratch.ci_high if scratch else float("nan"),
        "test_sentences": int(group["test_sentences"].min()) if "test_sentences" in group else None,
        "zero_shot_mean": group["zero_shot_accuracy"].mean(),
        "gain_mean": gain.stats.mean, "gain_std": gain.stats.std,
        "gain_ci_low": gain.stats.ci_low, "gain_ci_high": gain.stats.ci_high,
        "negative_transfer": gain.negative_transfer,
        "source_accuracy_mean": group["source_accuracy"].mean(),
        "steps_to_95_mean": _mean(group.get("steps_to_95")),
        "loss_volatility_mean": _mean(group.get("loss_volatility")),
        "pe_drift_mean": _mean(group.get("pe_drift")),
        "cka_mean": _mean(group.get("cka")),
        # the task's other metrics (parsing: UAS, scores without punctuation), mean over seeds
        **{f"{name}_mean": _mean(group[name]) for name in run_metrics() if name in group},
        # what the recipe trained (target embedding rows vary with the seed's k sentences: the mean)
        "trainable_parameters": _mean(group.get("trainable_parameters")),
        "trained": group["trained"].dropna().iloc[0] if "trained" in group and group["trained"].notna().any() else None,
    }


def recipe_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per recipe: the parameters it trained (fewest and most over PEs, targets and seeds) and, for
    the first of its runs, which groups."""
    if "trainable_parameters" not in runs or runs["trainable_parameters"].isna().all():
        return pd.DataFrame()  # zero-shot only, or results written before recipes counted
    tuned = runs.dropna(subset=["trainable_parameters"])
    rows = [{"recipe": recipe, "fewest": int(part["trainable_parameters"].min()),
             "most": int(part["trainable_parameters"].max()), "trained (first run)": part["trained"].iloc[0]}
            for recipe, part in tuned.groupby("recipe", sort=False)]
    return pd.DataFrame(rows)


def _mean(column: pd.Series | None) -> float:
    if column is None:
        return float("nan")
    values = pd.to_numeric(column, errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")
