"""Typed, validated configuration: one pydantic model per section, loaded from YAML.

Here: what every experiment shares (:class:`ExperimentConfig` and the model, optimizer and run
sections) and the loader; each experiment's own config extends the base in its module
(:data:`EXPERIMENTS`). Unknown keys and bad values are errors that name the field (``load_config``
turns pydantic's report into one :class:`PetraError` line), so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from petra.encodings import KEEP, TRANSFER_DEFAULT, check_fit
from petra.errors import FieldError, PetraError
from petra.section import Section



def content_key(resolved: dict[str, Any], **identity: Any) -> str:
    """Stable 16-hex key of a resolved config (section) and a unit's identity (encoding, seed, ...)."""
    payload = json.dumps({"config": resolved, **identity}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]

class ModelConfig(Section):
    pretrained: str | None = Field(
        None, description="a local pretrained encoder (save_pretrained folder of BERT, RoBERTa, XLM-R, DistilBERT or "
        "a petra export, or pkg:MODULE/PATH in an installed package): its weights and its own tokenizer; dim, layers, "
        "heads and ffn_dim are read from it, dropout is its own; encodings: keep (its positions) or any PE by surgery")
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

    @model_validator(mode="before")
    @classmethod
    def _pretrained_shape(cls, data: Any) -> Any:
        """A pretrained encoder's shape is its folder's: filled in here, a contradicting value refused."""
        if not isinstance(data, dict) or not data.get("pretrained"):
            return data
        from petra.hf.pretrained import PACKAGE, resolve_folder, shape

        try:
            folder = resolve_folder(data["pretrained"])
            found = shape(folder)
        except PetraError as exc:
            raise FieldError("pretrained", str(exc)) from None
        filled = {"dim": found.dim, "layers": found.layers, "heads": found.heads, "ffn_dim": found.ffn_dim}
        for name, value in filled.items():
            if data.get(name) is not None and data[name] != value:
                raise FieldError(name, f"{name} {data[name]} contradicts the pretrained model's {value} ({folder}): "
                                 "leave it out")
        if data.get("architecture", "transformer") != "transformer":
            raise FieldError("architecture", "a pretrained encoder is a transformer: leave architecture out")
        max_len = data.get("max_len", cls.model_fields["max_len"].default)
        if isinstance(max_len, int) and max_len + found.specials > found.positions:
            raise FieldError("max_len", f"max_len {max_len} + {found.specials} special tokens exceeds the "
                             f"{found.positions} positions of the pretrained model ({folder})")
        # a relative folder is resolved (a run's stored config must not depend on where it was started);
        # pkg: stays as written, so the same config keys the same units on any machine
        where = data["pretrained"] if str(data["pretrained"]).startswith(PACKAGE) else str(folder)
        return {**data, **filled, "pretrained": where}

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> ModelConfig:
        if self.architecture == "transformer" and self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
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


class DeviceSection(Section):
    """The ``run`` fields every experiment shares for where it trains (petra.device)."""

    device: str = Field("auto", description="auto (CUDA when available, else CPU), cpu, cuda or cuda:N")

    @field_validator("device")
    @classmethod
    def _device_exists(cls, value: str) -> str:
        from petra.device import check_device

        return check_device(value)


class RunSection(DeviceSection):
    """Where and how an experiment's units run; every experiment's ``run`` section extends it."""

    workers: int = Field(0, ge=0, description="parallel processes; 0 = one per CPU core")
    threads: int = Field(1, gt=0, description="torch threads per unit; more than one helps only on idle cores")
    output_dir: Path = Path("runs/latest")
    gpus_per_trial: float = Field(1.0, ge=0, description="Ray sweeps on a GPU machine: GPUs each trial asks for "
                                  "(fractions share a GPU)")


