"""`petra export`: a model a run kept (petra.results.kept_models) as a Hugging Face folder -
``PetraForTokenClassification`` or ``PetraForSequenceClassification`` with the run's tokenizer and
label names - that ``pipeline("token-classification", model=DIR)`` (or ``"text-classification"``)
and the Auto classes load after ``import petra.models.hf_model``."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from petra.config import ModelConfig
from petra.data.tokenize import AnyTokenizer, WordTokenizer
from petra.data.vocab import SPECIALS, UNK
from petra.encodings import KEEP
from petra.errors import PetraError
from petra.tasks import task_class
from petra.training.recipes import ZERO_SHOT
from petra.results.kept_models import Choice, KeptModel, find_kept

EXPORT_FILE = "petra_export.json"  # which cell and seed the folder holds, and what it scored


def build_hf_model(kept: KeptModel, target: str):
    """The transformers model of ``kept``, its weights loaded strictly (a missing or extra tensor is an error)."""
    from petra.hf.configuration import PetraConfig
    from petra.models.hf_model import PetraForSequenceClassification, PetraForTokenClassification

    m = kept.meta
    names = m["labels"] or [f"class_{i}" for i in range(m["num_classes"])]
    if m["model"].get("pretrained") and not _from_petra(m["model"]["pretrained"]):
        return _pretrained_hf_model(kept, names)
    if m["encoding"] == KEEP:  # a petra export's own PE: its name and options live in that folder, not here
        raise PetraError("exporting a model fine-tuned from a petra export with `keep` is not supported yet: "
                         "name that model's PE in encodings instead of keep")
    config = PetraConfig.from_model_config(
        ModelConfig(**m["model"]), m["encoding"], m["vocab_size"], num_labels=len(names),
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
        language=m["languages"][target], num_languages=m["num_languages"],
        language_embeddings=m["language_embeddings"], adapter_bottleneck=m["adapter_bottleneck"],
        adaptive_pe_hidden=m["adaptive_hidden"], madx_bottleneck=m.get("madx_bottleneck", 0),
        language_positions=m.get("language_positions", False),
    )
    model = (PetraForTokenClassification if _hf_head(m) == "token" else PetraForSequenceClassification)(config)
    state = {k.replace("heads.task.", "classifier.", 1): v for k, v in kept.state().items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def _hf_head(meta: dict) -> str | None:
    """What transformers head a kept model's task exports to (petra.tasks.Task.hf_head)."""
    return task_class(meta["task"]).hf_head


def _from_petra(pretrained: str) -> bool:
    """Whether a run's pretrained encoder was itself a petra model (exported as petra models are)."""
    from petra.hf.pretrained import is_petra, read_config, resolve_folder

    return is_petra(read_config(resolve_folder(pretrained)))


def _pretrained_hf_model(kept: KeptModel, names: list[str]):
    """A fine-tuned pretrained encoder as its own architecture's ``*ForTokenClassification`` (saved as
    ``petra_<base>`` with its PE): encoder weights under the architecture's prefix, the task head as its
    classifier. Modules a recipe or the language options added have no place there: refused by name."""
    from petra.hf.pretrained import SPECIALS_AROUND, resolve_folder, token_classifier

    m = kept.meta
    if _hf_head(m) != "token":
        raise PetraError(f"a pretrained encoder's {m['task']} head has no transformers counterpart to export to")
    config = ModelConfig(**m["model"])
    model = token_classifier(resolve_folder(config.pretrained), m["encoding"], config.max_len + SPECIALS_AROUND,
                             config.encoding_options.get(m["encoding"]), names)
    prefix = model.base_model_prefix + "."
    state = {(prefix + k.removeprefix("encoder.hf.")) if k.startswith("encoder.hf.") else
             k.replace("heads.task.proj.", "classifier.", 1): v for k, v in kept.state().items()}
    extra = sorted(set(state) - set(model.state_dict()))
    if extra:
        raise PetraError(f"recipe {m['recipe']!r} added modules a {model.config.model_type} model has no place for "
                         f"({extra[0]}, ...): export full, frozen_pe, lora or zero_shot models of a pretrained encoder")
    model.load_state_dict(state, strict=True)
    return model.eval()


def to_transformers(tokenizer: AnyTokenizer, max_len: int):
    """The tokenizer as a ``transformers`` fast tokenizer (what ``pipeline(...)`` and the Auto classes
    load): same ids, words split on whitespace (sub-word tokenizers also split off punctuation), no
    special tokens added around a sentence (petra models are trained without them)."""
    from transformers import PreTrainedTokenizerFast

    if isinstance(tokenizer, WordTokenizer):
        backend = Tokenizer(models.WordLevel(tokenizer.vocab.index, unk_token=UNK))
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    else:
        backend = Tokenizer.from_str(tokenizer.tokenizer.to_str())
        marks = {models.WordPiece: decoders.WordPiece, models.Unigram: decoders.Metaspace}  # BPE here marks nothing
        if backend.decoder is None and type(backend.model) in marks:  # tokenizers saved before decoders were: pipelines print words, not '##' pieces
            backend.decoder = marks[type(backend.model)]()
    pad, unk, mask = SPECIALS
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=pad, unk_token=unk, mask_token=mask,
                                   model_max_length=max_len)



def export(results: Path, choice: Choice, out: Path) -> dict:
    """Write the chosen model of the results folder ``results`` to ``out``; returns what was exported."""
    results = Path(results)
    config, kept = find_kept(results, choice)
    if _hf_head(kept.meta) is None:
        raise PetraError(f"a {kept.meta['task']} model has no transformers pipeline: use `petra predict` "
                         "(CoNLL-U predictions) instead")
    model = build_hf_model(kept, choice.target)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer = kept.tokenizer(results)
    # a pretrained encoder's own tokenizer adds the [CLS] / [SEP] it was trained with; petra's models have none
    hf_tokenizer = tokenizer.tokenizer if config.model.pretrained else to_transformers(tokenizer, config.model.max_len)
    hf_tokenizer.save_pretrained(out)
    m = kept.meta
    summary = {"results": str(results.resolve()), "target": choice.target, "source": m["source"],
               "encoding": m["encoding"], "recipe": m["recipe"], "shots": m["shots"], "seed": m["seed"],
               "accuracy": m["scores"][choice.target], "task": m["task"],
               "pipeline": f"{'token' if _hf_head(m) == 'token' else 'text'}-classification"}
    if m["recipe"] == ZERO_SHOT:
        summary["note"] = f"the model pretrained on {m['source']}, not fine-tuned on {choice.target}"
    (out / EXPORT_FILE).write_text(json.dumps(summary, indent=2))
    return summary
