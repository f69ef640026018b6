"""The transfer experiment's config (``petra run``, ``petra demo``, ``petra sweep``): the languages,
pretraining, fine-tuning recipes and what a run keeps; built on :class:`petra.config.ExperimentConfig`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from petra.config import ExperimentConfig, OptimConfig, RunSection
from petra.data.augmenters import AugmentConfig
from petra.data.sources import Language, LanguageSpec, language_kind
from petra.data.sources.pools import POOLS
from petra.data.tokenize import PRETRAINED, TokenizerConfig, default_kind
from petra.data.vocab_extension import GROWING_KINDS
from petra.encodings import build_encoding, check_covers
from petra.errors import FieldError
from petra.section import Section
from petra.training.recipes import DEFAULT_RECIPES, EMBEDDINGS, get_recipe
from petra.tasks import TaskConfig, task_class


class DataConfig(Section):
    """The languages of a transfer experiment; each entry is any language source (petra.data.sources)."""

    source: Language | list[Language] = Field(
        LanguageSpec(name="svo"), description="the pretraining language, or a list: one pretraining per source, "
        "every target scored from each (which source transfers best?)")
    targets: list[Language] = Field(default_factory=lambda: [LanguageSpec(name="sov", word_order="SOV")])
    source_train: int | None = Field(4000, gt=0, description="source training sentences (a cap for treebanks; null = all)")
    test: int | None = Field(500, gt=0, description="test sentences per language (a seeded sample for treebanks; null = all)")
    seed: int = 1234

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and "target_train" in data:
            raise ValueError("target_train is now one value of finetune.shots (e.g. shots: [100])")
        return data

    @model_validator(mode="after")
    def _targets_given(self) -> DataConfig:
        if not self.targets:
            raise ValueError("at least one target language is required")
        if not self.sources:
            raise ValueError("source: at least one source language is required")
        return self

    @property
    def sources(self) -> list[Any]:
        return self.source if isinstance(self.source, list) else [self.source]

class AdversaryConfig(Section):
    """Language discriminator behind gradient reversal (Ganin et al. 2016); weight 0 = off."""

    weight: float = Field(0.0, ge=0)
    schedule: Literal["dann", "constant"] = Field("dann", description="dann: λ rises 0 -> 1 as 2/(1+e^(-10p)) - 1")
    hidden: int = Field(64, gt=0)


class MixConfig(Section):
    """Multilingual pretraining: more source languages beside ``data.source``."""

    languages: list[Language] = Field(default_factory=list, description="extra (labelled) pretraining languages")
    sentences: list[int] = Field(default_factory=list, description="training sentences per extra language (a cap for treebanks)")
    target_text: int = Field(0, ge=0, description="sentences of each target's fine-tuning pool (never its test split) "
                             "added to pretraining as unlabelled masked-LM text")
    alpha: float = Field(1.0, ge=0, le=1, description="temperature sampling p_i ∝ n_i^alpha (1: by size, 0: uniform)")
    loss_weights: list[float] | None = Field(None, description="λ_i per language, source first (default all 1)")
    language_embeddings: bool = False
    positions: Literal["shared", "per_language"] = Field(
        "shared", description="shared: one PE for every language; per_language: a copy of the PE per language, "
        "each trained on its own text (Dufter & Schütze 2020; needs a PE with parameters, and each target's text)")

    @model_validator(mode="after")
    def _lengths_agree(self) -> MixConfig:
        if len(self.sentences) != len(self.languages):
            raise ValueError(f"sentences ({len(self.sentences)}) must give one size per language ({len(self.languages)})")
        if self.loss_weights is not None and len(self.loss_weights) != 1 + len(self.languages):
            raise ValueError(f"loss_weights needs {1 + len(self.languages)} values (data.source first)")
        return self


class PretrainConfig(OptimConfig):
    objectives: list[Literal["mlm", "task"]] = Field(default_factory=lambda: ["mlm", "task"], min_length=1)
    mlm_weight: float = Field(1.0, ge=0)
    task_weight: float = Field(1.0, ge=0)
    mask_prob: float = Field(0.15, gt=0, lt=1)
    token_dropout: float = Field(0.0, ge=0, lt=1, description="share of input tokens hidden behind [MASK] for the task loss")
    task_epochs: int | None = Field(None, gt=0, description="null: masked-LM and the task train jointly for `epochs`; "
                                    "N: `epochs` of masked-LM on all pretraining text first, then N epochs of the task "
                                    "on the labelled languages (XTREME: pretrain, then fine-tune on the source)")
    mix: MixConfig = MixConfig()
    adversary: AdversaryConfig = AdversaryConfig()

    @model_validator(mode="after")
    def _stages_need_both_objectives(self) -> PretrainConfig:
        if self.task_epochs is not None and set(self.objectives) != {"mlm", "task"}:
            raise ValueError("task_epochs (masked-LM first, then the task) needs objectives [mlm, task]")
        return self


# On configs/ud_recipes.yaml (lr 0.001, 10 epochs, k = 10 and 100) the frozen-encoder recipes at 5 x lr
# rose from 0.08-0.19 below scratch to LoRA tying full fine-tuning and adapters above scratch.
FROZEN_ENCODER_LR_SCALE = 5.0


class FinetuneConfig(OptimConfig):
    recipes: list[str] = Field(default_factory=lambda: list(DEFAULT_RECIPES), min_length=1,
                               description="fine-tuning recipes (petra.training.recipes; `petra zoo` lists them)")
    shots: list[int | Literal["all"]] = Field(
        default_factory=lambda: [100], min_length=1,
        description="k target training sentences per run, drawn per seed; 0 = zero-shot only; all = the whole pool")
    pool: Literal[POOLS] = Field("auto", description="where k-shot sentences come from: auto = train, else dev, else "
                                 "train+dev, else test-folds (the first that holds the largest k)")
    folds: int = Field(5, ge=2, description="test-folds: the test split in F seeded folds; train on the others, score the held-out one")
    max_steps: int | None = Field(None, gt=0, description="fewer epochs when k is large: at most ceil(max_steps / "
                                  "batches per epoch) epochs (null: always `epochs`)")
    augment: AugmentConfig = AugmentConfig()
    epochs: int = Field(30, gt=0)
    adaptive_hidden: int = Field(32, gt=0, description="frozen_adaptive_pe, full_adaptive_pe: hidden width of f(p; θ_lang)")
    adapter_bottleneck: int = Field(16, gt=0, description="adapters, madx: bottleneck width")
    language_adapter_steps: int = Field(200, gt=0, description="madx: masked-LM steps that train each language's "
                                        "adapter on its own text (pretraining's batch size and lr)")
    lora_rank: int = Field(8, gt=0, description="lora: rank r of each low-rank update")
    lora_alpha: float = Field(16.0, gt=0, description="lora: the update is scaled by alpha / r")
    frozen_encoder_lr: float | None = Field(
        None, gt=0, description="learning rate of the frozen-encoder recipes (frozen_adaptive_pe, adapters, lora, madx); "
        f"null: {FROZEN_ENCODER_LR_SCALE:g} x lr. Their zero-initialised modules learn little at full fine-tuning's lr "
        "in a few steps (measured: README, configs/ud_recipes.yaml)")

    @property
    def frozen_lr(self) -> float:
        """The frozen-encoder recipes' learning rate."""
        return self.frozen_encoder_lr if self.frozen_encoder_lr is not None else FROZEN_ENCODER_LR_SCALE * self.lr
    embeddings: Literal[EMBEDDINGS] = Field(
        "target", description="frozen-encoder recipes (frozen_adaptive_pe, adapters, lora, madx): target = the embedding rows "
        "of the pieces the k sentences use train, the rest stay as pretrained; all = the whole table; frozen = none")
    adversary: AdversaryConfig = AdversaryConfig(weight=0.1)
    curve_points: int = Field(10, ge=0, description="target-accuracy evaluations per fine-tuning (learning curve)")
    extend_vocab: int = Field(0, ge=0, description="new pieces learned from each fine-tuning's k target sentences and "
                              "the target's text:, added for that fine-tuning and its scratch model, each embedding "
                              "starting as the mean of the pieces it replaces (Wang et al. 2020); 0: off")

    @field_validator("recipes")
    @classmethod
    def _known_recipes(cls, recipes: list[str]) -> list[str]:
        for name in recipes:
            get_recipe(name)  # a clear error naming the recipes there are
        if len(set(recipes)) != len(recipes):
            raise ValueError(f"recipes must be distinct, got {recipes}")
        return recipes

    @model_validator(mode="after")
    def _shots_distinct(self) -> FinetuneConfig:
        if any(k != "all" and k < 0 for k in self.shots) or len(set(self.shots)) != len(self.shots):
            raise ValueError(f"shots must be distinct and >= 0 (or 'all'), got {self.shots}")
        return self

    @property
    def largest_k(self) -> int:
        """The largest k given as a number (what a pool must hold; 'all' takes what there is)."""
        return max([k for k in self.shots if k != "all"], default=0)