class ExperimentConfig(Section):
    """What every experiment shares: its name, the PEs and seeds it compares (one unit per pair, or
    per task x pair), the model they go into, and where the units run (``petra.experiments.executors``).
    ``experiment`` names the kind, so ``petra sweep`` knows which schema a YAML file is."""

    experiment: str
    name: str = "experiment"
    encodings: list[str] = Field(default_factory=lambda: list(TRANSFER_DEFAULT), min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    model: ModelConfig = ModelConfig()
    run: RunSection = RunSection()

    # Fields that name or schedule units without changing what a unit computes: left out of its store key.
    SCHEDULING: ClassVar[tuple[str, ...]] = ("experiment", "name", "encodings", "seeds", "run")
    # (section, field) added after stores existed: left out of the key while at their default, so those stores resume.
    LATER_FIELDS: ClassVar[tuple[tuple[str, str], ...]] = ()

    def unit_key(self, **identity: Any) -> str:
        """The store key of one unit (``identity``: its encoding, seed, ...): a hash of the resolved config
        without the scheduling fields, so a rerun, a resumed run or a wider grid finds the units it already has."""
        resolved = {k: v for k, v in self.model_dump(mode="json").items() if k not in self.SCHEDULING}
        for section, name in self.LATER_FIELDS:  # at their default they compute what the key always meant
            fields = resolved.get(section, {})
            if name in fields and fields[name] == type(getattr(self, section)).model_fields[name].default:
                del fields[name]
        return content_key(resolved, **identity)

    PRETRAINED_MODELS: ClassVar[bool] = False  # whether model.pretrained (a Hugging Face encoder) runs here

    @model_validator(mode="before")
    @classmethod
    def _pretrained_runs_here(cls, data: Any) -> Any:
        model = data.get("model") if isinstance(data, dict) else None
        pretrained = model.get("pretrained") if isinstance(model, dict) else getattr(model, "pretrained", None)
        if pretrained and not cls.PRETRAINED_MODELS:
            raise FieldError("model.pretrained", f"the {cls.model_fields['experiment'].default} experiment trains "
                             "petra's own models; pretrained encoders run in the transfer experiment")
        return data

    @model_validator(mode="after")
    def _encodings_fit_model(self) -> ExperimentConfig:
        if self.model.pretrained is None and KEEP in self.encodings:
            raise FieldError("encodings", f"{KEEP!r} is a pretrained model's own positions: set model.pretrained")
        check_fit(self.encodings, self.model)
        unknown = sorted(set(self.model.encoding_options) - set(self.encodings))
        if unknown:
            raise ValueError(f"model.encoding_options names encodings not in 'encodings': {unknown}")
        return self


def _format_validation_error(exc: ValidationError, source: str) -> str:
    from petra.data.sources import field_path

    # the deepest error is the one about what the user wrote: a value that may be one language or a
    # list of them gets one error per union member, and the shallow one only says "not this shape"
    first = max(exc.errors(), key=lambda e: len(e["loc"]))
    cause = first.get("ctx", {}).get("error")
    # a FieldError names its field relative to the section that raised it (top level: the whole path)
    field = ".".join([*field_path(first["loc"]), *([cause.field] if hasattr(cause, "field") else [])]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}: invalid config field '{field}': {message}{more}"


# Every experiment's schema, by the name its config's `experiment` field holds.
EXPERIMENTS = {
    "transfer": "petra.experiments.transfer_config:Config",
    "lengthgen": "petra.experiments.lengthgen:LengthgenConfig",
    "bound": "petra.experiments.bound:BoundConfig",
    "align": "petra.experiments.align:AlignConfig",
}
# Top-level fields only one experiment has: files that do not say `experiment:` are read by them.
MARKERS = {"gap": "bound", "tasks": "lengthgen", "train_max_length": "lengthgen", "test_max_length": "lengthgen",
           "align": "align"}


def named_experiment(data: dict[str, Any]) -> str | None:
    """The experiment ``data`` says it is: its ``experiment`` field, else the one whose own fields it uses."""
    return data.get("experiment") or next((MARKERS[key] for key in data if key in MARKERS), None)


def experiment_schema(kind: str, source: str = "<config>") -> type[ExperimentConfig]:
    import importlib

    if kind not in EXPERIMENTS:
        raise PetraError(f"{source}: invalid config field 'experiment': unknown experiment {kind!r}; "
                         f"one of {', '.join(EXPERIMENTS)}")
    module, name = EXPERIMENTS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def parse_config(data: dict[str, Any], source: str = "<config>", schema: type[Any] | None = None) -> Any:
    """Validate ``data`` as ``schema``; by default as the experiment ``data`` names (transfer when it
    names none). A file that names another experiment than ``schema``'s is refused with the command to use."""
    named = named_experiment(data)
    if schema is None:
        schema = experiment_schema(named or "transfer", source)
    elif named is not None and named != schema.model_fields["experiment"].default:
        experiment_schema(named, source)  # an unknown name gets its own error
        raise PetraError(f"{source} is a {named} config: run it with `petra {'run' if named == 'transfer' else named}` "
                         "or `petra sweep`")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise PetraError(_format_validation_error(exc, source)) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, schema: type[Any] | None = None) -> Any:
    """Read a YAML config as ``schema`` (default: the experiment it names); ``overrides`` are merged on
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
    return parse_config(merge_overrides(data, overrides), str(path), schema)


def merge_overrides(data: dict[str, Any], *overrides: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with each of ``overrides`` merged on top in turn: top-level sections, shallow per
    section (``{"run": {"device": "cpu"}}`` changes that field and keeps the section's others). The
    one place overrides meet a config (files, the CLI's options, ``petra.run(**overrides)``)."""
    merged = dict(data)
    for layer in overrides:
        for key, value in (layer or {}).items():
            both = isinstance(value, dict) and isinstance(merged.get(key), dict)
            merged[key] = {**merged[key], **value} if both else value
    return merged


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """Plain, YAML-serialisable form of a resolved config (saved with every run)."""
    return config.model_dump(mode="json")
