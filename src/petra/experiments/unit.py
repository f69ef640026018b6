"""One *unit* of the transfer experiment = (encoding, seed): one pretraining per source
(petra.experiments.pretraining), shared by all targets, k and recipes, then per target: zero-shot,
and per k (and test fold): scratch and each recipe from each source.

A unit is a sequence of *phases*, each seeded on its own and logged when done
(petra.experiments.phases), so a unit resumed after a crash reproduces the uninterrupted numbers.
Phase seeds do not depend on k or the source (only the k-sentence draw depends on k): across k and
sources, a seed's models start from the same weights, a paired comparison.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from petra.experiments.transfer_config import Config
from petra.data.batches import EncodedCorpus
from petra.data.tokenize import AnyTokenizer
from petra.data.vocab_extension import Extension
from petra.encodings import has_parameters
from petra.experiments.phases import PhaseLog, fit_mixture, seeded_accuracy, seeded_scores
from petra.experiments.pretraining import new_model, pretrain, with_adversary
from petra.experiments.records import RunRecord, UnitResult, curve_rows, pool_folds
from petra.experiments.shots import ShotSets
from petra.seeding import seed_everything, stage_seed
from petra.timing import TimeProfile
from petra.experiments.source_stages import language_texts, train_stage
from petra.experiments.transfer_data import SourceData, TargetData, TransferData
from petra.metrics.stability import drift_and_cka, loss_volatility, steps_to_fraction
from petra.models import PetraModel
from petra.models.vocabulary import grow_embeddings
from petra.results.kept_models import SUFFIX, describe, link_model, model_name, rescore, save_model
from petra.tasks import get_task
from petra.training.objectives import JointObjective
from petra.training.recipes import ZERO_SHOT, Setup, SourceStage, apply_recipe, get_recipe, learning_rate


class UnitRunner:
    """Runs the phases of one (encoding, seed) unit - one pretraining per source - skipping those a
    previous attempt finished."""

    def __init__(self, config: Config, data: TransferData, encoding: str, seed: int, work: Path | None,
                 device: torch.device | str = "cpu", models: Path | None = None) -> None:
        self.config, self.data, self.encoding, self.seed, self.device = config, data, encoding, seed, torch.device(device)
        self.models = models  # where this unit's trained models are kept (petra.results.kept_models); None: nowhere
        self.task = get_task(config.task)
        self.log = PhaseLog(work, config.run.checkpoint_every)
        self.out = UnitResult()
        self.time = TimeProfile()  # where this attempt's wall time goes (phases a killed attempt finished: not here)
        self._pretrained: dict[str, PetraModel] = {}
        self._masked_lm: dict[str, PetraModel] = {}  # after masked-LM, before the task (a recipe's base)
        self._readied: dict[tuple[str, str], PetraModel] = {}  # (recipe, source): readied once per source (MAD-X)
        self._cka_references: dict = {}  # a start model's states on a target's test tokens (petra.metrics.stability)
        self.shots = ShotSets(config, data, self.task, seed, self.pretrained)

    def _seed(self, *parts: str) -> int:
        return stage_seed(self.seed, self.encoding, *parts)

    def pretrained(self, source: SourceData) -> PetraModel:
        """The model pretrained on ``source``: trained now, or restored from the finished phase's checkpoints."""
        if source.name not in self._pretrained:
            keep = any(get_recipe(r).masked_lm_base for r in self.config.finetune.recipes)
            with self.time.part("pretraining"):
                done = pretrain(self.config, self.data, source, self.encoding, self._seed, self.log, self.device, keep)
            self._pretrained[source.name] = done.model
            if done.masked_lm is not None:
                self._masked_lm[source.name] = done.masked_lm
            if f"pretrain/{source.name}" not in self.log.done:
                self.log.record(f"pretrain/{source.name}", {"seconds": done.seconds, "losses": done.losses})
        return self._pretrained[source.name]

    def start(self, recipe: str, source: SourceData) -> PetraModel:
        """The model recipe ``recipe`` starts from (zero_shot: the pretrained one, scored as it is): the
        pretrained one, or the one it readied for this source (MAD-X: masked-LM base + language adapters +
        task adapter), readied once and resumable."""
        r = None if recipe == ZERO_SHOT else get_recipe(recipe)
        if r is None or r.per_source is None:
            return self.pretrained(source)
        key = (recipe, source.name)
        if key not in self._readied:
            self.pretrained(source)
            model = copy.deepcopy(self._masked_lm[source.name] if r.masked_lm_base else self._pretrained[source.name])
            seconds: list[float] = []

            def train(m: PetraModel, corpora: list[EncodedCorpus], masked_lm: bool, name: str) -> None:
                seconds.append(train_stage(self.config, self.data, m, corpora, masked_lm,
                                           self._seed(recipe, source.name, name),
                                           self.log.checkpointer(f"{recipe}-{name}-{source.name}"), self.device))

            stage = SourceStage(source.lang, language_texts(self.data, source), source.train, train,
                                Setup(len(self.data.languages), self.config.finetune))
            with self.time.part("readying per source"):
                r.per_source(model, stage)
            self._readied[key] = model.to(self.device)
            if f"{recipe}/{source.name}" not in self.log.done:
                self.log.record(f"{recipe}/{source.name}", {"seconds": sum(seconds)})
        return self._readied[key]

    def run(self) -> UnitResult:
        task, pad, labels = self.task, self.data.pad_id, self.data.labels
        sources = list(self.data.sources.values())
        for source in sources:
            if f"pretrain/{source.name}" not in self.log.done:
                self.pretrained(source)
            self._curve(source.name, "pretrain", 0, "loss", enumerate(self.log.done[f"pretrain/{source.name}"]["losses"], 1),
                        source.name)
        starts = [ZERO_SHOT, *(r for r in self.config.finetune.recipes if get_recipe(r).per_source is not None)]
        on_source = {(s.name, r): self.log.once(f"{_prefix(r)}source/{s.name}", lambda: self._evaluated(seeded_accuracy,
            self.start(r, s), s.test, task, pad, self._seed("eval"), labels)) for s in sources for r in starts}
        zero_shot: dict[str, dict[str, float]] = {s.name: {} for s in sources}
        for target in self.data.targets.values():
            # zero-shot: the pretrained model, and each model a recipe readied per source, on the target
            zero = {(s.name, r): self.log.once(f"{_prefix(r)}zero_shot/{s.name}/{target.name}", lambda: self._evaluated(
                seeded_scores, self.start(r, s), target.test, task, pad, self._seed(target.name, "eval"), labels))
                for s in sources for r in starts}
            for s in sources:
                zero_shot[s.name][target.name] = zero[s.name, ZERO_SHOT]["accuracy"]
            accuracy = {key: z["accuracy"] for key, z in zero.items()}
            for k in target.shots(self.config.finetune.shots):
                if k == 0:
                    for (s, r), z in zero.items():
                        self._record(s, target, r, 0, {**z, "seconds": 0.0, "sentence": None},
                                     {"accuracy": float("nan")}, z["accuracy"], on_source[s, r], 0)
                else:
                    self._k_shot(target, k, accuracy, on_source)
        for s in sources:  # the pretrained model is every target's zero-shot model
            path = self._kept(ZERO_SHOT, s.name)
            if path is not None and not path.is_file():
                with self.time.part("keeping models"):
                    save_model(self.pretrained(s), path, self._meta(ZERO_SHOT, s.name, 0, zero_shot[s.name]))
        self.out.resumed = self.log.resumed()
        self.out.profile = self.time.table()
        return self.out

    def _evaluated(self, score, model: PetraModel, *args):
        """``score(model, *args)`` (petra.experiments.phases' seeded scorers), timed as evaluation."""
        with self.time.part("evaluation"):
            return score(model, *args)

    def _kept(self, recipe: str, source: str, target: str | None = None, k: int = 0) -> Path | None:
        return None if self.models is None else self.models / f"{model_name(recipe, source, target, k)}{SUFFIX}"

    def _meta(self, recipe: str, source: str, k: int, scores: dict[str, float], grown: AnyTokenizer | None = None) -> dict:
        return describe(self.config, self.data, self.encoding, self.seed, recipe, source, k, scores, grown)

    def _k_shot(self, target: TargetData, k: int, zero: dict[tuple[str, str], float],
                on_source: dict[tuple[str, str], float]) -> None:
        """Scratch and every recipe from every source on the same k sentences of ``target`` (drawn
        per seed; under test folds once per fold, scored on the held-out fold, then pooled)."""
        augmented = self.config.finetune.augment.enabled  # augmentation draws on the source: scratch per source
        scratch: dict[str | None, list] = {}
        tuned: dict[tuple[str, str], list] = {}
        rows, sizes = [], {}
        for fold in target.folds:
            where = f"{target.name}/{k}" + ("" if fold is None else f"/fold{fold}")
            with self.time.part("k-shot data"):
                grown = self.shots.grown(target, k, fold)
                test_set, scored = self.shots.test_set(target, fold, grown)
                plain = None if augmented else self.shots.encoded(target, k, fold, None, grown.tokenizer)
            rows.append(scored)
            if not augmented:
                scratch.setdefault(None, []).append(self.log.once(f"scratch/{where}", lambda: self._finetune(
                    target, test_set, plain, "scratch", f"scratch/{where}", grown)))
            for source in self.data.sources.values():
                with self.time.part("k-shot data"):
                    train_set = self.shots.encoded(target, k, fold, source, grown.tokenizer) if augmented else plain
                sizes[source.name] = len(train_set)
                if augmented:
                    label = f"scratch/{source.name}/{where}"
                    scratch.setdefault(source.name, []).append(self.log.once(label, lambda: self._finetune(
                        target, test_set, train_set, "scratch", label, grown)))
                done: dict[str, dict] = {}
                keep = k if fold == target.folds[0] else None  # under test folds, the first fold's model
                for recipe in self.config.finetune.recipes:
                    if get_recipe(recipe).full_without_pe_parameters and "full" in done and not has_parameters(self.encoding, self.config.model):
                        done[recipe] = done["full"]  # identical training: nothing of the PE could change
                        if keep is not None and self.models is not None:
                            link_model(self._kept("full", source.name, target.name, k), self._kept(recipe, source.name, target.name, k))
                    else:
                        label = f"{recipe}/{source.name}/{where}"
                        done[recipe] = self.log.once(label, lambda: self._finetune(
                            target, test_set, train_set, recipe, label, grown, source, keep))
                    tuned.setdefault((source.name, recipe), []).append(done[recipe])
        pooled_scratch = {key: pool_folds(results, rows) for key, results in scratch.items()}
        for key, result in pooled_scratch.items():
            self._curves(target.name, "scratch", k, result, key or "")
        for (source, recipe), results in tuned.items():
            r, base = pool_folds(results, rows), pooled_scratch[source if augmented else None]
            self._curves(target.name, recipe, k, r, source)
            path = self._kept(recipe, source, target.name, k)
            if len(results) > 1 and path is not None and path.is_file():  # test folds: rank by the pooled score
                with self.time.part("keeping models"):
                    rescore(path, {target.name: r["accuracy"]})
            start = recipe if (source, recipe) in zero else ZERO_SHOT  # the model this recipe started from
            self._record(source, target, recipe, k, r, base, zero[source, start], on_source[source, start],
                         sizes[source], grown.added if self.config.finetune.extend_vocab else None)

    def _record(self, source: str, target: TargetData, recipe: str, k: int, r: dict, scratch: dict, zero: float,
                on_source: float, train_sentences: int, vocab_added: int | None = None) -> None:
        """One record from fine-tuning result ``r`` and the ``scratch`` result beside it."""
        sentence = r["sentence"] if r["sentence"] is not None else list(range(len(target.test)))
        self.out.records.append(RunRecord(
            source=source, encoding=self.encoding, seed=self.seed, target=target.name, recipe=recipe, shots=k,
            accuracy=r["accuracy"], scratch_accuracy=scratch["accuracy"], zero_shot_accuracy=zero, source_accuracy=on_source,
            train_sentences=train_sentences, pool=target.pool.split if k else "", test_sentences=len(sentence),
            pretrain_seconds=self.log.done[f"pretrain/{source}"]["seconds"], finetune_seconds=r["seconds"],
            steps_to_95=r.get("steps_to_95"), loss_volatility=r.get("loss_volatility"), pe_drift=r.get("pe_drift"),
            pe_cosine_change=r.get("pe_cosine_change"), cka=r.get("cka"), vocab_added=vocab_added,
            trainable_parameters=r.get("trainable_parameters"), trained=r.get("trained"),
            metrics={name: right / max(scored, 1) for name, (right, scored) in r.get("counts", {}).items()},
        ))
        self.out.scores.append({"source": source, "encoding": self.encoding, "seed": self.seed, "target": target.name,
                                "recipe": recipe, "shots": k, "sentence": sentence, "correct": r["correct"],
                                "total": r["total"], **r.get("breakdown", {}),
                                **{f"scratch_{name}": value for name, value in scratch.get("breakdown", {}).items()}})

    def _finetune(self, target: TargetData, test_set: EncodedCorpus, train_set: EncodedCorpus, phase: str,
                  label: str, grown: Extension, source: SourceData | None = None, keep_k: int | None = None) -> dict:
        """Scratch (``source`` None: fresh init) or the recipe ``phase`` applied to a copy of the
        model pretrained on ``source``, its embeddings grown with ``grown``; scored on ``test_set``.
        ``label`` names its checkpoint; with ``keep_k`` (and a models folder) the trained model is kept
        as the (target, k) model, before the phase is logged done, so a resumed unit never lacks it."""
        with self.time.part("scratch" if source is None else "fine-tuning"):
            f, task, pad, name, labels = self.config.finetune, self.task, self.data.pad_id, target.name, self.data.labels
            if source is None:
                model = new_model(self.config, self.data, self.encoding, self._seed(name, "scratch-init"), self.device,
                                  len(grown.tokenizer), scratch=True)
            else:
                model = copy.deepcopy(self.start(phase, source))
                grow_embeddings(model, grown.replaced)
                pieces = frozenset(int(i) for ids in train_set.ids for i in np.unique(ids))
                trained = apply_recipe(model, phase, Setup(len(self.data.languages), f, pieces))
                model.to(self.device)  # the modules a recipe adds are made on the CPU
            per_epoch = -(-len(train_set) // f.batch_size)
            epochs = f.epochs if f.max_steps is None else min(f.epochs, -(-f.max_steps // per_epoch))
            objective, corpora, probabilities = JointObjective(task), [train_set], [1.0]
            if source is not None and get_recipe(phase).source_batches:
                # Source batches join (half the steps) so the discriminator has two languages to tell apart.
                per_epoch *= 2
                objective = with_adversary(model, objective, self.config, self.data, f.adversary, epochs * per_epoch,
                                           {train_set.lang})
                corpora, probabilities = [train_set, source.train], [0.5, 0.5]
            steps = epochs * per_epoch
            curve = None  # no curve_points: no curve, and no evaluation beyond the final score below
            if f.curve_points:
                curve = lambda m: self._evaluated(seeded_accuracy, m, test_set, task, pad, self._seed(name, "curve"), labels)  # noqa: E731
            seed_everything(self._seed(name, phase))
            checkpoint = label.replace("/", "-")
            result = fit_mixture(
                model, corpora, probabilities, objective, f.model_copy(update={"epochs": epochs, "lr": learning_rate(f, phase)}), pad,
                self._seed(name, "finetune"), self.log.checkpointer(checkpoint, at_end=False), steps=per_epoch,
                evaluate=curve, eval_every=max(1, steps // f.curve_points) if f.curve_points else 0,
            )
            if source is not None:
                get_recipe(phase).finish(model)
            points = result.evals
            out = {
                **self._evaluated(seeded_scores, model, test_set, task, pad, self._seed(name, "eval"), labels),
                "seconds": result.seconds, "losses": result.losses, "evals": points,
                # one point (no curve_points) is only the final score: no curve to read convergence from
                "steps_to_95": steps_to_fraction([s for s, _ in points], [a for _, a in points]) if len(points) > 1 else None,
                "loss_volatility": loss_volatility(result.losses),
            }
            if source is not None:
                out.update(trainable_parameters=trained.parameters, trained=trained.describe())
                # CKA compares both models on the same tokens: a grown vocabulary reads the text as other tokens
                with self.time.part("stability measures"):
                    out.update(drift_and_cka(self.start(phase, source), model, None if grown.added else test_set,
                                             self.data.pad_id, self.device, self._seed("cka"), self._cka_references))
                path = self._kept(phase, source.name, name, keep_k) if keep_k is not None else None
                if path is not None:
                    meta = self._meta(phase, source.name, keep_k, {name: out["accuracy"]}, grown.tokenizer if grown.added else None)
                    with self.time.part("keeping models"):
                        save_model(model, path, meta)
            self.log.discard_checkpoint(checkpoint)
            return out

    def _curves(self, target: str, phase: str, k: int, result: dict, source: str) -> None:
        self._curve(target, phase, k, "loss", enumerate(result["losses"], 1), source)
        self._curve(target, phase, k, "accuracy", result["evals"], source)

    def _curve(self, target: str, phase: str, k: int, kind: str, points: Iterable, source: str) -> None:
        """Curve points; ``source`` is the pretrained model's ('' for scratch, which has none)."""
        self.out.curves += curve_rows(points, source=source, encoding=self.encoding, seed=self.seed, target=target,
                                      phase=phase, shots=k, kind=kind)


def _prefix(recipe: str) -> str:
    """Phase-log names: the pretrained model's phases keep their names (logs of earlier runs resume)."""
    return "" if recipe == ZERO_SHOT else f"{recipe}/"
