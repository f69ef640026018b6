"""The transfer experiment, for any language source: pretrain on the source (and the mix), then
for each low-resource target: zero-shot, and for each k in ``finetune.shots`` every recipe on k
target sentences beside the same k sentences trained from scratch with the same budget.

One *unit* = (encoding, seed): one pretraining shared by all targets, k and recipes. Units are
independent, so they run in parallel processes; results do not depend on the worker count.
A unit is a sequence of *phases* (pretrain, then per target: zero-shot, per k: scratch, each
recipe), each seeded on its own, so a unit resumed after a crash reproduces the uninterrupted
numbers. Phase seeds do not depend on k (only the k-sentence draw does): across k, a seed's
scratch and pretrained models start from the same weights, a paired comparison.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch

import numpy as np

from petra.config import Config, config_to_dict
from petra.data.augmenters import Augmenters
from petra.data.batches import EncodedCorpus, collate
from petra.data.mixing import LanguageWeighted, temperature_probabilities
from petra.data.sources.pools import draw_shots
from petra.data.tokenize import encode_sentences
from petra.experiments.executors import Failure, LocalExecutor
from petra.experiments.records import ZERO_SHOT, RunRecord, UnitResult
from petra.experiments.transfer_data import TargetData, TransferData, missing_cells, prepare_data, tokenizer_key
from petra.experiments.phases import PhaseLog, fit_mixture, seeded_accuracy
from petra.encodings import build_encoding
from petra.experiments.seeding import seed_everything, stage_seed
from petra.metrics.stability import linear_cka, loss_volatility, pe_drift, steps_to_fraction
from petra.models import HeadSpec, PetraModel, build_model
from petra.models.language import AdaptivePE, add_language_embeddings, set_language
from petra.results.store import ResultStore, unit_key
from petra.training.adversarial import AdversarialObjective, LanguageDiscriminator
from petra.training.objectives import JointObjective, MLMObjective, TokenDropout
from petra.training.recipes import apply_recipe


def _new_model(config: Config, data: TransferData, encoding: str, seed: int) -> PetraModel:
    heads = {"task": HeadSpec(config.task.type, data.num_classes)}
    if "mlm" in config.pretrain.objectives:
        heads["mlm"] = HeadSpec("token", len(data.tokenizer))
    seed_everything(seed)
    return build_model(config.model, encoding, len(data.tokenizer), heads)


class UnitRunner:
    """Runs the phases of one (encoding, seed) unit, skipping those a previous attempt finished."""

    def __init__(self, config: Config, data: TransferData, encoding: str, seed: int, work: Path | None) -> None:
        self.config, self.data, self.encoding, self.seed = config, data, encoding, seed
        self.log = PhaseLog(work, config.run.checkpoint_every)
        self.out = UnitResult()
        self._pretrained: PetraModel | None = None
        self._augmenters: Augmenters | None = None

    def _seed(self, *parts: str) -> int:
        return stage_seed(self.seed, self.encoding, *parts)

    def pretrained(self) -> PetraModel:
        """The pretrained model: trained now, or restored from the finished phase's checkpoints."""
        if self._pretrained is None:
            p, data = self.config.pretrain, self.data
            model = _new_model(self.config, data, self.encoding, self._seed("init"))
            if p.mix.language_embeddings:
                add_language_embeddings(model, len(data.languages))
            stages = [("pretrain", p, self._pretrain_objective(mlm=True, task=True), self._pretraining_corpora())]
            if p.task_epochs is not None:  # masked-LM on all the text, then the task on the labelled languages
                stages = [("pretrain-mlm", p, self._pretrain_objective(mlm=True, task=False), self._pretraining_corpora()),
                          ("pretrain", p.model_copy(update={"epochs": p.task_epochs}),
                           self._pretrain_objective(mlm=False, task=True), [data.source_train, *data.mix])]
            seconds, losses = 0.0, []
            for i, (name, cfg, objective, corpora) in enumerate(stages):
                if p.adversary.weight > 0 and i == 0:
                    total = cfg.epochs * sum(-(-len(c) // cfg.batch_size) for c in corpora)
                    objective = self._adversarial(model, objective, p.adversary, total)
                seed_everything(self._seed(name))
                probabilities = temperature_probabilities([len(c) for c in corpora], p.mix.alpha)
                result = fit_mixture(model, corpora, probabilities, objective, cfg, data.pad_id,
                                     self._seed(name), self.log.checkpointer(name))
                seconds, losses = seconds + result.seconds, losses + result.losses
            self._pretrained = model
            if "pretrain" not in self.log.done:
                self.log.record("pretrain", {"seconds": seconds, "losses": losses})
        return self._pretrained

    def _pretraining_corpora(self) -> list[EncodedCorpus]:
        return [self.data.source_train, *self.data.mix, *self.data.target_text]

    def _pretrain_objective(self, mlm: bool, task: bool):
        """The pretraining loss (masked-LM and/or the task), weighted per language when configured."""
        p, data = self.config.pretrain, self.data
        masked_lm = dropout = None
        if mlm and "mlm" in p.objectives:
            generator = torch.Generator().manual_seed(self._seed("mask"))
            masked_lm = MLMObjective(len(data.tokenizer), data.tokenizer.mask_id, p.mask_prob, generator)
        if p.token_dropout and task:
            dropout = TokenDropout(p.token_dropout, data.tokenizer.mask_id,
                                   torch.Generator().manual_seed(self._seed("token-dropout")))
        weight = p.task_weight if task and "task" in p.objectives else 0.0
        objective = JointObjective(self.config.task.type, weight, masked_lm, p.mlm_weight, dropout,
                                   frozenset(c.lang for c in data.target_text))
        if p.mix.loss_weights is not None:
            corpora = [data.source_train, *data.mix]
            return LanguageWeighted(objective, {c.lang: w for c, w in zip(corpora, p.mix.loss_weights)})
        return objective

    def _adversarial(self, model: PetraModel, objective, adversary, total_steps: int, task_languages=None):
        """Attach a language discriminator to ``model`` and wrap ``objective`` with its loss."""
        model.discriminator = LanguageDiscriminator(self.config.model.dim, len(self.data.languages), adversary.hidden)
        return AdversarialObjective(objective, model.discriminator, adversary.weight, total_steps,
                                    adversary.schedule, task_languages)

    def run(self) -> UnitResult:
        task, pad = self.config.task.type, self.data.pad_id
        if "pretrain" not in self.log.done:
            self.pretrained()
        pre = self.log.done["pretrain"]
        source = self.log.once("source", lambda: seeded_accuracy(
            self.pretrained(), self.data.source_test, task, pad, self._seed("eval")))
        self._curve(self.config.data.source.name, "pretrain", 0, "loss", enumerate(pre["losses"], 1))
        for target in self.data.targets.values():
            zero = self.log.once(f"zero_shot/{target.name}", lambda: seeded_accuracy(
                self.pretrained(), target.test, task, pad, self._seed(target.name, "eval")))
            for k in self.config.finetune.shots:
                if k == 0:
                    self.out.records.append(RunRecord(self.encoding, self.seed, target.name, ZERO_SHOT, 0, zero,
                                                      float("nan"), zero, source, 0, "", pre["seconds"], 0.0))
                elif len(target.pool) >= k:  # smaller pools: see missing_cells
                    self._k_shot(target, k, zero, source)
        return self.out

    def _k_shot(self, target: TargetData, k: int, zero: float, source: float) -> None:
        """Scratch and every recipe on the same k sentences of ``target`` (drawn per seed)."""
        train_set = self._shots(target, k)
        scratch = self.log.once(f"scratch/{target.name}/{k}", lambda: self._finetune(target, k, train_set, "scratch", None))
        self._curves(target.name, "scratch", k, scratch)
        done: dict[str, dict] = {}
        for recipe in self.config.finetune.recipes:
            if recipe == "frozen_pe" and "full" in done and not self._pe_has_parameters():
                done[recipe] = done["full"]  # identical training: nothing of the PE could change
                continue
            done[recipe] = self.log.once(f"{recipe}/{target.name}/{k}",
                                         lambda: self._finetune(target, k, train_set, recipe, recipe))
            self._curves(target.name, recipe, k, done[recipe])
        for recipe, r in done.items():
            self.out.records.append(RunRecord(
                self.encoding, self.seed, target.name, recipe, k, r["accuracy"], scratch["accuracy"], zero, source,
                len(train_set), target.pool_split, self.log.done["pretrain"]["seconds"], r["seconds"],
                r["steps_to_95"], r["loss_volatility"], r.get("pe_drift"), r.get("pe_cosine_change"), r.get("cka"),
            ))

    def _shots(self, target: TargetData, k: int) -> EncodedCorpus:
        """k sentences of the target's pool, the same for every PE at this seed, plus augmentation."""
        rng = np.random.default_rng(stage_seed(self.seed, target.name, str(k), "sample"))
        sentences = draw_shots(target.pool, k, rng)
        augment = self.config.finetune.augment
        if augment.enabled:
            if self._augmenters is None:
                self._augmenters = Augmenters.build(augment, self.data.source_sentences, self.pretrained(),
                                                    self.data.tokenizer)
            sentences = self._augmenters.apply(sentences, target.order, rng)
        corpus, _ = encode_sentences(sentences, self.data.tokenizer, self.data.labels, self.config.task.labels,
                                     self.config.model.max_len, target.lang)
        return corpus

    def _pe_has_parameters(self) -> bool:
        m = self.config.model
        pe = build_encoding(self.encoding, m.dim, m.heads, m.max_len, m.encoding_options.get(self.encoding, {}))
        return any(True for _ in pe.parameters())

    def _finetune(self, target: TargetData, k: int, train_set: EncodedCorpus, phase: str, recipe: str | None) -> dict:
        """Scratch (``recipe`` None: fresh init) or a recipe applied to a copy of the pretrained model."""
        f, task, pad, name, test_set = self.config.finetune, self.config.task.type, self.data.pad_id, target.name, target.test
        if recipe is None:
            model = _new_model(self.config, self.data, self.encoding, self._seed(name, "scratch-init"))
        else:
            model = copy.deepcopy(self.pretrained())
            apply_recipe(model, recipe, len(self.data.languages), f.adaptive_hidden, f.adapter_bottleneck)
        per_epoch = -(-len(train_set) // f.batch_size)
        objective, corpora, probabilities = JointObjective(task), [train_set], [1.0]
        if recipe == "adversarial":
            # Source batches join (half the steps) so the discriminator has two languages to tell apart.
            per_epoch *= 2
            objective = self._adversarial(model, objective, f.adversary, f.epochs * per_epoch, {train_set.lang})
            corpora, probabilities = [train_set, self.data.source_train], [0.5, 0.5]
        steps = f.epochs * per_epoch
        curve = None  # no curve_points: no curve, and no evaluation beyond the final score below
        if f.curve_points:
            curve = lambda m: seeded_accuracy(m, test_set, task, pad, self._seed(name, "curve"))  # noqa: E731
        seed_everything(self._seed(name, phase))
        result = fit_mixture(
            model, corpora, probabilities, objective, f, pad, self._seed(name, "finetune"),
            self.log.checkpointer(f"{phase}-{name}-{k}", at_end=False), steps=per_epoch,
            evaluate=curve, eval_every=max(1, steps // f.curve_points) if f.curve_points else 0,
        )
        accuracy = seeded_accuracy(model, test_set, task, pad, self._seed(name, "eval"))
        points = result.evals
        out = {
            "accuracy": accuracy, "seconds": result.seconds, "losses": result.losses, "evals": points,
            # one point (no curve_points) is only the final score: no curve to read convergence from
            "steps_to_95": steps_to_fraction([s for s, _ in points], [a for _, a in points]) if len(points) > 1 else None,
            "loss_volatility": loss_volatility(result.losses),
        }
        if recipe is not None:
            out.update(self._drift_and_cka(model, test_set))
        self.log.discard_checkpoint(f"{phase}-{name}-{k}")
        return out

    def _drift_and_cka(self, tuned: PetraModel, test_set: EncodedCorpus) -> dict:
        before = {k: v.detach() for k, v in self.pretrained().encoding.named_parameters()}
        # adaptive_pe wraps the PE: its drift is that of the wrapped (frozen) table, f lives outside it
        tuned_pe = tuned.encoding.base if isinstance(tuned.encoding, AdaptivePE) else tuned.encoding
        after = {k: v.detach() for k, v in tuned_pe.named_parameters()}
        drift = pe_drift(before, after)
        out = {"pe_drift": drift.relative_change, "pe_cosine_change": drift.cosine_structure_change} if drift else {}
        # 200 test sentences in length-sorted batches of 32: one padded 200-row batch cost 3x as much
        rows = sorted(range(min(200, len(test_set))), key=lambda r: len(test_set.ids[r]))
        chunks = [collate(test_set, rows[i : i + 32], self.data.pad_id) for i in range(0, len(rows), 32)]
        out["cka"] = linear_cka(self._states(self.pretrained(), chunks), self._states(tuned, chunks))
        return out

    def _states(self, model: PetraModel, chunks: list) -> torch.Tensor:
        """Encoder states of every real token of ``chunks``, under the same seeded RNG for every model."""
        set_language(model, chunks[0].lang)
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(self._seed("cka"))
            return torch.cat([model.eval().encoder(b.ids, b.mask)[b.mask] for b in chunks])

    def _curves(self, target: str, phase: str, k: int, result: dict) -> None:
        self._curve(target, phase, k, "loss", enumerate(result["losses"], 1))
        self._curve(target, phase, k, "accuracy", result["evals"])

    def _curve(self, target: str, phase: str, k: int, kind: str, points: Iterable) -> None:
        base = {"encoding": self.encoding, "seed": self.seed, "target": target, "phase": phase, "shots": k, "kind": kind}
        self.out.curves += [{**base, "step": int(s), "value": float(v)} for s, v in points]


def run_unit(config: Config, data: TransferData, encoding: str, seed: int, work: Path | None = None) -> UnitResult:
    torch.set_num_threads(config.run.threads)  # units run in parallel processes; one thread each wastes nothing
    torch.use_deterministic_algorithms(True, warn_only=True)  # same seed -> same numbers
    return UnitRunner(config, data, encoding, seed, work).run()


def unit_keys(config: Config) -> dict[tuple[str, int], str]:
    """Each unit's store key: the resolved config minus what names or schedules runs."""
    resolved = {k: v for k, v in config_to_dict(config).items() if k not in ("name", "encodings", "seeds", "run")}
    return {(e, s): unit_key(resolved, encoding=e, seed=s) for e in config.encodings for s in config.seeds}


@dataclass(frozen=True)
class TransferResults:
    runs: pd.DataFrame
    curves: pd.DataFrame
    skipped: int  # units found finished in the store
    failures: list[str] = field(default_factory=list)  # units that failed every retry
    missing: list[str] = field(default_factory=list)  # (target, k) cells a target's pool is too small for
    data: TransferData | None = None  # None when every unit came from the store


def run(
    config: Config, store: ResultStore, on_unit_done: Callable[[str, int], None] | None = None, executor=None,
    data_dir: str | Path | None = None,
) -> TransferResults:
    """Every (encoding, seed) unit not yet in ``store``; each is stored the moment it finishes.
    ``executor`` defaults to a local pool of ``config.run.workers`` processes."""
    keys = unit_keys(config)
    pending = [unit for unit, key in keys.items() if not store.has(key)]
    for unit in keys:
        if unit not in pending and on_unit_done is not None:
            on_unit_done(*unit)
    failures, missing, data = [], [], None
    if pending:
        data = prepare_data(config, data_dir, store.shared_dir(f"tokenizer-{tokenizer_key(config)}"))
        missing = missing_cells(config, data)
        if executor is None:
            executor = LocalExecutor(min(config.run.workers or os.cpu_count() or 1, len(pending)))
        jobs = [(config, data, e, s, store.work_dir(keys[(e, s)])) for e, s in pending]
        for index, result in executor.map(run_unit, jobs):
            encoding, seed = pending[index]
            if isinstance(result, Failure):
                failures.append(f"{encoding} seed {seed}: {result.error}")
                continue
            records = pd.DataFrame([asdict(r) for r in result.records])
            store.put(keys[(encoding, seed)], records, pd.DataFrame(result.curves))
            if on_unit_done is not None:
                on_unit_done(encoding, seed)
    runs = store.records(keys.values())
    if not runs.empty:
        runs["gain"] = runs["accuracy"] - runs["scratch_accuracy"]
    return TransferResults(runs, store.curves(keys.values()), len(keys) - len(pending), failures, missing, data)
