"""Models a run keeps for `petra export` (``run.keep_models``): one safetensors file per trained
model in ``store/models/<unit key>/``, holding the encoder and task head and, as metadata, all
that is needed to rebuild it (model config, PE, recipe modules, the target's language id, labels)
and the accuracy it scored on each target.

``best`` keeps, for every (source, target, PE, recipe, k) cell, the seed that scored best (ties:
the lowest seed); the others are deleted as soon as a better seed is stored, so the store never
holds much more than one model per cell. Under test folds the model of the first fold is kept
(its accuracy is the fold-pooled one). The pretrained model of each source is kept as the
``zero_shot`` model of every target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from petra.errors import PetraError
from petra.tasks import get_task
from petra.training.recipes import ZERO_SHOT

MODELS = "models"
SUFFIX = ".safetensors"
KEPT_PREFIXES = ("encoder.", "heads.task.")  # the masked-LM head and a discriminator are training aids


def model_name(recipe: str, source: str, target: str | None = None, shots: int = 0) -> str:
    """File stem of one kept model; a source's pretrained model serves every target's zero-shot."""
    return f"{ZERO_SHOT}--{source}" if recipe == ZERO_SHOT else f"{recipe}--{source}--{target}--k{shots}"


def _write(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"petra": json.dumps(meta)})
    os.replace(tmp, path)


def save_model(model: torch.nn.Module, path: Path, meta: dict[str, Any]) -> None:
    """Encoder and task head of ``model`` with ``meta``."""
    _write(path, {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()
                  if k.startswith(KEPT_PREFIXES)}, meta)


def rescore(path: Path, scores: dict[str, float]) -> None:
    """Replace the scores a kept model is ranked by (test folds: the fold-pooled accuracy)."""
    kept = KeptModel(path, read_meta(path))
    if kept.meta["scores"] != scores:
        _write(path, kept.state(), {**kept.meta, "scores": scores})


def describe(config, data, encoding: str, seed: int, recipe: str, source: str, k: int,
             scores: dict[str, float], grown=None) -> dict[str, Any]:
    """The metadata of a kept model: what rebuilds it (petra.hf.export) and what ranks it among seeds.
    ``config``: the run's :class:`~petra.experiments.transfer_config.Config`; ``data``: its TransferData;
    ``grown``: the tokenizer its fine-tuning grew (``finetune.extend_vocab``), carried with the model."""
    from petra.config import config_to_dict
    from petra.data.tokenize import as_json

    f = config.finetune
    tokenizer = data.tokenizer if grown is None else grown
    return {
        "encoding": encoding, "seed": seed, "source": source, "recipe": recipe, "shots": k,
        "scores": scores, "languages": {t: data.targets[t].lang for t in scores},
        "task": config.task.type, "labels": None if get_task(config.task).sentence_labels else list(data.labels.tags),
        "num_classes": data.num_classes, "vocab_size": len(tokenizer),
        **({"tokenizer": as_json(grown)} if grown is not None else {}),
        "model": config_to_dict(config)["model"], "num_languages": len(data.languages),
        "language_embeddings": config.pretrain.mix.language_embeddings,
        "language_positions": config.pretrain.mix.positions == "per_language",
        "adapter_bottleneck": 0, "adaptive_hidden": 0, "madx_bottleneck": 0, **_rebuilt_with(recipe, f),
    }


def _rebuilt_with(recipe: str, finetune) -> dict[str, Any]:
    """What the recipe added that a rebuilt model needs (zero-shot: nothing)."""
    from petra.training.recipes import get_recipe

    return {} if recipe == ZERO_SHOT else get_recipe(recipe).kept(finetune)


def link_model(existing: Path, path: Path) -> None:
    """The same trained model under a second recipe's name (a recipe that trains what `full` trains
    when the PE has no parameters), as a hard link: no second copy on disk; its name gives its recipe."""
    if existing.is_file() and not path.exists():
        os.link(existing, path)


@dataclass(frozen=True)
class KeptModel:
    path: Path
    meta: dict[str, Any]  # encoding, seed, source, recipe, shots, scores {target: accuracy}, how to rebuild

    def tokenizer(self, results: Path):
        """The tokenizer this model reads: the one its fine-tuning grew, else the run's (``results/tokenizer``)."""
        from petra.data.tokenize import from_json, load_tokenizer

        return from_json(self.meta["tokenizer"]) if "tokenizer" in self.meta else load_tokenizer(Path(results) / "tokenizer")

    def state(self) -> dict[str, torch.Tensor]:
        with safe_open(str(self.path), "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}


def read_meta(path: Path) -> dict[str, Any]:
    with safe_open(str(path), "pt") as f:
        return json.loads(f.metadata()["petra"])


def kept_models(store_root: Path, keys: Iterable[str]) -> list[KeptModel]:
    """Every model kept for the units ``keys`` (one config's units; other configs' are ignored)."""
    found = []
    for key in keys:
        for path in sorted((store_root / MODELS / key).glob(f"*{SUFFIX}")):
            # the file name names the recipe: one may be a link to the full model's file (link_model)
            found.append(KeptModel(path, {**read_meta(path), "recipe": path.name.split("--")[0]}))
    return found


def best_per_cell(models: list[KeptModel]) -> dict[tuple, KeptModel]:
    """(source, target, encoding, recipe, shots) -> the model of the best seed (ties: lowest seed)."""
    best: dict[tuple, KeptModel] = {}
    for model in sorted(models, key=lambda m: m.meta["seed"]):
        m = model.meta
        for target, accuracy in m["scores"].items():
            cell = (m["source"], target, m["encoding"], m["recipe"], m["shots"])
            if cell not in best or accuracy > best[cell].meta["scores"][target]:
                best[cell] = model
    return best


def keep_best(store_root: Path, keys: Iterable[str]) -> None:
    """Delete every kept model that is not the best seed of any cell it serves."""
    models = kept_models(store_root, keys)
    winners = {m.path for m in best_per_cell(models).values()}
    for model in models:
        if model.path not in winners:
            model.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Choice:
    """Which kept model to export; None: the only one there is (source), the largest (k), the best (seed)."""

    target: str
    encoding: str
    recipe: str
    source: str | None = None
    shots: int | None = None
    seed: int | None = None


def _narrow(models: list[KeptModel], field: str, value, what: str) -> list[KeptModel]:
    found = [m for m in models if m.meta[field] == value]
    if not found:
        have = sorted({str(m.meta[field]) for m in models})
        raise PetraError(f"no kept model with {what} {value!r}; kept: {', '.join(have) or 'none'}")
    return found


def choose(models: list[KeptModel], choice: Choice) -> KeptModel:
    """The kept model ``choice`` names, or a PetraError saying what was kept instead."""
    if not models:
        raise PetraError("this run kept no models (run.keep_models: none, or a run from before models were kept)")
    models = [m for m in models if choice.target in m.meta["scores"]]
    if not models:
        raise PetraError(f"no kept model for target {choice.target!r}")
    models = _narrow(models, "encoding", choice.encoding, "encoding")
    models = _narrow(models, "recipe", choice.recipe, "recipe")
    sources = sorted({m.meta["source"] for m in models})
    if choice.source is None and len(sources) > 1:
        raise PetraError(f"the run has several sources: choose one with --source ({', '.join(sources)})")
    models = _narrow(models, "source", choice.source or sources[0], "source")
    models = _narrow(models, "shots", max(m.meta["shots"] for m in models) if choice.shots is None else choice.shots,
                     "k (--shots)")
    if choice.seed is not None:
        return _narrow(models, "seed", choice.seed, "seed (keep_models: best keeps each cell's best seed)")[0]
    return max(sorted(models, key=lambda m: m.meta["seed"]), key=lambda m: m.meta["scores"][choice.target])


def find_kept(results: Path, choice: Choice):
    """(the run's config, the kept model ``choice`` names) of the results folder ``results``."""
    from petra.config import load_config

    if not (results / "config.yaml").is_file():
        raise PetraError(f"{results} is not a petra results folder (no config.yaml)")
    if not (results / "tokenizer").is_dir():
        raise PetraError(f"{results / 'tokenizer'} is missing: the model cannot be used without its tokenizer")
    config = load_config(results / "config.yaml")  # the schema its `experiment` names
    if config.experiment != "transfer":
        raise PetraError(f"{results}: a {config.experiment} run keeps no models (only transfer runs do)")
    keys = [config.unit_key(encoding=e, seed=s) for e in config.encodings for s in config.all_seeds]  # as the run's
    return config, choose(kept_models(results / "store", keys), choice)


def load_model(kept: KeptModel, target: str):
    """The :class:`~petra.models.PetraModel` of ``kept`` (encoder and task head, any per-language
    modules set to ``target``'s language), its weights loaded strictly, in eval mode."""
    from petra.config import ModelConfig
    from petra.models import HeadSpec, build_model
    from petra.models.language import attach_language_modules

    m = kept.meta
    model = build_model(ModelConfig(**m["model"]), m["encoding"], m["vocab_size"], {"task": HeadSpec(m["task"], m["num_classes"])})
    attach_language_modules(model, m["num_languages"], m["languages"][target], m["language_embeddings"],
                            m["adaptive_hidden"], m["adapter_bottleneck"], m.get("madx_bottleneck", 0),
                            m.get("language_positions", False))
    model.load_state_dict(kept.state(), strict=True)
    return model.eval()
