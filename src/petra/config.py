"""Typed, validated configuration: one pydantic model per section, loaded from YAML.

Unknown keys and bad values are errors that name the field (``load_config`` turns pydantic's
report into one :class:`PetraError` line), so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from petra.data.augmenters import AugmentConfig
from petra.data.sources import Language, LanguageSpec
from petra.data.sources.pools import POOLS
from petra.data.tokenize import TokenizerConfig
from petra.errors import PetraError
from petra.section import Section
from petra.tasks import TaskConfig


class ModelConfig(Section):
    architecture: Literal["transformer", "lstm"] = "transformer"
    dim: int = Field(64, gt=0)
    layers: int = Field(2, gt=0)
    heads: int = Field(4, gt=0)
    ffn_dim: int = Field(128, gt=0)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_len: int = Field(64, gt=0, description="longest sequence the model accepts (learned PE size)")
    encoding_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-encoding keyword options, e.g. {random_gaussian: {eval_mode: fixed}}"
    )

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> ModelConfig:
        if self.architecture == "transformer" and self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        return self


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

class OptimConfig(Section):
    epochs: int = Field(10, gt=0)
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16: forward under torch.autocast(bfloat16); weights, grads and AdamW state stay fp32")
    batch_size: int = Field(32, gt=0)
    lr: float = Field(1e-3, gt=0)
    warmup_steps: int = Field(50, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    grad_clip: float = Field(1.0, gt=0)


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


Recipe = Literal["full", "frozen_pe", "adaptive_pe", "adapters", "adversarial"]


class FinetuneConfig(OptimConfig):
    recipes: list[Recipe] = Field(default_factory=lambda: ["full", "frozen_pe"], min_length=1)
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
    adaptive_hidden: int = Field(32, gt=0, description="adaptive_pe: hidden width of f(p; θ_lang)")
    adapter_bottleneck: int = Field(16, gt=0, description="adapters: bottleneck width")
    adversary: AdversaryConfig = AdversaryConfig(weight=0.1)
    curve_points: int = Field(10, ge=0, description="target-accuracy evaluations per fine-tuning (learning curve)")

    @model_validator(mode="after")
    def _shots_distinct(self) -> FinetuneConfig:
        if any(k != "all" and k < 0 for k in self.shots) or len(set(self.shots)) != len(self.shots):
            raise ValueError(f"shots must be distinct and >= 0 (or 'all'), got {self.shots}")
        return self

    @property
    def largest_k(self) -> int:
        """The largest k given as a number (what a pool must hold; 'all' takes what there is)."""
        return max([k for k in self.shots if k != "all"], default=0)


class DeviceSection(Section):
    """The ``run`` fields every experiment shares for where it trains (petra.device)."""

    device: str = Field("auto", description="auto (CUDA when available, else CPU), cpu, cuda or cuda:N")

    @field_validator("device")
    @classmethod
    def _device_exists(cls, value: str) -> str:
        from petra.device import check_device

        return check_device(value)


class RunConfig(DeviceSection):
    workers: int = Field(0, ge=0, description="parallel processes; 0 = one per CPU core")
    output_dir: Path = Path("runs/latest")
    checkpoint_every: int = Field(100, ge=0, description="training steps between checkpoints (0 = phase ends only)")
    threads: int = Field(1, gt=0, description="torch threads per unit; more than one helps only on idle cores")
    gpus_per_trial: float = Field(1.0, ge=0, description="Ray sweeps on a GPU machine: GPUs each trial asks for "
                                  "(fractions share a GPU)")
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(default_factory=list, description="trackers "
                                                                       "each finished unit is logged to")
    keep_models: Literal["none", "best", "all"] = Field("best", description="models kept for `petra export`; best: "
                                                        "the best seed of each (source, target, PE, recipe, k)")

    @field_validator("report_to")
    @classmethod
    def _trackers_distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"report_to lists a tracker twice: {value}")
        return value


class Config(Section):
    name: str = "experiment"
    encodings: list[str] = Field(default_factory=lambda: ["sinusoidal", "learned", "rope", "random_gaussian"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    model: ModelConfig = ModelConfig()
    task: TaskConfig = TaskConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    data: DataConfig = DataConfig()
    pretrain: PretrainConfig = PretrainConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    run: RunConfig = RunConfig()

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
        if "learned" in self.encodings and known and max(known) > self.model.max_len:
            raise ValueError(f"model.max_len ({self.model.max_len}) is shorter than the longest sentence the languages "
                             f"can produce (max_length {max(known)}); the learned PE has no vector beyond max_len")
        unlabelled = [language.name for language in languages if not language.sentence_labels]
        if self.task.type == "sequence" and unlabelled:
            raise ValueError(f"task.type 'sequence' (which noun is the agent) needs a sentence label that only "
                             f"synthetic languages carry; {unlabelled} have none: use task.type 'token'")
        generated = [language.name for language in languages if language.kind == "synthetic"]
        if generated and (self.data.source_train is None or self.data.test is None):
            raise ValueError(f"synthetic languages {generated} need numbers for data.source_train and data.test")
        if self.pretrain.mix.target_text and "mlm" not in self.pretrain.objectives:
            raise ValueError("pretrain.mix.target_text is unlabelled text: it needs the 'mlm' pretraining objective")
        if self.pretrain.adversary.weight > 0 and not self.pretrain.mix.languages:
            raise ValueError("pretrain.adversary needs two or more pretraining languages (add pretrain.mix.languages)")
        return self

    @model_validator(mode="after")
    def _encodings_fit_model(self) -> Config:
        from petra.encodings.registry import check_fit  # local: keeps config importable without torch work

        check_fit(self.encodings, self.model)
        if self.model.architecture == "lstm" and "adapters" in self.finetune.recipes:
            raise ValueError("recipe 'adapters' needs the transformer architecture (the lstm has no blocks)")
        if "adaptive_pe" in self.finetune.recipes and "none" in self.encodings:
            raise ValueError("recipe 'adaptive_pe' has nothing to adapt with encoding 'none'")
        unknown = sorted(set(self.model.encoding_options) - set(self.encodings))
        if unknown:
            raise ValueError(f"model.encoding_options names encodings not in 'encodings': {unknown}")
        return self


def _format_validation_error(exc: ValidationError, source: str) -> str:
    from petra.data.sources import field_path

    # the deepest error is the one about what the user wrote: a value that may be one language or a
    # list of them gets one error per union member, and the shallow one only says "not this shape"
    first = max(exc.errors(), key=lambda e: len(e["loc"]))
    field = ".".join(field_path(first["loc"])) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}: invalid config field '{field}': {message}{more}"


def parse_config(data: dict[str, Any], source: str = "<config>", schema: type[Any] = Config) -> Any:
    """Validate ``data`` as ``schema`` (the transfer ``Config`` unless an experiment passes its own)."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise PetraError(_format_validation_error(exc, source)) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, schema: type[Any] = Config) -> Any:
    """Read a YAML config as ``schema`` (default: the transfer ``Config``); ``overrides`` are merged on
    top (top-level sections, shallow per section)."""
    path = Path(path)
    if not path.is_file():
        raise PetraError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise PetraError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise PetraError(f"{path}: a config must be a mapping of sections, got {type(data).__name__}")
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data, str(path), schema)


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain, YAML-serialisable form of a resolved config (saved with every run)."""
    return config.model_dump(mode="json")
