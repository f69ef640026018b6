"""The gap experiment behind ``petra bound``: is the seed analysis's bound
``P(Δ ≥ ε) ≤ exp(−ε²/2σ²)`` on the generalization gap ``Δ = L_test − L_train`` borne out?

One *unit* = (encoding, seed): train a model on the synthetic-language task (any ``task``), then
evaluate ``L_train`` and ``L_test`` (the mean, bounded loss over the whole training and test
sets) under ``gap.draws`` independent PE draws. How a draw is made depends on the encoding:

* ``random_gaussian`` — its module is swapped for :class:`GaussianDraw`, which makes the draw
  explicit and seeded, in each ``gap.schemes``: ``shared`` (one N(0, I) table used for every
  example of both splits: Δ is a function of that one draw) or ``per_example`` (an independent
  table for each example: Δ is a function of many independent draws, which is what McDiarmid's
  inequality needs);
* any other encoding — torch's global RNG is reseeded per draw (``random_ordered`` samples a
  position subset per sequence, so its draws are per example); an encoding whose first two draws
  give identical losses is deterministic (``fixed``) and evaluated once: its only randomness is
  the training seed, so the pooled check over seeds has one sample per seed.

Analysis (:mod:`petra.metrics.bound`) runs per (encoding, scheme, seed) and pooled over seeds.
"""

from __future__ import annotations

import copy
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
import torch.nn.functional as F
import yaml
from pydantic import Field, model_validator

from petra.config import DeviceSection, ModelConfig, OptimConfig, Section
from petra.tasks import TaskConfig
from petra.device import resolve_device
from petra.data.batches import IGNORE, EncodedCorpus, batches, collate, encode
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.encodings import PositionalEncoding
from petra.encodings.registry import check_fit
from petra.experiments.seeding import seed_everything, stage_seed
from petra.metrics.bound import BoundCheck, bounded_difference_sigma2, check_bounds
from petra.models import HeadSpec, PetraModel, build_model
from petra.training.loop import train
from petra.training.objectives import JointObjective

Scheme = Literal["shared", "per_example"]


class GapData(Section):
    language: LanguageSpec = LanguageSpec(name="svo")
    train: int = Field(1000, gt=1, description="training sentences (L_train is measured on all of them)")
    test: int = Field(1000, gt=1, description="held-out sentences (L_test)")
    seed: int = 1234


class GapTrain(OptimConfig):
    epochs: int = Field(20, gt=0)
    lr: float = Field(2e-3, gt=0)


class GapAnalysis(Section):
    draws: int = Field(200, ge=2, description="K: independent PE draws per trained model")
    schemes: list[Scheme] = Field(default_factory=lambda: ["shared", "per_example"], min_length=1)
    loss: Literal["cross_entropy", "zero_one"] = "cross_entropy"
    loss_bound: float = Field(5.0, gt=0, description="B: cross-entropy is clipped to [0, B] (zero_one uses B = 1)")
    confidence: float = Field(0.95, gt=0, lt=1, description="Clopper-Pearson band level")
    grid_points: int = Field(200, ge=10)

    @property
    def bound(self) -> float:
        return 1.0 if self.loss == "zero_one" else self.loss_bound


class GapRun(DeviceSection):
    workers: int = Field(0, ge=0, description="parallel processes; 0 = one per CPU core")
    output_dir: Path = Path("runs/bound")


