"""Length generalization behind ``petra lengthgen``: train on input lengths ≤ N, test on N+1 … M.

The setting of Ruoss et al. (2023), "Randomized Positional Encodings Boost Length Generalization
of Transformers" (their public example script), shrunk to 2 CPU cores: an encoder-only
Transformer, non-autoregressive (input followed by blank tokens; see
:mod:`petra.data.algorithmic`), every training step a fresh batch of one input length drawn
uniformly from 1..N, evaluation on every length 1..M, and the paper's score: mean accuracy
over the lengths above N.

One *unit* = (task, encoding, seed). The training stream depends on (task, seed) only and the
evaluation sets on (task, length) only, so encodings are compared on identical data, paired by
seed. ``learned`` has a row for every position up to ``model.max_len``, which must cover the
longest test sequence; rows beyond the training lengths (2N for reverse string) are never
trained and stay at their initialisation — that is the point of the comparison, not a bug.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import yaml
from pydantic import Field, model_validator

from petra.config import DeviceSection, ModelConfig, OptimConfig, Section
from petra.device import resolve_device
from petra.data.algorithmic import PAD_ID, TASKS, AlgorithmicTask, build_task
from petra.encodings import get_spec
from petra.experiments.seeding import seed_everything, stage_seed
from petra.metrics.stability import SeedStats
from petra.models import HeadSpec, build_model
from petra.training.evaluate import accuracy
from petra.training.loop import train
from petra.training.objectives import JointObjective

TaskName = Literal["reverse_string", "duplicate_string", "parity_check", "modular_arithmetic", "binary_addition", "bucket_sort"]
ALL_ENCODINGS = ["random_ordered", "random_gaussian", "sinusoidal", "learned", "rope", "alibi", "none"]
DEFAULT_L_MAX = 2048  # random_ordered's own default (Ruoss et al.)


class LengthgenTrain(OptimConfig):
    epochs: int = Field(1, ge=1, le=1, description="fixed at 1: every step draws fresh data; set 'steps'")
    steps: int = Field(2000, gt=0, description="optimizer steps; each a fresh batch of one input length in 1..N")
    batch_size: int = Field(32, gt=0)
    lr: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.0, ge=0)


class LengthgenRun(DeviceSection):
    workers: int = Field(0, ge=0, description="parallel processes; 0 = one per CPU core")
    output_dir: Path = Path("runs/lengthgen")


def _default_model() -> ModelConfig:
    # No dropout: every step sees fresh data, so there is nothing to overfit. max_len 128 covers
    # reverse string's longest test sequence (64 inputs + 64 blanks) for `learned`.
    return ModelConfig(dim=64, layers=2, heads=4, ffn_dim=128, dropout=0.0, max_len=128)


class LengthgenConfig(Section):
    name: str = "lengthgen"
    tasks: list[TaskName] = Field(default_factory=lambda: ["reverse_string"], min_length=1)
    task_options: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="per-task options, e.g. {reverse_string: {alphabet: 2}, modular_arithmetic: {modulus: 5}}"
    )
    encodings: list[str] = Field(default_factory=lambda: list(ALL_ENCODINGS), min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    train_max_length: int = Field(16, ge=1, description="N: training input lengths are 1..N")
    test_max_length: int = Field(64, ge=2, description="M: evaluation on every input length 1..M")
    eval_samples: int = Field(64, gt=0, description="test examples per length")
    data_seed: int = Field(1234, description="seed of the evaluation sets (shared by every PE and seed)")
    model: ModelConfig = Field(default_factory=_default_model)
    train: LengthgenTrain = LengthgenTrain()
    run: LengthgenRun = LengthgenRun()

    @model_validator(mode="before")
    @classmethod
    def _model_defaults(cls, data):
        # A partial `model:` section keeps this experiment's model defaults, not ModelConfig's.
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            data = {**data, "model": {**_default_model().model_dump(), **data["model"]}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> LengthgenConfig:
        if self.test_max_length <= self.train_max_length:
            raise ValueError(f"test_max_length ({self.test_max_length}) must exceed train_max_length ({self.train_max_length})")
        for name in self.encodings:
            try:
                get_spec(name)
            except Exception as exc:  # PetraError: unknown name
                raise ValueError(str(exc)) from None
        unknown = sorted(set(self.task_options) - set(self.tasks))
        if unknown:
            raise ValueError(f"task_options names tasks not in 'tasks': {unknown}")
        unknown = sorted(set(self.model.encoding_options) - set(self.encodings))
        if unknown:
            raise ValueError(f"model.encoding_options names encodings not in 'encodings': {unknown}")
        self._check_position_ranges()
        return self

    def _check_position_ranges(self) -> None:
        longest = max(self.task(name).sequence_length(self.test_max_length) for name in self.tasks)
        if "learned" in self.encodings and self.model.max_len < longest:
            raise ValueError(f"model.max_len ({self.model.max_len}) must cover the longest test sequence ({longest} "
                             "positions: input + blanks) so that 'learned' has a vector for every test position")
        l_max = self.model.encoding_options.get("random_ordered", {}).get("l_max", DEFAULT_L_MAX)
        if "random_ordered" in self.encodings and l_max < longest:
            raise ValueError(f"random_ordered l_max ({l_max}) must be >= the longest test sequence ({longest} positions)")

    def task(self, name: str) -> AlgorithmicTask:
        return build_task(name, **self.task_options.get(name, {}))


@dataclass(frozen=True)
class LengthRecord:
    task: str
    encoding: str
    seed: int
    length: int  # input length n
    accuracy: float  # per output token
    in_distribution: bool  # n <= N
    train_seconds: float
    final_loss: float  # mean training loss over the last 100 steps


def run_unit(config: LengthgenConfig, task_name: str, encoding: str, seed: int) -> list[LengthRecord]:
    torch.set_num_threads(1)  # units run in parallel processes
    task, N, t = config.task(task_name), config.train_max_length, config.train
    seed_everything(stage_seed(seed, task_name, encoding, "init"))
    device = resolve_device(config.run.device)
    model = build_model(config.model, encoding, task.vocab_size, {"task": HeadSpec("token", task.output_size)}).to(device)
    rng = np.random.default_rng(stage_seed(seed, task_name, "data"))  # same stream for every PE

    def stream(_epoch: int):
        for _ in range(t.steps):
            yield task.batch(rng, t.batch_size, int(rng.integers(1, N + 1)))

    result = train(model, stream, JointObjective("token"), t, t.steps)
    torch.manual_seed(stage_seed(seed, task_name, encoding, "eval"))  # random PEs sample at test time too
    records = []
    for n in range(1, config.test_max_length + 1):
        corpus = task.corpus(np.random.default_rng(stage_seed(config.data_seed, task_name, "eval", str(n))), config.eval_samples, n)
        acc = accuracy(model, corpus, "token", PAD_ID, batch_size=config.eval_samples)
        records.append(LengthRecord(task_name, encoding, seed, n, acc, n <= N, result.seconds, float(np.mean(result.losses[-100:]))))
    return records


def run(config: LengthgenConfig, on_unit_done: Callable[[str, str, int], None] | None = None) -> list[LengthRecord]:
    units = [(task, e, s) for task in config.tasks for e in config.encodings for s in config.seeds]
    workers = min(config.run.workers or os.cpu_count() or 1, len(units))
    records: list[LengthRecord] = []
    for unit, unit_records in zip(units, _map_units(config, units, workers)):
        records += unit_records
        if on_unit_done is not None:
            on_unit_done(*unit)
    return records


def _map_units(config: LengthgenConfig, units, workers: int) -> Iterable[list[LengthRecord]]:
    if workers <= 1:
        yield from (run_unit(config, *unit) for unit in units)
        return
    # spawn, not fork: forking a process that has used torch's thread pools can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_unit, config, *unit) for unit in units]
        yield from (future.result() for future in futures)


def scores_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (task, encoding, seed): mean accuracy over training lengths and over unseen lengths (the score)."""
    keys = ["task", "encoding", "seed"]
    in_dist = runs[runs["in_distribution"]].groupby(keys, sort=False)["accuracy"].mean().rename("in_distribution")
    unseen = runs[~runs["in_distribution"]].groupby(keys, sort=False)["accuracy"].mean().rename("unseen_lengths")
    seconds = runs.groupby(keys, sort=False)["train_seconds"].first()
    return pd.concat([in_dist, unseen, seconds], axis=1).reset_index()


