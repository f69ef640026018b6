"""Typed, validated configuration: one pydantic model per section, loaded from YAML.

Unknown keys and bad values are errors that name the field (``load_config`` turns pydantic's
report into one :class:`PetraError` line), so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from petra.data.synthetic import LanguageSpec
from petra.errors import PetraError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class TaskConfig(Section):
    type: Literal["sequence", "token"] = "sequence"
    labels: Literal["upos", "deprel"] = Field("deprel", description="token task: which word label to predict")


class DataConfig(Section):
    source: LanguageSpec = LanguageSpec(name="svo")
    targets: list[LanguageSpec] = Field(default_factory=lambda: [LanguageSpec(name="sov", word_order="SOV")])
    source_train: int = Field(4000, gt=0, description="source-language training sentences")
    target_train: int = Field(100, gt=0, description="low-resource target training sentences (N)")
    test: int = Field(500, gt=0, description="test sentences per language")
    seed: int = 1234

    @model_validator(mode="after")
    def _distinct_names(self) -> DataConfig:
        names = [self.source.name] + [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"language names must be distinct, got {names}")
        if not self.targets:
            raise ValueError("at least one target language is required")
        return self


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

    languages: list[LanguageSpec] = Field(default_factory=list, description="extra pretraining languages")
    sentences: list[int] = Field(default_factory=list, description="training sentences per extra language")
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
    mix: MixConfig = MixConfig()
    adversary: AdversaryConfig = AdversaryConfig()


Recipe = Literal["full", "frozen_pe", "adaptive_pe", "adapters", "adversarial"]


class FinetuneConfig(OptimConfig):
    recipes: list[Recipe] = Field(default_factory=lambda: ["full", "frozen_pe"], min_length=1)
    epochs: int = Field(30, gt=0)
    adaptive_hidden: int = Field(32, gt=0, description="adaptive_pe: hidden width of f(p; θ_lang)")
    adapter_bottleneck: int = Field(16, gt=0, description="adapters: bottleneck width")
    adversary: AdversaryConfig = AdversaryConfig(weight=0.1)
    curve_points: int = Field(10, ge=0, description="target-accuracy evaluations per fine-tuning (learning curve)")


class RunConfig(Section):
    workers: int = Field(0, ge=0, description="parallel processes; 0 = one per CPU core")
    output_dir: Path = Path("runs/latest")
    checkpoint_every: int = Field(100, ge=0, description="training steps between checkpoints (0 = phase ends only)")


def check_encodings_fit(encodings: list[str], architecture: str) -> None:
    """Every named PE exists, and the LSTM gets only additive ones (it has no attention)."""
    from petra.encodings import get_spec  # local: keeps config importable without torch work

    for name in encodings:
        try:
            kind = get_spec(name).kind
        except PetraError as exc:
            raise ValueError(str(exc)) from None
        if architecture == "lstm" and kind not in ("additive", "none"):
            raise ValueError(f"encoding {name!r} acts on attention ({kind}); the lstm model takes additive encodings only")


class Config(Section):
    name: str = "experiment"
    encodings: list[str] = Field(default_factory=lambda: ["sinusoidal", "learned", "rope", "random_gaussian"], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    model: ModelConfig = ModelConfig()
    task: TaskConfig = TaskConfig()
    data: DataConfig = DataConfig()
    pretrain: PretrainConfig = PretrainConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    run: RunConfig = RunConfig()

    @model_validator(mode="after")
    def _languages_fit_together(self) -> Config:
        names = [self.data.source.name, *(m.name for m in self.pretrain.mix.languages), *(t.name for t in self.data.targets)]
        if len(set(names)) != len(names):
            raise ValueError(f"language names must be distinct across source, pretrain.mix and targets, got {names}")
        longest = max(spec.max_length for spec in [self.data.source, *self.pretrain.mix.languages, *self.data.targets])
        if "learned" in self.encodings and longest > self.model.max_len:
            raise ValueError(f"model.max_len ({self.model.max_len}) is shorter than the longest sentence the languages "
                             f"can produce (max_length {longest}); the learned PE has no vector beyond max_len")
        if self.pretrain.adversary.weight > 0 and not self.pretrain.mix.languages:
            raise ValueError("pretrain.adversary needs two or more pretraining languages (add pretrain.mix.languages)")
        return self

    @model_validator(mode="after")
    def _encodings_fit_model(self) -> Config:
        check_encodings_fit(self.encodings, self.model.architecture)
        if self.model.architecture == "lstm" and "adapters" in self.finetune.recipes:
            raise ValueError("recipe 'adapters' needs the transformer architecture (the lstm has no blocks)")
        if "adaptive_pe" in self.finetune.recipes and "none" in self.encodings:
            raise ValueError("recipe 'adaptive_pe' has nothing to adapt with encoding 'none'")
        unknown = sorted(set(self.model.encoding_options) - set(self.encodings))
        if unknown:
            raise ValueError(f"model.encoding_options names encodings not in 'encodings': {unknown}")
        return self


def _format_validation_error(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
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
