"""The transfer experiment: pretrain on the source language, fine-tune on each low-resource
target with every recipe, and train the same target from scratch as the baseline.

One *unit* = (encoding, seed): one pretraining shared by all targets and recipes. Units are
independent, so they run in parallel processes; results do not depend on the worker count.
A unit is a sequence of *phases* (pretrain, then per target: zero-shot, scratch, each recipe),
each seeded on its own, so a unit resumed after a crash reproduces the uninterrupted numbers.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch

from petra.config import Config, config_to_dict
from petra.data.batches import EncodedCorpus, collate, encode
from petra.data.synthetic import generate
from petra.data.vocab import LabelSet, Vocab
from petra.experiments.executors import Failure, LocalExecutor
from petra.data.mixing import LanguageWeighted, temperature_probabilities
from petra.experiments.phases import PhaseLog, fit_mixture, seeded_accuracy
from petra.encodings import build_encoding
from petra.experiments.seeding import seed_everything, stage_seed
from petra.metrics.stability import linear_cka, loss_volatility, pe_drift, steps_to_fraction
from petra.models import HeadSpec, PetraModel, build_model
from petra.models.language import AdaptivePE, add_language_embeddings, set_language
from petra.results.store import ResultStore, unit_key
from petra.training.adversarial import AdversarialObjective, LanguageDiscriminator
from petra.training.objectives import JointObjective, MLMObjective
from petra.training.recipes import apply_recipe


@dataclass(frozen=True)
class TransferData:
    vocab: Vocab
    labels: LabelSet
    num_classes: int
    source_train: EncodedCorpus
    source_test: EncodedCorpus
    targets: dict[str, tuple[EncodedCorpus, EncodedCorpus]]  # name -> (train, test)
    mix: list[EncodedCorpus]  # extra pretraining languages (multilingual pretraining)
    languages: list[str]  # index -> name, as stored in each corpus's ``lang``


@dataclass(frozen=True)
class RunRecord:
    """One fine-tuned model: (encoding, seed, target, recipe) and what it scored."""

    encoding: str
    seed: int
    target: str
    recipe: str
    accuracy: float  # target test accuracy after fine-tuning
    scratch_accuracy: float  # same target data and budget, no pretraining
    zero_shot_accuracy: float  # pretrained model on the target before fine-tuning
    source_accuracy: float  # pretrained model on the source test set
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


def prepare_data(config: Config) -> TransferData:
    """Generate every language's splits and one shared vocabulary (same config -> same data).
    Language indices: the source 0, then the extra pretraining languages, then the targets."""
    d, mix = config.data, config.pretrain.mix
    src = generate(d.source, d.source_train + d.test, seed=stage_seed(d.seed, d.source.name))
    extra = {s.name: generate(s, n, seed=stage_seed(d.seed, s.name)) for s, n in zip(mix.languages, mix.sentences)}
    tgt = {t.name: generate(t, d.target_train + d.test, seed=stage_seed(d.seed, t.name)) for t in d.targets}
    languages = [d.source.name, *extra, *tgt]
    index = {name: i for i, name in enumerate(languages)}
    train_sents = src[: d.source_train] + [w for s in extra.values() for w in s]
    train_sents += [w for s in tgt.values() for w in s[: d.target_train]]
    vocab = Vocab.build(w for s in train_sents for w in s.words)
    field_ = config.task.labels
    every = src + train_sents + [w for v in tgt.values() for w in v]
    labels = LabelSet.build(t for s in every for t in s.token_labels(field_))
    num_classes = len(labels) if config.task.type == "token" else 1 + max(s.label for s in src)

    def enc(sentences, name):
        return encode(sentences, vocab, labels, field_, lang=index[name])

    return TransferData(
        vocab, labels, num_classes, enc(src[: d.source_train], d.source.name), enc(src[d.source_train :], d.source.name),
        {name: (enc(s[: d.target_train], name), enc(s[d.target_train :], name)) for name, s in tgt.items()},
        [enc(s, name) for name, s in extra.items()], languages,
    )


def _new_model(config: Config, data: TransferData, encoding: str, seed: int) -> PetraModel:
    heads = {"task": HeadSpec(config.task.type, data.num_classes)}
    if "mlm" in config.pretrain.objectives:
        heads["mlm"] = HeadSpec("token", len(data.vocab))
    seed_everything(seed)
    return build_model(config.model, encoding, len(data.vocab), heads)


class UnitRunner:
    """Runs the phases of one (encoding, seed) unit, skipping those a previous attempt finished."""

    def __init__(self, config: Config, data: TransferData, encoding: str, seed: int, work: Path | None) -> None:
        self.config, self.data, self.encoding, self.seed = config, data, encoding, seed
        self.log = PhaseLog(work, config.run.checkpoint_every)
        self.out = UnitResult()
        self._pretrained: PetraModel | None = None

    def _seed(self, *parts: str) -> int:
        return stage_seed(self.seed, self.encoding, *parts)

    def pretrained(self) -> PetraModel:
        """The pretrained model: trained now, or restored from the finished phase's checkpoint."""
        if self._pretrained is None:
            p, data = self.config.pretrain, self.data
            model = _new_model(self.config, data, self.encoding, self._seed("init"))
            mlm = None
            if "mlm" in p.objectives:
                generator = torch.Generator().manual_seed(self._seed("mask"))
                mlm = MLMObjective(len(data.vocab), data.vocab.mask_id, p.mask_prob, generator)
            weight = p.task_weight if "task" in p.objectives else 0.0
            objective = JointObjective(self.config.task.type, weight, mlm, p.mlm_weight)
            corpora = [data.source_train, *data.mix]
            if p.mix.language_embeddings:
                add_language_embeddings(model, len(data.languages))
            if p.mix.loss_weights is not None:
                objective = LanguageWeighted(objective, {c.lang: w for c, w in zip(corpora, p.mix.loss_weights)})
            if p.adversary.weight > 0:
                total = p.epochs * sum(-(-len(c) // p.batch_size) for c in corpora)
                objective = self._adversarial(model, objective, p.adversary, total)
            seed_everything(self._seed("pretrain"))
            probabilities = temperature_probabilities([len(c) for c in corpora], p.mix.alpha)
            result = fit_mixture(model, corpora, probabilities, objective, p, data.vocab.pad_id,
                                 self._seed("pretrain"), self.log.checkpointer("pretrain"))
            self._pretrained = model
            if "pretrain" not in self.log.done:
                self.log.record("pretrain", {"seconds": result.seconds, "losses": result.losses})
        return self._pretrained

    def _adversarial(self, model: PetraModel, objective, adversary, total_steps: int, task_languages=None):
        """Attach a language discriminator to ``model`` and wrap ``objective`` with its loss."""
        model.discriminator = LanguageDiscriminator(self.config.model.dim, len(self.data.languages), adversary.hidden)
        return AdversarialObjective(objective, model.discriminator, adversary.weight, total_steps,
                                    adversary.schedule, task_languages)

    def run(self) -> UnitResult:
        task, pad = self.config.task.type, self.data.vocab.pad_id
        if "pretrain" not in self.log.done:
            self.pretrained()
        pre = self.log.done["pretrain"]
        source = self.log.once("source", lambda: seeded_accuracy(
            self.pretrained(), self.data.source_test, task, pad, self._seed("eval")))
        self._curve(self.config.data.source.name, "pretrain", "loss", enumerate(pre["losses"], 1))
        for target, (train_set, test_set) in self.data.targets.items():
            zero = self.log.once(f"zero_shot/{target}", lambda: seeded_accuracy(
                self.pretrained(), test_set, task, pad, self._seed(target, "eval")))
            scratch = self.log.once(f"scratch/{target}", lambda: self._finetune(target, "scratch", None))
            self._curves(target, "scratch", scratch)
            done: dict[str, dict] = {}
            for recipe in self.config.finetune.recipes:
                if recipe == "frozen_pe" and "full" in done and not self._pe_has_parameters():
                    done[recipe] = done["full"]  # identical training: nothing of the PE could change
                    continue
                done[recipe] = self.log.once(f"{recipe}/{target}", lambda: self._finetune(target, recipe, recipe))
                self._curves(target, recipe, done[recipe])
            for recipe, r in done.items():
                self.out.records.append(RunRecord(
                    self.encoding, self.seed, target, recipe, r["accuracy"], scratch["accuracy"], zero, source,
                    pre["seconds"], r["seconds"], r["steps_to_95"], r["loss_volatility"],
                    r.get("pe_drift"), r.get("pe_cosine_change"), r.get("cka"),
                ))
        return self.out

    def _pe_has_parameters(self) -> bool:
        m = self.config.model
        pe = build_encoding(self.encoding, m.dim, m.heads, m.max_len, m.encoding_options.get(self.encoding, {}))
        return any(True for _ in pe.parameters())

    def _finetune(self, target: str, phase: str, recipe: str | None) -> dict:
        """Scratch (``recipe`` None: fresh init) or a recipe applied to a copy of the pretrained model."""
        f, task, pad = self.config.finetune, self.config.task.type, self.data.vocab.pad_id
        train_set, test_set = self.data.targets[target]
        if recipe is None:
            model = _new_model(self.config, self.data, self.encoding, self._seed(target, "scratch-init"))
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
        seed_everything(self._seed(target, phase))
        result = fit_mixture(
            model, corpora, probabilities, objective, f, pad, self._seed(target, "finetune"),
            self.log.checkpointer(f"{phase}-{target}"), steps=per_epoch,
            evaluate=lambda m: seeded_accuracy(m, test_set, task, pad, self._seed(target, "curve")),
            eval_every=max(1, steps // f.curve_points) if f.curve_points else 0,
        )
        accuracy = seeded_accuracy(model, test_set, task, pad, self._seed(target, "eval"))
        points = result.evals
        out = {
            "accuracy": accuracy, "seconds": result.seconds, "losses": result.losses, "evals": points,
            "steps_to_95": steps_to_fraction([s for s, _ in points], [a for _, a in points]),
            "loss_volatility": loss_volatility(result.losses),
        }
        if recipe is not None:
            out.update(self._drift_and_cka(model, test_set))
        self.log.discard_checkpoint(f"{phase}-{target}")
        return out

    def _drift_and_cka(self, tuned: PetraModel, test_set: EncodedCorpus) -> dict:
        before = {k: v.detach() for k, v in self.pretrained().encoding.named_parameters()}
        # adaptive_pe wraps the PE: its drift is that of the wrapped (frozen) table, f lives outside it
        tuned_pe = tuned.encoding.base if isinstance(tuned.encoding, AdaptivePE) else tuned.encoding
        after = {k: v.detach() for k, v in tuned_pe.named_parameters()}
        drift = pe_drift(before, after)
        out = {"pe_drift": drift.relative_change, "pe_cosine_change": drift.cosine_structure_change} if drift else {}
        batch = collate(test_set, list(range(min(200, len(test_set)))), self.data.vocab.pad_id)
        set_language(self.pretrained(), batch.lang)
        set_language(tuned, batch.lang)
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(self._seed("cka"))
            x = self.pretrained().eval().encoder(batch.ids, batch.mask)[batch.mask]
            torch.manual_seed(self._seed("cka"))
            y = tuned.eval().encoder(batch.ids, batch.mask)[batch.mask]
        out["cka"] = linear_cka(x, y)
        return out

    def _curves(self, target: str, phase: str, result: dict) -> None:
        self._curve(target, phase, "loss", enumerate(result["losses"], 1))
        self._curve(target, phase, "accuracy", result["evals"])

    def _curve(self, target: str, phase: str, kind: str, points: Iterable) -> None:
        base = {"encoding": self.encoding, "seed": self.seed, "target": target, "phase": phase, "kind": kind}
        self.out.curves += [{**base, "step": int(s), "value": float(v)} for s, v in points]


def run_unit(config: Config, data: TransferData, encoding: str, seed: int, work: Path | None = None) -> UnitResult:
    torch.set_num_threads(1)  # units run in parallel processes; one thread each wastes nothing
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


def run(
    config: Config, store: ResultStore, on_unit_done: Callable[[str, int], None] | None = None, executor=None,
) -> TransferResults:
    """Every (encoding, seed) unit not yet in ``store``; each is stored the moment it finishes.
    ``executor`` defaults to a local pool of ``config.run.workers`` processes."""
    keys = unit_keys(config)
    pending = [unit for unit, key in keys.items() if not store.has(key)]
    for unit in keys:
        if unit not in pending and on_unit_done is not None:
            on_unit_done(*unit)
    failures = []
    if pending:
        data = prepare_data(config)
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
    return TransferResults(runs, store.curves(keys.values()), len(keys) - len(pending), failures)