def summary_frame(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (task, encoding), group in scores.groupby(["task", "encoding"], sort=False):
        group = group.sort_values("seed")
        unseen, seen = SeedStats.of(group["unseen_lengths"]), SeedStats.of(group["in_distribution"])
        rows.append({"task": task, "encoding": encoding, "seeds": unseen.n, "in_distribution_mean": seen.mean,
                     "in_distribution_std": seen.std, "unseen_mean": unseen.mean, "unseen_std": unseen.std,
                     "unseen_ci_low": unseen.ci_low, "unseen_ci_high": unseen.ci_high,
                     "unseen_per_seed": " ".join(f"{v:.3f}" for v in group["unseen_lengths"])})
    return pd.DataFrame(rows)


def comparison_frame(scores: pd.DataFrame, reference: str = "random_ordered") -> pd.DataFrame:
    """``reference`` minus every other PE on unseen lengths, paired by seed (same data stream)."""
    rows = []
    for task, group in scores.groupby("task", sort=False):
        ref = group[group["encoding"] == reference].set_index("seed")["unseen_lengths"]
        if ref.empty:
            continue
        for encoding in (e for e in dict.fromkeys(group["encoding"]) if e != reference):
            other = group[group["encoding"] == encoding].set_index("seed")["unseen_lengths"]
            diff = (ref - other).dropna()
            stats = SeedStats.of(diff)
            rows.append({"task": task, "reference": reference, "versus": encoding, "seeds": stats.n,
                         "difference_mean": stats.mean, "difference_std": stats.std, "ci_low": stats.ci_low,
                         "ci_high": stats.ci_high, "wins": int((diff > 0).sum())})
    return pd.DataFrame(rows)


def write_outputs(directory: Path, config: LengthgenConfig, records: list[LengthRecord], seconds: float):
    """config.yaml, runs.csv (per length), scores.csv, summary.csv, comparison.csv, metrics.json, accuracy_by_length.png."""
    runs = pd.DataFrame([asdict(r) for r in records])
    scores = scores_frame(runs)
    summary, comparison = summary_frame(scores), comparison_frame(scores)
    (directory / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    for name, frame in (("runs", runs), ("scores", scores), ("summary", summary), ("comparison", comparison)):
        frame.to_csv(directory / f"{name}.csv", index=False)
    metrics = {"name": config.name, "wall_seconds": round(seconds, 2), "summary": summary.to_dict(orient="records"),
               "comparison": comparison.to_dict(orient="records")}
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_lengths(runs, config, directory / "accuracy_by_length.png")
    return summary, comparison


def plot_lengths(runs: pd.DataFrame, config: LengthgenConfig, path: Path) -> Path:
    """Accuracy per input length: line = mean over seeds, band = min..max over seeds."""
    tasks = list(dict.fromkeys(runs["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for encoding, group in runs[runs["task"] == task].groupby("encoding", sort=False):
            by_length = group.groupby("length")["accuracy"]
            mean = by_length.mean()
            line = ax.plot(mean.index, mean.to_numpy(), lw=1.4, label=encoding)[0]
            ax.fill_between(mean.index, by_length.min().to_numpy(), by_length.max().to_numpy(), color=line.get_color(), alpha=0.15)
        ax.axvline(config.train_max_length + 0.5, color="grey", ls="--", lw=1)
        ax.axhline(1.0 / config.task(task).output_size, color="grey", ls=":", lw=1)
        ax.set_title(f"{task}: train lengths 1..{config.train_max_length} (left of dashed line)")
        ax.set_xlabel("input length")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("per-token accuracy")
    axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


__all__ = ["LengthgenConfig", "LengthRecord", "TASKS", "run", "run_unit", "write_outputs"]
