"""What one transfer unit produces: a record per (encoding, seed, target, recipe, k) and its curves."""

from __future__ import annotations

from dataclasses import dataclass, field

ZERO_SHOT = "zero_shot"  # the recipe column of k = 0 rows: the pretrained model, no target training


@dataclass(frozen=True)
class RunRecord:
    """One (encoding, seed, target, recipe, k) cell and what it scored; k = 0 is zero-shot."""

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
    pool: str  # the split the k sentences came from: train, dev ('' for k = 0)
    pretrain_seconds: float
    finetune_seconds: float
    steps_to_95: int | None = None  # first curve step reaching 95% of the final accuracy
    loss_volatility: float | None = None
    pe_drift: float | None = None  # ||P_ft - P_pre|| / ||P_pre|| (trainable PEs only)
    pe_cosine_change: float | None = None
    cka: float | None = None  # linear CKA, pretrained vs fine-tuned, on target sentences

    @property
    def gain(self) -> float:
        return self.accuracy - self.scratch_accuracy


@dataclass
class UnitResult:
    records: list[RunRecord] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)  # long format: phase, kind, step, value
