"""PE surgery on pretrained BERT-family models: swap the absolute position embeddings for any petra
PE, keeping every other pretrained weight.

* additive PEs (sinusoidal, learned, random_gaussian, random_ordered/sinusoidal) replace the
  position table's rows. ``learned`` starts from the pretrained rows (so the model is unchanged
  until fine-tuning moves them); parameter-free ones are scaled to the table's RMS (``scale=
  "match"``), so LayerNorm after the embedding sum sees content and position in the old proportion.
* bias (alibi, t5_bias) and rotary (rope, random_ordered/rope|alibi) PEs remove the absolute table
  and act inside every self-attention layer through the ``"petra"`` attention function
  (:mod:`petra.hf.positions`); the layers' query/key/value weights are the pretrained ones.
* ``none`` removes position information altogether.

What was done is recorded in ``config.petra_pe`` and the model is saved as ``petra_<base>``
(:mod:`petra.hf.auto`); :func:`load_model` re-applies it, so a surgered model round-trips through
``save_pretrained``/``load_model`` and, after ``import petra.hf``, through ``AutoModel*.from_pretrained``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel
from transformers.utils import logging as hf_logging

from petra.encodings import PositionalEncoding, build_encoding
from petra.errors import PetraError
from petra.hf.auto import TASKS, base_type, mark_surgered, register, unmark
from petra.hf.positions import ATTENTION_NAME, LINK_ATTRIBUTE, PetraPositions, PositionLink

log = logging.getLogger(__name__)

Task = Literal["base", "mlm", "token", "sequence"]
AUTO_CLASSES = TASKS  # task -> the Auto class that builds its head


@dataclass(frozen=True)
class Architecture:
    """Where a BERT-family model keeps its position table, self-attention layers, Transformer blocks,
    masked-LM head and the Linear layers LoRA adapts."""

    attention_class: str  # class name of the self-attention modules (cross-attention is left alone)
    position_offset: Callable[[PretrainedConfig], int]  # table row of position 0
    blocks: str  # the base model's list of Transformer blocks
    masked_lm_head: Callable[[PreTrainedModel], nn.Module]  # of the *ForMaskedLM model: hidden -> vocabulary logits
    linear_layers: str  # regex of the blocks' attention and feed-forward Linear layers (peft target_modules)


def _roberta_offset(config: PretrainedConfig) -> int:
    # RoBERTa/XLM-R number positions from padding_idx + 1 (fairseq heritage): rows 0..pad are unused.
    return int(config.pad_token_id) + 1


def _distilbert_head(model: PreTrainedModel) -> nn.Module:
    # DistilBertForMaskedLM applies these four in its forward rather than through one head module
    return nn.Sequential(model.vocab_transform, model.activation, model.vocab_layer_norm, model.vocab_projector)


_BERT_LINEAR = r".*layer\.\d+\.(attention\.(self\.(query|key|value)|output\.dense)|intermediate\.dense|output\.dense)"
ARCHITECTURES: dict[str, Architecture] = {
    "bert": Architecture("BertSelfAttention", lambda c: 0, "encoder.layer", lambda m: m.cls, _BERT_LINEAR),
    "roberta": Architecture("RobertaSelfAttention", _roberta_offset, "encoder.layer", lambda m: m.lm_head, _BERT_LINEAR),
    "xlm-roberta": Architecture("XLMRobertaSelfAttention", _roberta_offset, "encoder.layer", lambda m: m.lm_head,
                                _BERT_LINEAR),
    "distilbert": Architecture("DistilBertSelfAttention", lambda c: 0, "transformer.layer", _distilbert_head,
                               r".*layer\.\d+\.(attention\.(q_lin|k_lin|v_lin|out_lin)|ffn\.(lin1|lin2))"),
}


@dataclass(frozen=True)
class PESurgery:
    """What surgery did, as stored in ``config.petra_pe``."""

    name: str
    options: dict[str, Any]
    max_len: int
    scale: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options, "max_len": self.max_len, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PESurgery:
        return cls(data["name"], dict(data.get("options") or {}), int(data["max_len"]), float(data["scale"]))


def max_positions(config: PretrainedConfig) -> int | None:
    """Longest input (in tokens) the model's position table takes: RoBERTa-style tables lose their offset rows."""
    size = getattr(config, "max_position_embeddings", None)
    if size is None:
        return None
    arch = ARCHITECTURES.get(base_type(config.model_type))
    return int(size) - (arch.position_offset(config) if arch else 0)