class RunConfig(RunSection):
    checkpoint_every: int = Field(100, ge=0, description="training steps between checkpoints (0 = phase ends only)")
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list, description="trackers "
                                                                       "each finished unit is logged to")
    keep_models: Literal["none", "best", "all"] = Field("best", description="models kept for `petra export`; best: "
                                                        "the best seed of each (source, target, PE, recipe, k)")
    ensemble: Literal["auto", "off"] | int = Field(
        "auto", description="seeds of a PE whose training phases run as one batched model (petra.training.members; "
        "the same numbers as one after another): N seeds per group, off, or auto (where it was measured to pay)")

    @field_validator("ensemble", mode="before")
    @classmethod
    def _ensemble_size(cls, value: Any) -> Any:
        if value is False:  # YAML reads a bare `off` as false
            return "off"
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ValueError(f"ensemble must be auto, off or a number of seeds >= 1, got {value}")
        return value

    @field_validator("report_to")
    @classmethod
    def _trackers_distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"report_to lists a tracker twice: {value}")
        return value


class Config(ExperimentConfig):
    """A transfer experiment (``petra run``, ``petra sweep``): pretrain on the source(s), fine-tune on each target."""

    experiment: Literal["transfer"] = "transfer"
    PRETRAINED_MODELS: ClassVar[bool] = True
    SCHEDULING: ClassVar[tuple[str, ...]] = (*ExperimentConfig.SCHEDULING, "replicate")
    LATER_FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (("finetune", "extend_vocab"),)
    replicate: list[int] = Field(default_factory=list, description="fresh seeds that run the experiment again: claims "
                                 "are made on `seeds` and checked on these (`petra replicate`)")
    task: TaskConfig = TaskConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: DataConfig = DataConfig()
    pretrain: PretrainConfig = PretrainConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    run: RunConfig = RunConfig()

    @model_validator(mode="before")
    @classmethod
    def _tokenizer_kind(cls, data: Any) -> Any:
        """A config that names no tokenizer kind gets the pretrained model's own, or else sub-words (with
        byte fallback) when any language is read from files - real text has words the sources never saw -
        and words when all are synthetic."""
        section = lambda value: value.model_dump() if isinstance(value, Section) else (value or {})  # noqa: E731
        if not isinstance(data, dict) or not isinstance(tokenizer := section(data.get("tokenizer")), dict):
            return data  # not a mapping: the field's own validation says so
        d, pretrain = section(data.get("data")), section(data.get("pretrain"))
        mix = section(pretrain.get("mix")) if isinstance(pretrain, dict) else None
        if tokenizer.get("kind") is not None:
            return data
        model = section(data.get("model"))
        if isinstance(model, dict) and model.get("pretrained"):
            return {**data, "tokenizer": {**tokenizer, "kind": PRETRAINED}}
        if not isinstance(d, dict) or not isinstance(mix, dict):
            return data
        listed = lambda value: value if isinstance(value, list) else [value]  # noqa: E731
        entries = [*listed(d.get("source", [])), *listed(d.get("targets", [])), *listed(mix.get("languages", []))]
        files = any(language_kind(entry) != "synthetic" for entry in entries)
        return {**data, "tokenizer": {**tokenizer, "kind": default_kind(files)}}

    @property
    def all_seeds(self) -> list[int]:
        """The seeds units run with: the claims' and the replication's."""
        return [*self.seeds, *self.replicate]

    @model_validator(mode="after")
    def _replication_seeds_are_fresh(self) -> Config:
        again = sorted(set(self.seeds) & set(self.replicate))
        if again:
            raise ValueError(f"replicate: seeds {again} are in 'seeds' already; a replication needs seeds the claims did not use")
        if len(set(self.replicate)) != len(self.replicate):
            raise ValueError(f"replicate lists a seed twice: {self.replicate}")
        return self

    def languages(self) -> list[Any]:
        """Every language entry: the source, the extra pretraining languages, the targets."""
        return [*self.data.sources, *self.pretrain.mix.languages, *self.data.targets]

    @model_validator(mode="after")
    def _languages_fit_together(self) -> Config:
        languages = self.languages()
        names = [language.name for language in languages]
        if len(set(names)) != len(names):
            raise ValueError(f"language names must be distinct across source, pretrain.mix and targets, got {names}")
        known = [language.max_length for language in languages if language.max_length is not None]
        if known:
            check_covers(self.encodings, self.model, max(known), "the longest sentence the languages can produce")
        unlabelled = [language.name for language in languages if not language.sentence_labels]
        if task_class(self.task.type).sentence_labels and unlabelled:
            raise ValueError(f"task.type {self.task.type!r} needs a sentence label that only synthetic languages "
                             f"carry; {unlabelled} have none: use a word-level task (token, parse, feats)")
        generated = [language.name for language in languages if language.kind == "synthetic"]
        if generated and (self.data.source_train is None or self.data.test is None):
            raise ValueError(f"synthetic languages {generated} need numbers for data.source_train and data.test")
        if self.pretrain.mix.target_text and "mlm" not in self.pretrain.objectives:
            raise ValueError("pretrain.mix.target_text is unlabelled text: it needs the 'mlm' pretraining objective")
        if self.pretrain.adversary.weight > 0 and not self.pretrain.mix.languages:
            raise ValueError("pretrain.adversary needs two or more pretraining languages (add pretrain.mix.languages)")
        if self.pretrain.mix.positions == "per_language":
            self._check_language_positions()
        return self

    def _check_language_positions(self) -> None:
        m = self.model
        silent = [e for e in self.encodings if not any(True for _ in build_encoding(
            e, m.dim, m.heads, m.max_len, m.encoding_options.get(e, {})).parameters())]
        if silent:
            raise ValueError(f"pretrain.mix.positions per_language keeps a PE's parameters per language; encoding "
                             f"{silent[0]!r} has none (use learned or t5_bias)")
        if self.targets_without_text:
            raise ValueError(f"pretrain.mix.positions per_language: target {self.targets_without_text[0]!r} has no "
                             "text in masked-LM pretraining, so its positions would never train: set "
                             "pretrain.mix.target_text")

    @property
    def targets_without_text(self) -> list[str]:
        """Targets whose own text never reaches masked-LM pretraining (no pretrain.mix.target_text, no ``text:``)."""
        if "mlm" not in self.pretrain.objectives:
            return [t.name for t in self.data.targets]
        if self.pretrain.mix.target_text:
            return []
        return [t.name for t in self.data.targets if getattr(t, "text", None) is None]

    @model_validator(mode="after")
    def _pretrained_reads_its_own_way(self) -> Config:
        """A pretrained encoder reads with its own tokenizer."""
        pretrained = self.model.pretrained is not None
        if pretrained != (self.tokenizer.kind == PRETRAINED):
            raise FieldError("tokenizer.kind", "a pretrained model (model.pretrained) reads with its own tokenizer: "
                             "leave tokenizer.kind out" if pretrained else "tokenizer.kind 'pretrained' is the "
                             "tokenizer of model.pretrained, which is not set")
        if pretrained and self.tokenizer.path is not None:
            raise FieldError("tokenizer.path", "a pretrained model reads with its own tokenizer: drop tokenizer.path")
        return self

    @model_validator(mode="after")
    def _vocabulary_can_grow(self) -> Config:
        if self.finetune.extend_vocab and self.tokenizer.kind not in GROWING_KINDS:
            raise ValueError(f"finetune.extend_vocab grows only {' and '.join(GROWING_KINDS)} vocabularies (new "
                             f"{self.tokenizer.kind!r} pieces would re-segment words the run already knew)")
        if self.finetune.extend_vocab and self.tokenizer.path is not None:
            raise ValueError("finetune.extend_vocab learns from the fitted tokenizer's settings: drop tokenizer.path")
        return self

    @model_validator(mode="after")
    def _recipes_fit_model(self) -> Config:
        for name in self.finetune.recipes:
            reason = get_recipe(name).check(self)
            if reason:
                raise ValueError(f"recipe {name!r} {reason}")
        return self
