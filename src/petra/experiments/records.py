"""What one transfer unit produces: a record per (source, encoding, seed, target, recipe, k), the
per-sentence scores behind each record's accuracy, and the learning curves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunRecord:
    """One (source, encoding, seed, target, recipe, k) cell and what it scored; k = 0 is zero-shot."""

    source: str  # the language pretrained on
    encoding: str
    seed: int
    target: str
    recipe: str
    shots: int  # k target sentences drawn for fine-tuning (0: zero-shot, recipe ZERO_SHOT)
    accuracy: float  # target test accuracy after fine-tuning
    scratch_accuracy: float  # same target data and budget, no pretraining (NaN for k = 0)
    zero_shot_accuracy: float  # pretrained model on the target before fine-tuning
    source_accuracy: float  # pretrained model on the source test set
    train_sentences: int  # k plus what augmentation added
    pool: str  # where the k sentences came from: train, dev, train+dev, test-folds ('' for k = 0)
    test_sentences: int  # target test sentences scored (under test-folds: over all folds)
    pretrain_seconds: float
    finetune_seconds: float
    steps_to_95: int | None = None  # first curve step reaching 95% of the final accuracy
    loss_volatility: float | None = None
    pe_drift: float | None = None  # ||P_ft - P_pre|| / ||P_pre|| (trainable PEs only)
    pe_cosine_change: float | None = None
    cka: float | None = None  # linear CKA, pretrained vs fine-tuned, on target sentences (None with a grown vocabulary)
    vocab_added: int | None = None  # finetune.extend_vocab: pieces this fine-tuning added (None: off)
    trainable_parameters: int | None = None  # what the recipe trained (None: zero-shot and older results)
    trained: str | None = None  # the same by group, as in "adapters 8,448 + task head 2,193"
    metrics: dict[str, float] = field(default_factory=dict)  # the task's others (petra.tasks.Task.metrics)

    @property
    def gain(self) -> float:
        return self.accuracy - self.scratch_accuracy

    def row(self) -> dict[str, Any]:
        """The record as a row of runs.csv: the task's metrics are columns of their own."""
        row = asdict(self)
        metrics = row.pop("metrics")
        return {**row, **metrics}


@dataclass
class UnitResult:
    records: list[RunRecord] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)  # long format: phase, kind, step, value
    scores: list[dict] = field(default_factory=list)  # per record: test rows, labels right, labels scored
    resumed: str | None = None  # what it took over from a killed attempt (petra.experiments.phases.PhaseLog.resumed)
    profile: dict[str, float] = field(default_factory=dict)  # wall seconds per part of the unit (petra.timing)


def curve_rows(points, **base) -> list[dict]:
    """Long-format curve rows: ``base`` (source, encoding, seed, target, phase, shots, kind) per (step, value)."""
    return [{**base, "step": int(s), "value": float(v)} for s, v in points]


def pool_folds(results: list[dict], rows: list[list[int]]) -> dict:
    """One fine-tuning's outcome from its per-fold outcomes (test folds): every test sentence was
    scored once, in one fold, so the scores concatenate and the accuracy pools them; curves are
    averaged step by step (same k, same steps), seconds add up."""
    if len(results) == 1:
        return {**results[0], "sentence": rows[0]}
    correct = [c for r in results for c in r["correct"]]
    total = [t for r in results for t in r["total"]]
    evals = [(s, float(np.mean([r["evals"][i][1] for r in results]))) for i, (s, _) in enumerate(results[0]["evals"])]
    losses = np.mean([r["losses"] for r in results], axis=0).tolist()
    out = {"correct": correct, "total": total, "sentence": [i for part in rows for i in part],
           "accuracy": sum(correct) / max(sum(total), 1), "seconds": sum(r["seconds"] for r in results),
           "losses": losses, "evals": evals}
    # the task's right / scored counts and breakdown numbers add up over folds (names are the same in each)
    out["counts"] = {name: np.sum([r["counts"][name] for r in results], axis=0).tolist() for name in results[0].get("counts", {})}
    out["breakdown"] = {name: _add([r["breakdown"][name] for r in results]) for name in results[0].get("breakdown", {})}
    for key in ("trainable_parameters", "trained"):  # the same recipe on the same model in every fold
        out[key] = results[0].get(key)
    for key in ("steps_to_95", "loss_volatility", "pe_drift", "pe_cosine_change", "cka"):
        values = [r[key] for r in results if r.get(key) is not None]
        out[key] = float(np.mean(values)) if values else None
    if out["steps_to_95"] is not None:
        out["steps_to_95"] = int(round(out["steps_to_95"]))
    return out


def _add(values: list[list]) -> list:
    return values[0] if values[0] and isinstance(values[0][0], str) else np.sum(values, axis=0).tolist()