def _architecture(model: nn.Module) -> Architecture:
    if not isinstance(model, PreTrainedModel):
        raise PetraError(f"PE surgery needs a transformers PreTrainedModel, got {type(model).__name__}")
    model_type = base_type(model.config.model_type)  # a surgered model keeps its architecture
    if model_type == "petra":
        raise PetraError("this is a petra model: choose its PE with PetraConfig(encoding=...) instead of surgery")
    if model_type not in ARCHITECTURES:
        raise PetraError(
            f"PE surgery does not support model_type {model_type!r} ({type(model).__name__}); "
            f"supported: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[model_type]


def _embeddings(model: PreTrainedModel) -> nn.Module:
    embeddings = getattr(model.base_model, "embeddings", None)
    if embeddings is None or not hasattr(embeddings, "position_embeddings"):
        raise PetraError(f"{type(model).__name__} has no embeddings.position_embeddings to replace")
    return embeddings


def _attention_layers(model: PreTrainedModel, arch: Architecture) -> list[nn.Module]:
    layers = [m for m in model.modules() if type(m).__name__ == arch.attention_class]
    if not layers:
        raise PetraError(f"no {arch.attention_class} layers found in {type(model).__name__}")
    source = sys.modules[type(layers[0]).__module__]
    if not hasattr(source, "ALL_ATTENTION_FUNCTIONS"):
        # transformers releases before the AttentionInterface refactor hard-code attention per class.
        raise PetraError(
            f"{arch.attention_class} in this transformers release does not dispatch through the "
            "AttentionInterface; bias/rotary surgery needs a newer transformers (additive PEs still work)"
        )
    return layers


def replace_position_encoding(
    model: PreTrainedModel,
    name: str,
    options: dict[str, Any] | None = None,
    max_len: int | None = None,
    scale: float | Literal["match"] = "match",
    init_from_pretrained: bool = True,
) -> PreTrainedModel:
    """Put PE ``name`` (any of ``petra encodings``) into ``model`` in place and return it.

    ``max_len``: positions the PE covers (default: those of the pretrained table). ``scale``:
    factor on additive vectors, ``"match"`` = RMS of the pretrained table / RMS of the new vectors
    (1.0 for a PE with a trainable table, such as ``learned``: it copies the pretrained rows when
    ``init_from_pretrained``).
    """
    arch = _architecture(model)
    if getattr(model.config, "petra_pe", None):
        raise PetraError(
            f"model already carries petra PE {model.config.petra_pe['name']!r}; start again from the original model"
        )
    embeddings = _embeddings(model)
    old = embeddings.position_embeddings
    offset = arch.position_offset(model.config)
    max_len = max_len or old.num_embeddings - offset
    encoding = build_encoding(name, model.config.hidden_size, model.config.num_attention_heads, max_len, options)
    pretrained_rows = old.weight.detach()[offset : offset + max_len]
    table = encoding.position_table()  # a PE with a trainable table starts from the pretrained rows
    if table is not None and init_from_pretrained:
        if pretrained_rows.shape[0] < table.shape[0]:
            raise PetraError(f"{name} PE with max_len={max_len} exceeds the pretrained table "
                             f"({pretrained_rows.shape[0]} rows)")
        with torch.no_grad():
            table.copy_(pretrained_rows)
    factor = _scale(encoding, pretrained_rows, scale)
    layers = _attention_layers(model, arch) if encoding.kind in ("bias", "rotary") else []
    positions = PetraPositions(encoding.to(old.weight.device, old.weight.dtype), factor)
    positions.train(old.training)  # a new module starts in training mode; follow the model's
    embeddings.position_embeddings = positions
    for layer in layers:
        setattr(layer, LINK_ATTRIBUTE, PositionLink(positions))
    if layers:
        _use_petra_attention(model)
    model.config.petra_pe = PESurgery(name, dict(options or {}), max_len, factor).to_dict()
    mark_surgered(model.config)  # saved as petra_<base>: plain transformers refuses it instead of re-initialising
    return model


def _scale(encoding: PositionalEncoding, pretrained_rows: torch.Tensor, scale: float | str) -> float:
    if encoding.kind != "additive" or encoding.position_table() is not None:
        return 1.0 if scale == "match" else float(scale)
    if scale != "match":
        return float(scale)
    with torch.no_grad():
        vectors = encoding(encoding.positions(1, pretrained_rows.shape[0], pretrained_rows.device))
    return float(pretrained_rows.float().pow(2).mean().sqrt() / vectors.float().pow(2).mean().sqrt().clamp_min(1e-12))


def _use_petra_attention(model: PreTrainedModel) -> None:
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(ATTENTION_NAME)
    else:
        model.config._attn_implementation = ATTENTION_NAME
    for module in model.modules():  # sub-models keep their own config object in some releases
        config = getattr(module, "config", None)
        if isinstance(config, PretrainedConfig) and config._attn_implementation != ATTENTION_NAME:
            config._attn_implementation = ATTENTION_NAME


def position_parameter_names(model: PreTrainedModel) -> set[str]:
    """State-dict keys that belong to the position encoding (old table or petra PE)."""
    _architecture(model)
    prefix = next(n for n, m in model.named_modules() if m is _embeddings(model).position_embeddings)
    return {k for k in model.state_dict() if k.startswith(prefix + ".")}


def load_model(path: str | Path, task: Task = "base", config: PretrainedConfig | None = None,
               **kwargs: Any) -> PreTrainedModel:
    """``from_pretrained`` for the head ``task`` from a local folder (never the hub), re-applying any
    PE surgery recorded in its config and loading the PE's saved weights. ``kwargs`` go to the config
    (e.g. ``num_labels``, ``id2label``); ``config``: one already read (the Auto classes pass theirs)."""
    path = Path(path)
    if task not in AUTO_CLASSES:
        raise PetraError(f"unknown task {task!r}; choose one of {', '.join(AUTO_CLASSES)}")
    if not (path / "config.json").is_file():
        raise PetraError(f"no Hugging Face model folder at {path} (config.json missing)")
    if config is None:
        config = AutoConfig.from_pretrained(path, local_files_only=True, **kwargs)
    unmark(config)  # build the base architecture; the surgery below makes it a surgered one again
    spec = getattr(config, "petra_pe", None)
    if spec:
        del config.petra_pe  # re-recorded by the surgery below
    model, info = _from_pretrained(AUTO_CLASSES[task], path, config)
    if spec:
        surgery = PESurgery.from_dict(spec)
        replace_position_encoding(model, surgery.name, surgery.options, surgery.max_len, surgery.scale,
                                  init_from_pretrained=False)
        _load_position_state(model, path)
    fresh = sorted(k for k in info.get("missing_keys", ()) if not (spec and ".position_embeddings." in k))
    if fresh:
        log.warning("%s: newly initialised (not in the checkpoint): %s", path, ", ".join(fresh))
    return model


@contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers prints a load report listing every key it did not match (after surgery the swapped
    table is expected there; callers log the keys that matter) and a progress bar per load (noise
    beside petra's own progress): both off inside."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _from_pretrained(auto: Any, path: Path, config: PretrainedConfig) -> tuple[PreTrainedModel, dict]:
    with quiet_loading():
        return auto.from_pretrained(path, config=config, local_files_only=True, output_loading_info=True)


def _load_position_state(model: PreTrainedModel, path: Path) -> None:
    keys = position_parameter_names(model)
    if not keys:
        return  # a parameter-free PE (sinusoidal, rope, alibi, none): nothing was saved
    base = model.base_model_prefix + "."
    wanted = {k: k for k in keys} | {k.removeprefix(base): k for k in keys if k.startswith(base)}
    found = {wanted[k]: v for k, v in _read_checkpoint(path, set(wanted)).items()}
    missing = sorted(keys - set(found))
    if missing:
        raise PetraError(f"{path}: checkpoint lacks the PE weights {missing}")
    model.load_state_dict(found, strict=False)


def _read_checkpoint(path: Path, keys: set[str]) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    index = path / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    elif (path / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise PetraError(f"{path}: no model.safetensors (save with save_pretrained, safe_serialization on)")
    tensors = {}
    for file in files:
        with safe_open(str(path / file), framework="pt") as handle:
            tensors |= {k: handle.get_tensor(k) for k in handle.keys() if k in keys}
    return tensors


register(list(ARCHITECTURES), load_model)  # AutoModel*.from_pretrained(a surgered folder) goes through load_model
