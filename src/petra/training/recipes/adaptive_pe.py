"""The language-adaptive PE p' = f(p; θ_lang) (petra.models.language.AdaptivePE) added to the
pretrained model and trained on the target: with the model frozen (f, the task head and the
target's embedding rows train), or with everything else, as the seeds describe it."""

from petra.encodings import kind_of
from petra.models.language import make_pe_adaptive
from petra.training.recipes import register
from petra.training.recipes.base import Recipe, every_parameter, task_head


def _transform(model, setup):
    adaptive = make_pe_adaptive(model, setup.num_languages, setup.option("adaptive_hidden", 32))
    pretrained = {id(p) for p in adaptive.base.parameters()}
    return [p for p in adaptive.parameters() if id(p) not in pretrained]


def _frozen(model, setup):
    return {"adaptive PE": _transform(model, setup), "task head": task_head(model)}


def _full(model, setup):
    added = _transform(model, setup)
    ids = {id(p) for p in added}
    return {"adaptive PE": added, "everything else": [p for p in every_parameter(model) if id(p) not in ids]}


def _kept(finetune):
    return {"adaptive_hidden": finetune.adaptive_hidden}


def _needs_a_pe(config):
    silent = [e for e in config.encodings if kind_of(e, config.model) == "none"]
    return f"has nothing to adapt with encoding {silent[0]!r}" if silent else None


register(Recipe("frozen_adaptive_pe", "freeze the model; train a per-language transform of the PE, the task head "
                "(and the target's embedding rows)", _frozen, frozen_encoder=True, kept=_kept, check=_needs_a_pe))
register(Recipe("full_adaptive_pe", "fine-tune every parameter with a per-language transform of the PE added",
                _full, kept=_kept, check=_needs_a_pe))
