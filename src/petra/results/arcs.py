"""Attachment by arc direction and length (parsing runs): where positional encodings should
differ, and where a source with the opposite head direction should hurt.

From the per-record scores (``arcs_right`` / ``arcs_total`` per :data:`petra.tasks.parse.BUCKETS`,
and the same for the scratch model beside each record): UAS per bucket, mean and std over seeds.
"""

from __future__ import annotations

import pandas as pd

from petra.tasks.parse import BUCKETS

CELL = ["source", "target", "encoding", "recipe", "shots"]


def _long(scores: pd.DataFrame, prefix: str, recipe: str | None) -> pd.DataFrame:
    rows = []
    for r in scores.itertuples(index=False):
        right, total = getattr(r, f"{prefix}arcs_right"), getattr(r, f"{prefix}arcs_total")
        if right is None or (isinstance(right, float) and right != right):  # zero-shot rows have no scratch
            continue
        for bucket, (c, t) in enumerate(zip(right, total)):
            rows.append({"source": r.source, "target": r.target, "encoding": r.encoding, "recipe": recipe or r.recipe,
                         "shots": r.shots, "seed": r.seed, "bucket": BUCKETS[bucket], "uas": c / t if t else float("nan"),
                         "arcs": int(t)})
    return pd.DataFrame(rows)


def arc_breakdown(scores: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per (source, target, PE, recipe, k, bucket): UAS mean and std over seeds and the gold arcs per
    seed; recipe ``scratch``: the model trained from scratch on the same k sentences. None: no parse scores."""
    if scores is None or "arcs_right" not in scores:
        return None
    tuned = _long(scores, "", None)
    scratch = _long(scores[scores["shots"] > 0], "scratch_", "scratch").drop_duplicates(CELL + ["seed", "bucket"])
    frame = pd.concat([tuned, scratch], ignore_index=True)
    table = frame.groupby(CELL + ["bucket"], sort=False).agg(
        uas_mean=("uas", "mean"), uas_std=("uas", "std"), seeds=("seed", "nunique"), arcs=("arcs", "mean")).reset_index()
    table["bucket"] = pd.Categorical(table["bucket"], BUCKETS, ordered=True)
    return table  # in the scores' order (the config's), buckets in BUCKETS order within each cell