class BoundConfig(Section):
    name: str = "bound"
    encodings: list[str] = Field(default_factory=lambda: ["random_gaussian", "sinusoidal", "learned"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    model: ModelConfig = ModelConfig()
    task: TaskConfig = TaskConfig()
    data: GapData = GapData()
    train: GapTrain = GapTrain()
    gap: GapAnalysis = GapAnalysis()
    run: GapRun = GapRun()

    @model_validator(mode="after")
    def _known_encodings(self) -> BoundConfig:
        check_fit(self.encodings, self.model)
        if self.task.type == "parse":  # the bound is over per-example label losses; a tree is not one label
            raise ValueError("task.type 'parse' has no per-example label loss for the bound: use 'sequence' or 'token'")
        return self


@dataclass(frozen=True)
class GapDataset:
    vocab: Vocab
    num_classes: int
    train: EncodedCorpus
    test: EncodedCorpus


@dataclass(frozen=True)
class DrawRecord:
    encoding: str
    seed: int
    scheme: str  # shared | per_example (random_gaussian), random (other RNG-driven PEs) | fixed
    draw: int
    train_loss: float
    test_loss: float
    train_accuracy: float
    test_accuracy: float
    train_seconds: float

    @property
    def gap(self) -> float:
        return self.test_loss - self.train_loss


class GaussianDraw(PositionalEncoding):
    """An explicit, seeded N(0, I) draw standing in for ``random_gaussian`` at evaluation.

    ``shared``: one ``(length, dim)`` table for every example. ``per_example``: a fresh table per
    example (and per call), so distinct examples never share a draw. Scaled like the original.
    """

    kind = "additive"

    def __init__(self, original: PositionalEncoding, scheme: Scheme, seed: int, length: int) -> None:
        super().__init__(original.dim, original.num_heads, max(original.max_len, length))
        self.scale = float(getattr(original, "scale", 1.0))
        self.scheme = scheme
        self.generator = torch.Generator().manual_seed(seed)
        self.table = torch.randn(self.max_len, self.dim, generator=self.generator) if scheme == "shared" else None

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        """(B, T): one row per example, so ``forward`` can give each its own draw."""
        return torch.arange(length, device=device).expand(batch, length)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        # drawn on the CPU generator and moved: the same draws on every device
        if self.table is not None:
            return self.scale * self.table[positions.long().cpu()].to(positions.device)
        return self.scale * torch.randn(*positions.shape, self.dim, generator=self.generator).to(positions.device)


def prepare_data(config: BoundConfig) -> GapDataset:
    d = config.data
    sentences = generate(d.language, d.train + d.test, seed=stage_seed(d.seed, d.language.name))
    train_s, test_s = sentences[: d.train], sentences[d.train :]
    vocab = Vocab.build(w for s in train_s for w in s.words)
    field = config.task.labels
    labels = LabelSet.build(t for s in sentences for t in s.token_labels(field))
    num_classes = len(labels) if config.task.type == "token" else 1 + max(s.label for s in sentences)
    return GapDataset(vocab, num_classes, encode(train_s, vocab, labels, field), encode(test_s, vocab, labels, field))


def train_model(config: BoundConfig, data: GapDataset, encoding: str, seed: int) -> tuple[PetraModel, float]:
    seed_everything(stage_seed(seed, encoding, "init"))
    model = build_model(config.model, encoding, len(data.vocab), {"task": HeadSpec(config.task.type, data.num_classes)})
    model.to(resolve_device(config.run.device))
    rng = np.random.default_rng(stage_seed(seed, encoding, "batches"))
    cfg, pad = config.train, data.vocab.pad_id
    steps = -(-len(data.train) // cfg.batch_size)
    result = train(model, lambda _: batches(data.train, cfg.batch_size, pad, rng), JointObjective(config.task.type), cfg, steps)
    return model, result.seconds


@torch.no_grad()
def split_loss(model: PetraModel, corpus: EncodedCorpus, config: BoundConfig, pad_id: int) -> tuple[float, float]:
    """(mean bounded loss, accuracy) over every labelled unit (sentence or token) of ``corpus``."""
    model.eval()
    order = np.argsort([len(x) for x in corpus.ids], kind="stable")  # little padding per batch
    loss_sum = correct = count = 0.0
    for start in range(0, len(order), 256):
        batch = collate(corpus, order[start : start + 256].tolist(), pad_id).to(next(model.parameters()).device)
        logits = model(batch.ids, batch.mask, head="task")
        targets = batch.labels if config.task.type == "sequence" else batch.tags
        keep = targets != IGNORE
        logits, targets = logits[keep], targets[keep]
        hits = logits.argmax(-1) == targets
        if config.gap.loss == "zero_one":
            losses = (~hits).float()
        else:
            losses = F.cross_entropy(logits, targets, reduction="none").clamp(max=config.gap.loss_bound)
        loss_sum += float(losses.sum())
        correct += float(hits.sum())
        count += int(keep.sum())
    return loss_sum / count, correct / count


def example_weights(corpus: EncodedCorpus, task_type: str) -> np.ndarray:
    """Each example's share of its split's mean loss (1/n per sentence, or tokens/total tokens)."""
    if task_type == "sequence":
        return np.full(len(corpus), 1.0 / len(corpus))
    counts = np.array([(t != IGNORE).sum() for t in corpus.tags], dtype=float)
    return counts / counts.sum()


def _evaluate(model: PetraModel, data: GapDataset, config: BoundConfig) -> tuple[float, float, float, float]:
    pad = data.vocab.pad_id
    return (*split_loss(model, data.train, config, pad), *split_loss(model, data.test, config, pad))


def _draws(model: PetraModel, data: GapDataset, config: BoundConfig, encoding: str, seed: int):
    """Yield (scheme, draw, train_loss, train_acc, test_loss, test_acc) for every draw."""
    K = config.gap.draws
    if encoding == "random_gaussian":
        longest = max(len(x) for x in data.train.ids + data.test.ids)
        for scheme in config.gap.schemes:
            probe = copy.deepcopy(model)
            original = probe.encoder.encoding
            for k in range(K):
                probe.encoder.encoding = GaussianDraw(original, scheme, stage_seed(seed, scheme, str(k)), longest)
                yield (scheme, k, *_evaluate(probe, data, config))
        return

    def draw(k: int) -> tuple[float, float, float, float]:
        torch.manual_seed(stage_seed(seed, encoding, "draw", str(k)))
        return _evaluate(model, data, config)

    first, second = draw(0), draw(1)
    if first == second:  # deterministic PE: every further draw would repeat this value
        yield ("fixed", 0, *first)
        return
    yield ("random", 0, *first)
    yield ("random", 1, *second)
    for k in range(2, K):
        yield ("random", k, *draw(k))


def run_unit(config: BoundConfig, data: GapDataset, encoding: str, seed: int) -> list[DrawRecord]:
    torch.set_num_threads(1)  # units run in parallel processes
    model, seconds = train_model(config, data, encoding, seed)
    return [
        DrawRecord(encoding, seed, scheme, k, tr_loss, te_loss, tr_acc, te_acc, seconds)
        for scheme, k, tr_loss, tr_acc, te_loss, te_acc in _draws(model, data, config, encoding, seed)
    ]


def run(config: BoundConfig, on_unit_done: Callable[[str, int], None] | None = None) -> tuple[GapDataset, list[DrawRecord]]:
    """Every (encoding, seed) unit, in parallel over ``config.run.workers`` processes."""
    data = prepare_data(config)
    units = [(e, s) for e in config.encodings for s in config.seeds]
    workers = min(config.run.workers or os.cpu_count() or 1, len(units))
    records: list[DrawRecord] = []
    for (encoding, seed), unit in zip(units, _map_units(config, data, units, workers)):
        records += unit
        if on_unit_done is not None:
            on_unit_done(encoding, seed)
    return data, records


def _map_units(config: BoundConfig, data: GapDataset, units, workers: int) -> Iterable[list[DrawRecord]]:
    if workers <= 1:
        yield from (run_unit(config, data, e, s) for e, s in units)
        return
    # spawn, not fork: forking a process that has used torch's thread pools can deadlock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_unit, config, data, e, s) for e, s in units]
        yield from (future.result() for future in futures)



@dataclass(frozen=True)
class Setting:
    """One set of gap samples judged together: a model's draws (``seed``) or all seeds pooled (None)."""

    encoding: str
    scheme: str
    seed: int | None
    check: BoundCheck


def analyse(records: list[DrawRecord], data: GapDataset, config: BoundConfig) -> list[Setting]:
    """Judge every (encoding, scheme) pooled over seeds, then every single model with >= 2 draws.

    Textbook σ²: McDiarmid with per-example weights for one model's ``per_example`` draws (the only
    case where Δ is a function of independent per-example variables); B² (Hoeffding's lemma, valid
    for any bounded Δ) everywhere else, including pools over seeds (a mixture of models).
    """
    g, bound = config.gap, config.gap.bound
    per_example = bounded_difference_sigma2(
        bound, example_weights(data.train, config.task.type), example_weights(data.test, config.task.type)
    )
    groups: dict[tuple[str, str], dict[int, list[float]]] = {}
    for r in records:
        groups.setdefault((r.encoding, r.scheme), {}).setdefault(r.seed, []).append(r.gap)
    settings = []
    for (encoding, scheme), by_seed in groups.items():
        pooled = [x for gaps in by_seed.values() for x in gaps]
        if len(pooled) >= 2:
            settings.append(Setting(encoding, scheme, None, check_bounds(pooled, bound**2, g.confidence, g.grid_points)))
        for seed, gaps in by_seed.items():
            if len(gaps) >= 2:
                sigma2 = per_example if scheme == "per_example" else bound**2
                settings.append(Setting(encoding, scheme, seed, check_bounds(gaps, sigma2, g.confidence, g.grid_points)))
    return settings


def verdict_rows(settings: list[Setting]) -> list[dict]:
    rows = []
    for s in settings:
        c = s.check
        rows.append({
            "encoding": s.encoding, "scheme": s.scheme, "seed": "all" if s.seed is None else s.seed, "n": c.n,
            "mean_gap": c.mean_gap, "sigma2_hat": c.sigma2, "textbook_sigma2": c.textbook_sigma2,
            "seed_bound_on_gap": c.seed_raw_verdict.text, "seed_bound_on_gap_first_eps": c.seed_raw_verdict.first_violation,
            "seed_bound_on_gap_max_excess": c.seed_raw_verdict.max_excess,
            "seed_bound_centred": c.seed_centred_verdict.text, "seed_bound_centred_max_excess": c.seed_centred_verdict.max_excess,
            "textbook_centred": c.textbook_verdict.text, "textbook_centred_max_excess": c.textbook_verdict.max_excess,
            "textbook_at_max_deviation": c.textbook_verdict.bound_at_max,
        })
    return rows


def curve_rows(settings: list[Setting]) -> list[dict]:
    """Every pooled setting's curves on its grids, for re-plotting without rerunning."""
    rows = []
    for s in (s for s in settings if s.seed is None):
        c = s.check
        for which, tail, curves in (("gap", c.raw, {"seed_bound": c.seed_raw}),
                                    ("centred_gap", c.centred, {"seed_bound": c.seed_centred, "textbook": c.textbook})):
            for i, eps in enumerate(tail.eps):
                rows.append({"encoding": s.encoding, "scheme": s.scheme, "variable": which, "eps": eps,
                             "tail": tail.p_hat[i], "tail_low": tail.low[i], "tail_high": tail.high[i],
                             **{name: float(curve[i]) for name, curve in curves.items()}})
    return rows


def write_outputs(directory: Path, config: BoundConfig, data: GapDataset, records: list[DrawRecord], seconds: float):
    """config.yaml, draws.csv, verdicts.csv, curves.csv, metrics.json and the figures: tail_vs_bound.png
    (seeds pooled), tail_vs_bound_per_model.png (each model with >= 2 draws), gap_by_pe.png."""
    settings = analyse(records, data, config)
    draws = pd.DataFrame([{**asdict(r), "gap": r.gap} for r in records])
    verdicts = pd.DataFrame(verdict_rows(settings))
    (directory / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    draws.to_csv(directory / "draws.csv", index=False)
    verdicts.to_csv(directory / "verdicts.csv", index=False)
    pd.DataFrame(curve_rows(settings)).to_csv(directory / "curves.csv", index=False)
    per_model = draws.groupby(["encoding", "scheme", "seed"], sort=False).agg(
        gap=("gap", "mean"), gap_sd=("gap", "std"), train_accuracy=("train_accuracy", "mean"),
        test_accuracy=("test_accuracy", "mean"), train_seconds=("train_seconds", "first"), draws=("draw", "count"),
    ).reset_index()
    metrics = {"name": config.name, "wall_seconds": round(seconds, 2), "loss": config.gap.loss, "loss_bound": config.gap.bound,
               "per_model": per_model.to_dict(orient="records"), "verdicts": verdicts.to_dict(orient="records")}
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    plot_tails([s for s in settings if s.seed is None], directory / "tail_vs_bound.png", config.gap.confidence)
    single = [s for s in settings if s.seed is not None]  # one model's draws: where McDiarmid applies
    if single:
        plot_tails(single, directory / "tail_vs_bound_per_model.png", config.gap.confidence)
    plot_gaps(per_model, directory / "gap_by_pe.png")
    return verdicts, per_model


def plot_tails(settings: list[Setting], path: Path, confidence: float) -> Path:
    """Row 1: P̂(Δ ≥ ε) with its band vs the seed's bound. Row 2: the centred gap vs both bounds."""
    fig, axes = plt.subplots(2, len(settings), figsize=(3.6 * len(settings), 6.4), squeeze=False)
    for col, s in enumerate(settings):
        c = s.check
        panels = ((c.raw, {"seed: exp(-ε²/2σ̂²)": c.seed_raw}, "ε  (Δ ≥ ε)"),
                  (c.centred, {"seed: exp(-ε²/2σ̂²)": c.seed_centred, "textbook (McDiarmid/Hoeffding)": c.textbook},
                   "ε  (Δ − mean Δ ≥ ε)"))
        for row, (tail, curves, xlabel) in enumerate(panels):
            ax = axes[row][col]
            floor = 0.5 / tail.n
            ax.fill_between(tail.eps, np.maximum(tail.low, floor), tail.high, alpha=0.25, label=f"{confidence:.0%} Clopper-Pearson")
            ax.step(tail.eps, np.maximum(tail.p_hat, floor), where="post", color="black", lw=1.2, label="empirical tail")
            for (name, curve), style in zip(curves.items(), ("--", ":")):
                ax.plot(tail.eps, np.maximum(curve, floor), style, lw=1.5, label=name)
            ax.set_yscale("log")
            ax.set_ylim(floor, 1.5)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
            if row == 0:
                who = "seeds pooled" if s.seed is None else f"seed {s.seed}"
                ax.set_title(f"{s.encoding} / {s.scheme} / {who}\nn={c.n}, mean Δ={c.mean_gap:.3f}, σ̂²={c.sigma2:.2g}",
                             fontsize=9)
    axes[0][0].set_ylabel("P(Δ ≥ ε)")
    axes[1][0].set_ylabel("P(Δ − mean ≥ ε)")
    axes[1][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_gaps(per_model: pd.DataFrame, path: Path) -> Path:
    """Mean gap per (PE, scheme): bar = mean over seeds, dots = seeds, whiskers = spread over draws."""
    keys = list(dict.fromkeys(zip(per_model["encoding"], per_model["scheme"])))
    fig, ax = plt.subplots(figsize=(1.4 * len(keys) + 2, 3.6))
    for i, (encoding, scheme) in enumerate(keys):
        rows = per_model[(per_model["encoding"] == encoding) & (per_model["scheme"] == scheme)]
        ax.bar(i, rows["gap"].mean(), 0.6, alpha=0.6)
        ax.errorbar(np.full(len(rows), i), rows["gap"], yerr=rows["gap_sd"].fillna(0), fmt="o", color="black", ms=3, capsize=2)
    ax.set_xticks(range(len(keys)), [f"{e}\n{s}" for e, s in keys], fontsize=8)
    ax.set_ylabel("gap  L_test − L_train")
    ax.axhline(0, color="grey", lw=0.8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
