"""`petra export`: a model a run kept (petra.results.kept_models) as a Hugging Face folder -
``PetraForTokenClassification`` or ``PetraForSequenceClassification`` with the run's tokenizer and
label names - that ``pipeline("token-classification", model=DIR)`` (or ``"text-classification"``)
and the Auto classes load after ``import petra.hf``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from petra.config import ModelConfig, load_config
from petra.errors import PetraError
from petra.experiments.records import ZERO_SHOT
from petra.results.kept_models import KeptModel, kept_models

EXPORT_FILE = "petra_export.json"  # which cell and seed the folder holds, and what it scored


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


def build_hf_model(kept: KeptModel, target: str):
    """The transformers model of ``kept``, its weights loaded strictly (a missing or extra tensor is an error)."""
    from petra.hf.configuration import PetraConfig
    from petra.hf.modeling import PetraForSequenceClassification, PetraForTokenClassification

    m = kept.meta
    names = m["labels"] or [f"class_{i}" for i in range(m["num_classes"])]
    config = PetraConfig.from_model_config(
        ModelConfig(**m["model"]), m["encoding"], m["vocab_size"], num_labels=len(names),
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
        language=m["languages"][target], num_languages=m["num_languages"],
        language_embeddings=m["language_embeddings"], adapter_bottleneck=m["adapter_bottleneck"],
        adaptive_pe_hidden=m["adaptive_hidden"],
    )
    model = (PetraForTokenClassification if m["task"] == "token" else PetraForSequenceClassification)(config)
    state = {k.replace("heads.task.", "classifier.", 1): v for k, v in kept.state().items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def export(results: Path, choice: Choice, out: Path) -> dict:
    """Write the chosen model of the results folder ``results`` to ``out``; returns what was exported."""
    from petra.data.tokenize import load_tokenizer, to_transformers
    from petra.experiments.transfer import unit_keys

    results = Path(results)
    if not (results / "config.yaml").is_file():
        raise PetraError(f"{results} is not a petra results folder (no config.yaml)")
    config = load_config(results / "config.yaml")
    kept = choose(kept_models(results / "store", unit_keys(config).values()), choice)
    if not (results / "tokenizer").is_dir():
        raise PetraError(f"{results / 'tokenizer'} is missing: the model cannot be used without its tokenizer")
    model = build_hf_model(kept, choice.target)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    to_transformers(load_tokenizer(results / "tokenizer"), config.model.max_len).save_pretrained(out)
    m = kept.meta
    summary = {"results": str(results.resolve()), "target": choice.target, "source": m["source"],
               "encoding": m["encoding"], "recipe": m["recipe"], "shots": m["shots"], "seed": m["seed"],
               "accuracy": m["scores"][choice.target], "task": m["task"],
               "pipeline": "token-classification" if m["task"] == "token" else "text-classification"}
    if m["recipe"] == ZERO_SHOT:
        summary["note"] = f"the model pretrained on {m['source']}, not fine-tuned on {choice.target}"
    (out / EXPORT_FILE).write_text(json.dumps(summary, indent=2))
    return summary
