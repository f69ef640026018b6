"""Surgered models and the Auto classes: a model whose PE surgery replaced its position table must
never load as the plain architecture with a freshly initialised table (transformers would only
list the table as MISSING and carry on).

Surgery therefore saves the model under its own model type, ``petra_<base>`` (``petra_bert``,
``petra_roberta``, ...): without petra, ``AutoModel*.from_pretrained`` stops with transformers'
"model type `petra_bert` ... does not recognize this architecture". Importing :mod:`petra.hf`
registers those types; their model classes load through :func:`petra.hf.surgery.load_model`, which
builds the base architecture, re-applies the recorded surgery and loads the PE's weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transformers import (
    CONFIG_MAPPING,
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    PretrainedConfig,
)

PREFIX = "petra_"  # model_type of a surgered model: petra_bert, petra_roberta, petra_xlm-roberta, ...
TASKS = {"base": AutoModel, "mlm": AutoModelForMaskedLM, "token": AutoModelForTokenClassification,
         "sequence": AutoModelForSequenceClassification}
# from_pretrained arguments about where and how to load, not about the model's config
LOADER_ARGUMENTS = {"config", "local_files_only", "trust_remote_code", "cache_dir", "revision", "token",
                    "force_download", "proxies", "subfolder", "use_safetensors", "weights_only", "output_loading_info"}

_SURGERED: dict[type, type] = {}  # base config class -> its petra_<base> twin


def base_type(model_type: str) -> str:
    return model_type.removeprefix(PREFIX)


def mark_surgered(config: PretrainedConfig) -> None:
    """Save ``config`` under ``petra_<base>`` from now on (its class becomes the registered twin)."""
    if type(config) in _SURGERED:
        config.__class__ = _SURGERED[type(config)]


def unmark(config: PretrainedConfig) -> None:
    """Back to the base config class, to build the base architecture before re-applying surgery."""
    for base, twin in _SURGERED.items():
        if type(config) is twin:
            config.__class__ = base


def _loader(task: str, base_model: type, load_model: Callable[..., Any]) -> type:
    """A registration target for one task: it loads through ``load_model`` (petra.hf.surgery's)."""

    @classmethod
    def from_pretrained(cls, path, *args: Any, **kwargs: Any):
        settings = {k: v for k, v in kwargs.items() if k not in LOADER_ARGUMENTS}
        config = kwargs.get("config")  # the Auto class read it already, with num_labels & co. applied
        return load_model(path, task, config, **({} if config is not None else settings))

    return type(f"Petra{base_model.__name__}", (base_model,), {"from_pretrained": from_pretrained})


def register(base_types: list[str], load_model: Callable[..., Any]) -> None:
    """Register ``petra_<base>`` with AutoConfig and every task's Auto class, loading through
    ``load_model(path, task, config, **settings)`` (idempotent)."""
    for name in base_types:
        base = CONFIG_MAPPING[name]
        if base in _SURGERED:
            continue
        twin = type(f"PetraSurgered{base.__name__}", (base,), {"model_type": PREFIX + name})
        _SURGERED[base] = twin
        AutoConfig.register(twin.model_type, twin)
        for task, auto in TASKS.items():
            model = _loader(task, auto._model_mapping[base], load_model)
            model.config_class = twin
            auto.register(twin, model)
